package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func micros(t time.Time) int64 { return store.NormTime(t).UnixMicro() }

// PutSession implements [store.Store].
func (s *Store) PutSession(ctx context.Context, kind string, key, value []byte, expires, now time.Time, max int) error {
	const op = "sqlite.PutSession"
	if err := store.CheckSession(op, kind, key, value); err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if max > 0 {
			var there int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE kind = ? AND key = ?`, kind, key).Scan(&there); err != nil {
				return err
			}
			if there == 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND expires_at <= ?`, kind, micros(now)); err != nil {
					return err
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE kind = ?`, kind).Scan(&n); err != nil {
					return err
				}
				if n >= max {
					return store.SessionFull(op)
				}
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (kind, key, value, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
			kind, key, value, micros(expires))
		return err
	})
}

// getSession reads a session live at now through q.
func getSession(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, op, kind string, key []byte, now time.Time) ([]byte, error) {
	var (
		value   []byte
		expires int64
	)
	err := q.QueryRowContext(ctx, `SELECT value, expires_at FROM sessions WHERE kind = ? AND key = ?`, kind, key).Scan(&value, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no such session")
	}
	if err != nil {
		return nil, err
	}
	return value, store.SessionLive(op, time.UnixMicro(expires), now)
}

// GetSession implements [store.Store].
func (s *Store) GetSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "sqlite.GetSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	if err := s.open(op); err != nil {
		return nil, err
	}
	v, err := getSession(ctx, s.r, op, kind, key, now)
	return v, classify(op, err)
}

// TakeSession implements [store.Store].
func (s *Store) TakeSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "sqlite.TakeSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	var out []byte
	var gone error
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		v, err := getSession(ctx, tx, op, kind, key, now)
		if err != nil && !errors.Is(err, roamsign.ErrExpired) {
			return err
		}
		out, gone = v, err
		_, derr := tx.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND key = ?`, kind, key)
		return derr
	})
	if err != nil {
		return nil, err
	}
	if gone != nil {
		return nil, gone
	}
	return out, nil
}

// UpdateSession implements [store.Store].
func (s *Store) UpdateSession(ctx context.Context, kind string, key []byte, now time.Time, fn func([]byte) ([]byte, error)) error {
	const op = "sqlite.UpdateSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		v, err := getSession(ctx, tx, op, kind, key, now)
		if err != nil {
			return err
		}
		next, err := fn(v)
		if err != nil {
			return err
		}
		if next == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND key = ?`, kind, key)
			return err
		}
		if err := store.CheckSession(op, kind, key, next); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET value = ? WHERE kind = ? AND key = ?`, next, kind, key)
		return err
	})
}

// DeleteSession implements [store.Store].
func (s *Store) DeleteSession(ctx context.Context, kind string, key []byte) error {
	const op = "sqlite.DeleteSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE kind = ? AND key = ?`, kind, key)
		return err
	})
}

// PurgeSessions implements [store.Store].
func (s *Store) PurgeSessions(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "sqlite.PurgeSessions"
	var n int64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(expiredBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// PutSession implements [store.Store].
func (s *Store) PutSession(ctx context.Context, kind string, key, value []byte, expires, now time.Time, max int) error {
	const op = "postgres.PutSession"
	if err := store.CheckSession(op, kind, key, value); err != nil {
		return err
	}
	if max <= 0 {
		return s.one(ctx, op, func(db dbtx) error { return putSession(ctx, db, kind, key, value, expires) })
	}
	return s.tx(ctx, op, func(tx pgx.Tx) error {
		// One writer per kind at a time, so that the count holds across
		// replicas.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('roamsign.sessions.' || $1))`, kind); err != nil {
			return err
		}
		var there bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE kind = $1 AND key = $2)`, kind, key).Scan(&there); err != nil {
			return err
		}
		if !there {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND expires_at <= $2`, kind, store.NormTime(now)); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE kind = $1`, kind).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return store.SessionFull(op)
			}
		}
		return putSession(ctx, tx, kind, key, value, expires)
	})
}

func putSession(ctx context.Context, db dbtx, kind string, key, value []byte, expires time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO sessions (kind, key, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		kind, key, value, store.NormTime(expires))
	return err
}

// getSession reads a session live at now through db; lock adds FOR UPDATE.
func getSession(ctx context.Context, db dbtx, op, kind string, key []byte, now time.Time, lock bool) ([]byte, error) {
	var (
		value   []byte
		expires time.Time
	)
	q := `SELECT value, expires_at FROM sessions WHERE kind = $1 AND key = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	err := db.QueryRow(ctx, q, kind, key).Scan(&value, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no such session")
	}
	if err != nil {
		return nil, err
	}
	return value, store.SessionLive(op, expires, now)
}

// GetSession implements [store.Store].
func (s *Store) GetSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "postgres.GetSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	var out []byte
	err := s.one(ctx, op, func(db dbtx) error {
		v, err := getSession(ctx, db, op, kind, key, now, false)
		out = v
		return err
	})
	return out, err
}

// TakeSession implements [store.Store].
func (s *Store) TakeSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "postgres.TakeSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	var (
		value   []byte
		expires time.Time
	)
	err := s.one(ctx, op, func(db dbtx) error {
		err := db.QueryRow(ctx, `DELETE FROM sessions WHERE kind = $1 AND key = $2 RETURNING value, expires_at`, kind, key).Scan(&value, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return roamsign.E(roamsign.ErrNotFound, op, "no such session")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := store.SessionLive(op, expires, now); err != nil {
		return nil, err
	}
	return value, nil
}

// UpdateSession implements [store.Store].
func (s *Store) UpdateSession(ctx context.Context, kind string, key []byte, now time.Time, fn func([]byte) ([]byte, error)) error {
	const op = "postgres.UpdateSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	return s.tx(ctx, op, func(tx pgx.Tx) error {
		v, err := getSession(ctx, tx, op, kind, key, now, true)
		if err != nil {
			return err
		}
		next, err := fn(v)
		if err != nil {
			return err
		}
		if next == nil {
			_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND key = $2`, kind, key)
			return err
		}
		if err := store.CheckSession(op, kind, key, next); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET value = $1 WHERE kind = $2 AND key = $3`, next, kind, key)
		return err
	})
}

// DeleteSession implements [store.Store].
func (s *Store) DeleteSession(ctx context.Context, kind string, key []byte) error {
	const op = "postgres.DeleteSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	return s.one(ctx, op, func(db dbtx) error {
		_, err := db.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND key = $2`, kind, key)
		return err
	})
}

// PurgeSessions implements [store.Store].
func (s *Store) PurgeSessions(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "postgres.PurgeSessions"
	var n int64
	err := s.one(ctx, op, func(db dbtx) error {
		tag, err := db.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, store.NormTime(expiredBefore))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

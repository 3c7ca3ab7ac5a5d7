package sqlite

import (
	"context"
	"database/sql"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
)

var _ store.RowSealing = (*Store)(nil)

// SetSealer implements [store.RowSealing].
func (s *Store) SetSealer(k *store.Sealer) { s.seal.Store(k) }

// sealer returns the store's sealer; nil when it seals nothing.
func (s *Store) sealer() *store.Sealer { return s.seal.Load() }

// report raises the alarm for a row that failed its integrity check
// ([store.Sealer.Report]) and returns err. It runs after the write
// transaction that found the row has ended.
func (s *Store) report(ctx context.Context, err error) error {
	return s.sealer().Report(ctx, s, err)
}

// sealBatch bounds the rows one transaction of SealUnsealed seals.
const sealBatch = 500

// SealUnsealed implements [store.RowSealing], a batch of rows per write
// transaction.
func (s *Store) SealUnsealed(ctx context.Context) (store.SealCount, error) {
	const op = "sqlite.SealUnsealed"
	var n store.SealCount
	k := s.sealer()
	if k == nil {
		return n, roamsign.E(roamsign.ErrInvalidInput, op, "the store has no row key to seal with")
	}
	tables := []struct {
		count *int
		batch func(tx *sql.Tx) (int, error)
	}{
		{&n.Users, func(tx *sql.Tx) (int, error) {
			return sealRows(ctx, tx, "users", sqlcodec.UserCols, func(r sqlcodec.Scanner) (string, store.RowSeal, error) {
				var rs store.RowSeal
				u, err := scanUser(r, &rs)
				if err != nil {
					return "", rs, err
				}
				rs, err = k.SealUser(ctx, u, rs.Epoch)
				return string(u.ID), rs, err
			})
		}},
		{&n.Challenges, func(tx *sql.Tx) (int, error) {
			return sealRows(ctx, tx, "challenges", sqlcodec.ChallengeCols, func(r sqlcodec.Scanner) (string, store.RowSeal, error) {
				var rs store.RowSeal
				c, err := scanChallenge(r, &rs)
				if err != nil {
					return "", rs, err
				}
				rs, err = k.SealChallenge(ctx, c, rs.Epoch)
				return c.ID, rs, err
			})
		}},
		{&n.Transactions, func(tx *sql.Tx) (int, error) {
			return sealRows(ctx, tx, "transactions", sqlcodec.TxCols, func(r sqlcodec.Scanner) (string, store.RowSeal, error) {
				var rs store.RowSeal
				t, err := scanTx(r, &rs)
				if err != nil {
					return "", rs, err
				}
				rs, err = k.SealTransaction(ctx, t, rs.Epoch)
				return t.ID, rs, err
			})
		}},
	}
	for _, t := range tables {
		for {
			var done int
			err := s.writeTx(ctx, op, func(tx *sql.Tx) (err error) {
				done, err = t.batch(tx)
				return err
			})
			if err != nil {
				return n, err
			}
			*t.count += done
			if done < sealBatch {
				break
			}
		}
	}
	return n, s.AppendAudit(ctx, store.SealedAudit(n))
}

// sealRows seals up to sealBatch rows of table that have no seal; seal
// scans one row and returns its id and new seal.
func sealRows(ctx context.Context, tx *sql.Tx, table, cols string, seal func(sqlcodec.Scanner) (string, store.RowSeal, error)) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE seal IS NULL LIMIT ?`, sealBatch)
	if err != nil {
		return 0, err
	}
	type sealed struct {
		id string
		rs store.RowSeal
	}
	var out []sealed
	for rows.Next() {
		id, rs, err := seal(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		out = append(out, sealed{id, rs})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, r := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET seal = ? WHERE id = ?`, r.rs.MAC, r.id); err != nil {
			return 0, err
		}
	}
	return len(out), nil
}

// LastUserEvent implements [store.UserEvents] with the index on the audit
// log's user and sequence.
func (s *Store) LastUserEvent(ctx context.Context, user roamsign.UserID, events ...roamsign.AuditEvent) (*roamsign.AuditRecord, error) {
	const op = "sqlite.LastUserEvent"
	if err := s.open(op); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, sqlcodec.NotFound(op, "audit record")
	}
	q, args := sqlcodec.LastUserEvent(sqlcodec.Question, user, events)
	var a roamsign.AuditRecord
	err := sqlcodec.ScanAudit(s.r.QueryRowContext(ctx, q, args...), &a, times)
	if err != nil {
		return nil, classify(op, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "audit record"))
	}
	return &a, nil
}

package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
)

// times stores times as UTC microseconds since the Unix epoch (INTEGER).
var times = sqlcodec.Times[sql.NullInt64]{
	Null: sqlcodec.Micro,
	Req:  func(t time.Time) any { return t.UnixMicro() },
	From: func(v sql.NullInt64) time.Time { return sqlcodec.FromMicro(v.Int64, v.Valid) },
}

func scanChallenge(row sqlcodec.Scanner, rs *store.RowSeal) (*roamsign.ChallengeRecord, error) {
	return sqlcodec.ScanChallenge(row, times, rs)
}
func scanUser(row sqlcodec.Scanner, rs *store.RowSeal) (*roamsign.UserRecord, error) {
	return sqlcodec.ScanUser(row, times, rs)
}
func scanTx(row sqlcodec.Scanner, rs *store.RowSeal) (*roamsign.TransactionRecord, error) {
	return sqlcodec.ScanTx(row, times, rs)
}

// The statements that read one sealed row.
const (
	selChallenge = `SELECT ` + sqlcodec.ChallengeCols + ` FROM challenges WHERE id = ?`
	selUser      = `SELECT ` + sqlcodec.UserCols + ` FROM users WHERE id = ?`
	selTx        = `SELECT ` + sqlcodec.TxCols + ` FROM transactions WHERE id = ?`
)

// updateChallenge is [sqlcodec.Update] of challenge id inside tx.
func (s *Store) updateChallenge(ctx context.Context, tx *sql.Tx, op, id string, fn func(*roamsign.ChallengeRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.ChallengeRecord, store.RowSeal, error) {
		var rs store.RowSeal
		r, err := scanChallenge(tx.QueryRowContext(ctx, selChallenge, id), &rs)
		return r, rs, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "challenge")
	}, k.CheckChallenge, k.SealChallenge, fn, func(r *roamsign.ChallengeRecord, rs store.RowSeal) error {
		res, err := tx.ExecContext(ctx, sqlcodec.Question.Reseal("challenges", sqlcodec.ChallengeCols), sqlcodec.ResealArgs(sqlcodec.ChallengeArgs(r, times, rs), rs)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, n)
	})
}

// updateUser is [sqlcodec.Update] of user id inside tx.
func (s *Store) updateUser(ctx context.Context, tx *sql.Tx, op string, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.UserRecord, store.RowSeal, error) {
		var rs store.RowSeal
		u, err := scanUser(tx.QueryRowContext(ctx, selUser, id), &rs)
		return u, rs, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "user")
	}, k.CheckUser, k.SealUser, fn, func(u *roamsign.UserRecord, rs store.RowSeal) error {
		res, err := tx.ExecContext(ctx, sqlcodec.Question.Reseal("users", sqlcodec.UserCols), sqlcodec.ResealArgs(sqlcodec.UserArgs(u, times, rs), rs)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, n)
	})
}

// updateTx is [sqlcodec.Update] of transaction id inside tx.
func (s *Store) updateTx(ctx context.Context, tx *sql.Tx, op, id string, fn func(*roamsign.TransactionRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.TransactionRecord, store.RowSeal, error) {
		var rs store.RowSeal
		t, err := scanTx(tx.QueryRowContext(ctx, selTx, id), &rs)
		return t, rs, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "transaction")
	}, k.CheckTransaction, k.SealTransaction, fn, func(t *roamsign.TransactionRecord, rs store.RowSeal) error {
		res, err := tx.ExecContext(ctx, sqlcodec.Question.Reseal("transactions", sqlcodec.TxCols), sqlcodec.ResealArgs(sqlcodec.TxArgs(t, times, rs), rs)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, n)
	})
}

// reopened refuses an open challenge that a transaction names: a consumed
// challenge put back as open ([store.Reopened]).
func reopened(ctx context.Context, tx *sql.Tx, op string, c *roamsign.ChallengeRecord) error {
	if c.Consumed {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM transactions WHERE challenge_id = ?`, c.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return store.Reopened(op, c)
}

// CreateChallenge implements [store.Store].
func (s *Store) CreateChallenge(ctx context.Context, ch *roamsign.ChallengeRecord) error {
	return s.issue(ctx, "sqlite.CreateChallenge", ch, roamsign.IssueLimits{})
}

// IssueChallenge implements [store.Store]: the limits are read and the
// challenge inserted in one write transaction, and SQLite runs one write
// transaction at a time.
func (s *Store) IssueChallenge(ctx context.Context, ch *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	return s.issue(ctx, "sqlite.IssueChallenge", ch, limits)
}

func (s *Store) issue(ctx context.Context, op string, ch *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	if err := store.CheckIssueArgs(op, ch, limits); err != nil {
		return err
	}
	r, err := sqlcodec.NewChallenge(ch)
	if err != nil {
		return err
	}
	rs, err := s.sealer().SealChallenge(ctx, r, 1)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if err := store.CheckIssue(op, r, limits, nthNewest(ctx, tx, r)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqlcodec.Question.Insert("challenges", sqlcodec.ChallengeCols), sqlcodec.ChallengeArgs(r, times, rs)...)
		if sqliteCode(err) == codeConstraint {
			return sqlcodec.Exists(op, "challenge id exists")
		}
		return err
	})
}

// nthNewest is [store.NthNewest] inside tx for the scopes of r.
func nthNewest(ctx context.Context, tx *sql.Tx, r *roamsign.ChallengeRecord) store.NthNewest {
	return func(sc store.IssueScope, n int, since time.Time) (time.Time, bool, error) {
		q, args := sqlcodec.NthNewest(sqlcodec.Question, sc, r, n, times.Req(since))
		var v sql.NullInt64
		err := tx.QueryRowContext(ctx, q, args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, false, nil
		}
		return times.From(v), err == nil, err
	}
}

// GetChallenge implements [store.Store].
func (s *Store) GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error) {
	const op = "sqlite.GetChallenge"
	if err := s.open(op); err != nil {
		return nil, err
	}
	var rs store.RowSeal
	r, err := scanChallenge(s.r.QueryRowContext(ctx, selChallenge, id), &rs)
	if err == nil {
		err = s.sealer().CheckChallenge(ctx, op, r, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "challenge")))
	}
	return r, nil
}

// MarkDelivered implements [store.Store].
func (s *Store) MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error {
	const op = "sqlite.MarkDelivered"
	if err := sqlcodec.CheckDelivery(op, ch, sentTo); err != nil {
		return err
	}
	return s.report(ctx, s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
			c.Channel, c.SentTo = ch, sentTo
			return nil
		})
	}))
}

// MarkUndeliverable implements [store.Store].
func (s *Store) MarkUndeliverable(ctx context.Context, id string) error {
	const op = "sqlite.MarkUndeliverable"
	return s.report(ctx, s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
			c.Undeliverable = true
			return nil
		})
	}))
}

// TakeTry implements [store.Store]: the row is read, counted and written
// back in one write transaction.
func (s *Store) TakeTry(ctx context.Context, id string) (int, error) {
	const op = "sqlite.TakeTry"
	var tries int
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
			if err := reopened(ctx, tx, op, c); err != nil {
				return err
			}
			var err error
			tries, err = store.SpendTry(op, c)
			return err
		})
	})
	return tries, s.report(ctx, err)
}

// ConsumeChallenge implements [store.Store].
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	const op = "sqlite.ConsumeChallenge"
	return s.report(ctx, s.writeTx(ctx, op, func(tx *sql.Tx) error { return s.consume(ctx, tx, op, id, now) }))
}

// consume is the compare-and-set, inside a write transaction (SQLite runs
// one at a time). A challenge that a transaction already names is refused
// as tampered.
func (s *Store) consume(ctx context.Context, tx *sql.Tx, op, id string, now time.Time) error {
	return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
		if err := reopened(ctx, tx, op, c); err != nil {
			return err
		}
		return store.Consume(op, c, now)
	})
}

// PurgeChallenges implements [store.Store].
func (s *Store) PurgeChallenges(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "sqlite.PurgeChallenges"
	var n int64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM challenges WHERE expires_at < ?`, store.NormTime(expiredBefore).UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u *roamsign.UserRecord) error {
	const op = "sqlite.CreateUser"
	r, err := sqlcodec.NewUser(u)
	if err != nil {
		return err
	}
	rs, err := s.sealer().SealUser(ctx, r, 1)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sqlcodec.Question.Insert("users", sqlcodec.UserCols), sqlcodec.UserArgs(r, times, rs)...)
		if sqliteCode(err) == codeConstraint {
			return sqlcodec.Exists(op, "user exists")
		}
		return err
	})
}

// GetUser implements [store.Store].
func (s *Store) GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	const op = "sqlite.GetUser"
	if err := s.open(op); err != nil {
		return nil, err
	}
	var rs store.RowSeal
	u, err := scanUser(s.r.QueryRowContext(ctx, selUser, id), &rs)
	if err == nil {
		err = s.sealer().CheckUser(ctx, op, u, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "user")))
	}
	return u, nil
}

// UpdateUser implements [store.Store]. The read, fn and the write happen in
// one write transaction, so fn runs once per attempt and sees the latest
// record.
func (s *Store) UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	const op = "sqlite.UpdateUser"
	return s.report(ctx, s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateUser(ctx, tx, op, id, func(u *roamsign.UserRecord) error {
			if err := fn(u); err != nil {
				return err
			}
			return sqlcodec.Updated(op, id, u)
		})
	}))
}

// ListUsers implements [store.Store].
func (s *Store) ListUsers(ctx context.Context, after roamsign.UserID, limit int) ([]roamsign.UserRecord, error) {
	const op = "sqlite.ListUsers"
	limit, err := sqlcodec.CheckLimit(op, limit)
	if err != nil {
		return nil, err
	}
	if err := s.open(op); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+sqlcodec.UserCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	k := s.sealer()
	out, err := sqlcodec.CollectUsers(rows, times, func(u *roamsign.UserRecord, rs store.RowSeal) error {
		return k.CheckUser(ctx, op, u, rs)
	})
	if err != nil {
		return nil, s.report(ctx, classify(op, err))
	}
	return out, nil
}

// AddPINFailure implements [store.Store].
func (s *Store) AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	const op = "sqlite.AddPINFailure"
	if err := sqlcodec.CheckMax(op, max); err != nil {
		return 0, false, err
	}
	var (
		n      int
		locked bool
	)
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateUser(ctx, tx, op, id, func(u *roamsign.UserRecord) error {
			n, locked = store.CountPINFailure(u, max, now)
			return nil
		})
	})
	return n, locked, s.report(ctx, err)
}

// ResetPINFailures implements [store.Store].
func (s *Store) ResetPINFailures(ctx context.Context, id roamsign.UserID) error {
	const op = "sqlite.ResetPINFailures"
	return s.report(ctx, s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.updateUser(ctx, tx, op, id, func(u *roamsign.UserRecord) error {
			store.ClearPINFailures(u)
			return nil
		})
	}))
}

// GetOTPBackoff implements [store.Store].
func (s *Store) GetOTPBackoff(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.OTPBackoffRecord, error) {
	const op = "sqlite.GetOTPBackoff"
	if err := s.open(op); err != nil {
		return nil, err
	}
	r, err := sqlcodec.ScanOTPBackoff(s.r.QueryRowContext(ctx, `SELECT `+sqlcodec.OTPBackoffCols+` FROM otp_backoff WHERE user_id = ? AND host = ?`, user, host), times)
	return r, classify(op, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "OTP failure record"))
}

// AddOTPFailure implements [store.Store]: read, count and write in one
// write transaction.
func (s *Store) AddOTPFailure(ctx context.Context, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error) {
	const op = "sqlite.AddOTPFailure"
	var next *roamsign.OTPBackoffRecord
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		prev, err := sqlcodec.ScanOTPBackoff(tx.QueryRowContext(ctx, `SELECT `+sqlcodec.OTPBackoffCols+` FROM otp_backoff WHERE user_id = ? AND host = ?`, user, host), times)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if next, err = store.CountOTPFailure(op, prev, user, host, now, policy); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqlcodec.Question.Insert("otp_backoff", sqlcodec.OTPBackoffCols)+` ON CONFLICT (user_id, host) DO UPDATE SET
			failures = excluded.failures, blocked_until = excluded.blocked_until, updated_at = excluded.updated_at`, sqlcodec.OTPBackoffArgs(next, times)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// ResetOTPFailures implements [store.Store].
func (s *Store) ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error) {
	const op = "sqlite.ResetOTPFailures"
	if err := store.CheckOTPPair(op, user, host, true); err != nil {
		return nil, err
	}
	var out []roamsign.OTPBackoffRecord
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM otp_backoff WHERE user_id = ? AND (? = '' OR host = ?) RETURNING `+sqlcodec.OTPBackoffCols, user, host, host)
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = sqlcodec.CollectOTPBackoff(rows, times)
		return err
	})
	return store.SortOTPBackoff(out), err
}

// BeginTransaction implements [store.Store].
func (s *Store) BeginTransaction(ctx context.Context, challengeID string, now time.Time, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "sqlite.BeginTransaction"
	return s.report(ctx, sqlcodec.Begin(op, challengeID, t, audit, s.inTx(ctx, op), func(tx *sql.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
		if err := s.consume(ctx, tx, op, challengeID, now); err != nil {
			return err
		}
		rs, err := s.sealer().SealTransaction(ctx, r, 1)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqlcodec.Question.Insert("transactions", sqlcodec.TxCols), sqlcodec.TxArgs(r, times, rs)...)
		if sqliteCode(err) == codeConstraint {
			return sqlcodec.Exists(op, "transaction id or request id already used")
		}
		if err != nil {
			return err
		}
		return s.appendTx(ctx, tx, a, nil)
	}))
}

// FinishTransaction implements [store.Store].
func (s *Store) FinishTransaction(ctx context.Context, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "sqlite.FinishTransaction"
	return s.report(ctx, sqlcodec.Finish(op, t, audit, s.inTx(ctx, op), func(tx *sql.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
		err := s.updateTx(ctx, tx, op, r.ID, func(cur *roamsign.TransactionRecord) error {
			return store.FinishPending(op, cur, r)
		})
		if err != nil {
			return err
		}
		return s.appendTx(ctx, tx, a, nil)
	}))
}

// GetTransaction implements [store.Store].
func (s *Store) GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error) {
	const op = "sqlite.GetTransaction"
	if err := s.open(op); err != nil {
		return nil, err
	}
	return s.getTx(ctx, op, selTx, id)
}

// getTx reads one transaction with query q and checks its seal.
func (s *Store) getTx(ctx context.Context, op, q string, args ...any) (*roamsign.TransactionRecord, error) {
	var rs store.RowSeal
	t, err := scanTx(s.r.QueryRowContext(ctx, q, args...), &rs)
	if err == nil {
		err = s.sealer().CheckTransaction(ctx, op, t, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, sql.ErrNoRows, op, "transaction")))
	}
	return t, nil
}

// GetTransactionByRequest implements [store.Store].
func (s *Store) GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error) {
	const op = "sqlite.GetTransactionByRequest"
	if err := s.open(op); err != nil {
		return nil, err
	}
	return s.getTx(ctx, op, `SELECT `+sqlcodec.TxCols+` FROM transactions WHERE host = ? AND request_id = ?`, host, requestID)
}

// ExpireTransactions implements [store.Store].
func (s *Store) ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (int, int, error) {
	const op = "sqlite.ExpireTransactions"
	var failed, deleted int64
	now := store.NormTime(s.now()).UnixMicro()
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		ids, err := pendingIDs(ctx, tx, store.NormTime(pendingBefore).UnixMicro())
		if err != nil {
			return err
		}
		failed = int64(len(ids))
		at := time.UnixMicro(now).UTC()
		for _, id := range ids {
			var expired *roamsign.TransactionRecord
			err := s.updateTx(ctx, tx, op, id, func(t *roamsign.TransactionRecord) error {
				store.ExpirePending(t, at)
				expired = t
				return nil
			})
			if err != nil {
				return err
			}
			if err := s.appendTx(ctx, tx, store.ExpiredAudit(expired, at), nil); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM transactions WHERE state <> ? AND updated_at < ?`,
			roamsign.TxPending, store.NormTime(deleteBefore).UnixMicro())
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return int(failed), int(deleted), s.report(ctx, err)
}

// pendingIDs returns the ids of the pending transactions created before
// the given time.
func pendingIDs(ctx context.Context, tx *sql.Tx, before int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM transactions WHERE state = ? AND created_at < ?`, roamsign.TxPending, before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// appendTx appends a to the chain inside tx. When mk is set it builds the
// record from the chain head instead (checkpoints).
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, a *roamsign.AuditRecord, mk sqlcodec.MakeRecord) error {
	seq, hash, err := sqlcodec.ScanHead(tx.QueryRowContext(ctx, sqlcodec.HeadQuery))
	if err != nil {
		return err
	}
	if err := sqlcodec.Link(a, seq, hash, s.now(), mk); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, sqlcodec.Question.Insert("audit", sqlcodec.AuditCols),
		sqlcodec.AuditArgs(a, times)...); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ?`, a.Seq, a.Hash, seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return sqlcodec.HeadMoved("sqlite.AppendAudit")
	}
	return nil
}

// AppendAudit implements [store.Store].
func (s *Store) AppendAudit(ctx context.Context, audit *roamsign.AuditRecord) error {
	const op = "sqlite.AppendAudit"
	return sqlcodec.Append(audit, s.inTx(ctx, op), func(tx *sql.Tx, a *roamsign.AuditRecord) error {
		return s.appendTx(ctx, tx, a, nil)
	})
}

// AppendCheckpoint implements [store.Store]. The signature is made inside
// the append transaction, over the head the checkpoint links to.
func (s *Store) AppendCheckpoint(ctx context.Context, cp store.Checkpoint) (*roamsign.AuditRecord, error) {
	const op = "sqlite.AppendCheckpoint"
	return sqlcodec.Checkpoint(op, cp, func(a *roamsign.AuditRecord, mk sqlcodec.MakeRecord) error {
		return s.writeTx(ctx, op, func(tx *sql.Tx) error { return s.appendTx(ctx, tx, a, mk) })
	})
}

// ScanAudit implements [store.Store]. It streams rows from one read
// transaction (a consistent snapshot) and reuses buffers between calls.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	const op = "sqlite.ScanAudit"
	if err := s.open(op); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+sqlcodec.AuditCols+` FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return classify(op, err)
	}
	defer rows.Close()
	var a roamsign.AuditRecord
	for rows.Next() {
		if err := sqlcodec.ScanAudit(rows, &a, times); err != nil {
			return classify(op, err)
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	return classify(op, rows.Err())
}

// AuditHead implements [store.AuditHeader].
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	const op = "sqlite.AuditHead"
	if err := s.open(op); err != nil {
		return 0, nil, err
	}
	seq, hash, err := sqlcodec.ScanHead(s.r.QueryRowContext(ctx, sqlcodec.HeadQuery))
	return seq, bytes.Clone(hash), classify(op, err)
}

// AdvanceStep implements [store.OTPStepStore] with one conditional upsert.
func (s *Store) AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error) {
	const op = "sqlite.AdvanceStep"
	if err := sqlcodec.CheckStepUser(op, user); err != nil {
		return false, err
	}
	var n int64
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO otp_steps (user_id, step) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET step = excluded.step WHERE excluded.step > otp_steps.step`, user, step)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

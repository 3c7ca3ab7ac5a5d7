package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
)

// ts returns t normalised for a TIMESTAMPTZ column, or nil (NULL) for the
// zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.NormTime(t)
}

// fromTS reads a nullable TIMESTAMPTZ back as UTC.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// times stores times in TIMESTAMPTZ columns.
var times = sqlcodec.Times[*time.Time]{
	Null: ts,
	Req:  func(t time.Time) any { return t },
	From: fromTS,
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
	selChallenge = `SELECT ` + sqlcodec.ChallengeCols + ` FROM challenges WHERE id = $1`
	selUser      = `SELECT ` + sqlcodec.UserCols + ` FROM users WHERE id = $1`
	selTx        = `SELECT ` + sqlcodec.TxCols + ` FROM transactions WHERE id = $1`
)

// updateChallenge is [sqlcodec.Update] of challenge id inside tx, the row
// locked for update so concurrent writers of it take turns.
func (s *Store) updateChallenge(ctx context.Context, tx pgx.Tx, op, id string, fn func(*roamsign.ChallengeRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.ChallengeRecord, store.RowSeal, error) {
		var rs store.RowSeal
		r, err := scanChallenge(tx.QueryRow(ctx, selChallenge+` FOR UPDATE`, id), &rs)
		return r, rs, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "challenge")
	}, k.CheckChallenge, k.SealChallenge, fn, func(r *roamsign.ChallengeRecord, rs store.RowSeal) error {
		tag, err := tx.Exec(ctx, sqlcodec.Dollar.Reseal("challenges", sqlcodec.ChallengeCols), sqlcodec.ResealArgs(sqlcodec.ChallengeArgs(r, times, rs), rs)...)
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, tag.RowsAffected())
	})
}

// updateUser is [sqlcodec.Update] of user id inside tx, locked for update.
func (s *Store) updateUser(ctx context.Context, tx pgx.Tx, op string, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.UserRecord, store.RowSeal, error) {
		var rs store.RowSeal
		u, err := scanUser(tx.QueryRow(ctx, selUser+` FOR UPDATE`, id), &rs)
		return u, rs, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "user")
	}, k.CheckUser, k.SealUser, fn, func(u *roamsign.UserRecord, rs store.RowSeal) error {
		tag, err := tx.Exec(ctx, sqlcodec.Dollar.Reseal("users", sqlcodec.UserCols), sqlcodec.ResealArgs(sqlcodec.UserArgs(u, times, rs), rs)...)
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, tag.RowsAffected())
	})
}

// updateTx is [sqlcodec.Update] of transaction id inside tx, locked for
// update.
func (s *Store) updateTx(ctx context.Context, tx pgx.Tx, op, id string, fn func(*roamsign.TransactionRecord) error) error {
	k := s.sealer()
	return sqlcodec.Update(ctx, op, func() (*roamsign.TransactionRecord, store.RowSeal, error) {
		var rs store.RowSeal
		t, err := scanTx(tx.QueryRow(ctx, selTx+` FOR UPDATE`, id), &rs)
		return t, rs, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "transaction")
	}, k.CheckTransaction, k.SealTransaction, fn, func(t *roamsign.TransactionRecord, rs store.RowSeal) error {
		tag, err := tx.Exec(ctx, sqlcodec.Dollar.Reseal("transactions", sqlcodec.TxCols), sqlcodec.ResealArgs(sqlcodec.TxArgs(t, times, rs), rs)...)
		if err != nil {
			return err
		}
		return sqlcodec.Resealed(op, tag.RowsAffected())
	})
}

// reopened refuses an open challenge that a transaction names: a consumed
// challenge put back as open ([store.Reopened]).
func reopened(ctx context.Context, tx pgx.Tx, op string, c *roamsign.ChallengeRecord) error {
	if c.Consumed {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM transactions WHERE challenge_id = $1`, c.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return store.Reopened(op, c)
}

// CreateChallenge implements [store.Store].
func (s *Store) CreateChallenge(ctx context.Context, ch *roamsign.ChallengeRecord) error {
	return s.issue(ctx, "postgres.CreateChallenge", ch, roamsign.IssueLimits{})
}

// IssueChallenge implements [store.Store]: one transaction takes the
// user's issuance lock (a transaction-scoped advisory lock, so replicas
// issuing for one user take turns), reads the limits and inserts.
func (s *Store) IssueChallenge(ctx context.Context, ch *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error {
	return s.issue(ctx, "postgres.IssueChallenge", ch, limits)
}

// issueLockClass is the first key of the advisory lock that serialises a
// user's issuance; the second is a hash of the user id.
const issueLockClass = 0x726f616d // "roam"

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
	insert := func(tx dbtx) error {
		_, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("challenges", sqlcodec.ChallengeCols), sqlcodec.ChallengeArgs(r, times, rs)...)
		if pgCode(err) == "23505" {
			return sqlcodec.Exists(op, "challenge id exists")
		}
		return err
	}
	if !limits.Any() {
		return s.one(ctx, op, insert)
	}
	return s.tx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, issueLockClass, string(r.User)); err != nil {
			return err
		}
		if err := store.CheckIssue(op, r, limits, nthNewest(ctx, tx, r)); err != nil {
			return err
		}
		return insert(tx)
	})
}

// nthNewest is [store.NthNewest] inside tx for the scopes of r.
func nthNewest(ctx context.Context, tx pgx.Tx, r *roamsign.ChallengeRecord) store.NthNewest {
	return func(sc store.IssueScope, n int, since time.Time) (time.Time, bool, error) {
		q, args := sqlcodec.NthNewest(sqlcodec.Dollar, sc, r, n, times.Req(since))
		var v *time.Time
		err := tx.QueryRow(ctx, q, args...).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return time.Time{}, false, nil
		}
		return times.From(v), err == nil, err
	}
}

// GetChallenge implements [store.Store].
func (s *Store) GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error) {
	const op = "postgres.GetChallenge"
	if err := s.open(op); err != nil {
		return nil, err
	}
	var rs store.RowSeal
	r, err := scanChallenge(s.pool.QueryRow(ctx, selChallenge, id), &rs)
	if err == nil {
		err = s.sealer().CheckChallenge(ctx, op, r, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "challenge")))
	}
	return r, nil
}

// MarkDelivered implements [store.Store].
func (s *Store) MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error {
	const op = "postgres.MarkDelivered"
	if err := sqlcodec.CheckDelivery(op, ch, sentTo); err != nil {
		return err
	}
	return s.report(ctx, s.tx(ctx, op, func(tx pgx.Tx) error {
		return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
			c.Channel, c.SentTo = ch, sentTo
			return nil
		})
	}))
}

// MarkUndeliverable implements [store.Store].
func (s *Store) MarkUndeliverable(ctx context.Context, id string) error {
	const op = "postgres.MarkUndeliverable"
	return s.report(ctx, s.tx(ctx, op, func(tx pgx.Tx) error {
		return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
			c.Undeliverable = true
			return nil
		})
	}))
}

// TakeTry implements [store.Store]: the row is read for update, counted
// and written back in one transaction, so concurrent attempts take turns.
func (s *Store) TakeTry(ctx context.Context, id string) (int, error) {
	const op = "postgres.TakeTry"
	var tries int
	err := s.tx(ctx, op, func(tx pgx.Tx) error {
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
	const op = "postgres.ConsumeChallenge"
	return s.report(ctx, s.tx(ctx, op, func(tx pgx.Tx) error { return s.consume(ctx, tx, op, id, now) }))
}

// consume is the single-use compare-and-set: the row is read for update, so
// a concurrent consumer blocks on the row lock and then finds consumed set.
// A challenge that a transaction already names is refused as tampered.
func (s *Store) consume(ctx context.Context, tx pgx.Tx, op, id string, now time.Time) error {
	return s.updateChallenge(ctx, tx, op, id, func(c *roamsign.ChallengeRecord) error {
		if err := reopened(ctx, tx, op, c); err != nil {
			return err
		}
		return store.Consume(op, c, now)
	})
}

// PurgeChallenges implements [store.Store].
func (s *Store) PurgeChallenges(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "postgres.PurgeChallenges"
	var n int64
	err := s.one(ctx, op, func(tx dbtx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM challenges WHERE expires_at < $1`, store.NormTime(expiredBefore))
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u *roamsign.UserRecord) error {
	const op = "postgres.CreateUser"
	r, err := sqlcodec.NewUser(u)
	if err != nil {
		return err
	}
	rs, err := s.sealer().SealUser(ctx, r, 1)
	if err != nil {
		return err
	}
	return s.one(ctx, op, func(tx dbtx) error {
		_, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("users", sqlcodec.UserCols), sqlcodec.UserArgs(r, times, rs)...)
		if pgCode(err) == "23505" {
			return sqlcodec.Exists(op, "user exists")
		}
		return err
	})
}

// GetUser implements [store.Store].
func (s *Store) GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	const op = "postgres.GetUser"
	if err := s.open(op); err != nil {
		return nil, err
	}
	var rs store.RowSeal
	u, err := scanUser(s.pool.QueryRow(ctx, selUser, id), &rs)
	if err == nil {
		err = s.sealer().CheckUser(ctx, op, u, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "user")))
	}
	return u, nil
}

// UpdateUser implements [store.Store]: SELECT … FOR UPDATE, fn, UPDATE in
// one transaction (fn runs again if the transaction is retried).
func (s *Store) UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	const op = "postgres.UpdateUser"
	return s.report(ctx, s.tx(ctx, op, func(tx pgx.Tx) error {
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
	const op = "postgres.ListUsers"
	limit, err := sqlcodec.CheckLimit(op, limit)
	if err != nil {
		return nil, err
	}
	if err := s.open(op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlcodec.UserCols+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	k := s.sealer()
	out, err := sqlcodec.CollectUsers(rows, times, func(u *roamsign.UserRecord, rs store.RowSeal) error {
		return k.CheckUser(ctx, op, u, rs)
	})
	if err != nil {
		rows.Close()
		return nil, s.report(ctx, classify(op, err))
	}
	return out, nil
}

// AddPINFailure implements [store.Store]: the row is read for update,
// counted and written back in one transaction.
func (s *Store) AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	const op = "postgres.AddPINFailure"
	if err := sqlcodec.CheckMax(op, max); err != nil {
		return 0, false, err
	}
	var (
		n      int
		locked bool
	)
	err := s.tx(ctx, op, func(tx pgx.Tx) error {
		return s.updateUser(ctx, tx, op, id, func(u *roamsign.UserRecord) error {
			n, locked = store.CountPINFailure(u, max, now)
			return nil
		})
	})
	return n, locked, s.report(ctx, err)
}

// ResetPINFailures implements [store.Store].
func (s *Store) ResetPINFailures(ctx context.Context, id roamsign.UserID) error {
	const op = "postgres.ResetPINFailures"
	return s.report(ctx, s.tx(ctx, op, func(tx pgx.Tx) error {
		return s.updateUser(ctx, tx, op, id, func(u *roamsign.UserRecord) error {
			store.ClearPINFailures(u)
			return nil
		})
	}))
}

// GetOTPBackoff implements [store.Store].
func (s *Store) GetOTPBackoff(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.OTPBackoffRecord, error) {
	const op = "postgres.GetOTPBackoff"
	if err := s.open(op); err != nil {
		return nil, err
	}
	r, err := sqlcodec.ScanOTPBackoff(s.pool.QueryRow(ctx, `SELECT `+sqlcodec.OTPBackoffCols+` FROM otp_backoff WHERE user_id = $1 AND host = $2`, user, host), times)
	return r, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "OTP failure record"))
}

// AddOTPFailure implements [store.Store]: one transaction reads the pair's
// row through an upsert, which makes it if missing and locks it either way
// (so replicas counting for one pair take turns, and a row deleted by a
// concurrent reset is simply made again), counts and writes.
func (s *Store) AddOTPFailure(ctx context.Context, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error) {
	const op = "postgres.AddOTPFailure"
	if err := store.CheckOTPPair(op, user, host, false); err != nil {
		return nil, err
	}
	var next *roamsign.OTPBackoffRecord
	err := s.tx(ctx, op, func(tx pgx.Tx) error {
		prev, err := sqlcodec.ScanOTPBackoff(tx.QueryRow(ctx, `INSERT INTO otp_backoff (`+sqlcodec.OTPBackoffCols+`) VALUES ($1, $2, 0, NULL, $3)
			ON CONFLICT (user_id, host) DO UPDATE SET failures = otp_backoff.failures
			RETURNING `+sqlcodec.OTPBackoffCols, user, host, store.NormTime(now)), times)
		if err != nil {
			return err
		}
		if prev.Failures == 0 {
			prev = nil // the row this transaction made
		}
		if next, err = store.CountOTPFailure(op, prev, user, host, now, policy); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE otp_backoff SET failures = $3, blocked_until = $4, updated_at = $5 WHERE user_id = $1 AND host = $2`,
			sqlcodec.OTPBackoffArgs(next, times)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// ResetOTPFailures implements [store.Store].
func (s *Store) ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error) {
	const op = "postgres.ResetOTPFailures"
	if err := store.CheckOTPPair(op, user, host, true); err != nil {
		return nil, err
	}
	var out []roamsign.OTPBackoffRecord
	err := s.one(ctx, op, func(tx dbtx) error {
		rows, err := s.pool.Query(ctx, `DELETE FROM otp_backoff WHERE user_id = $1 AND ($2 = '' OR host = $2) RETURNING `+sqlcodec.OTPBackoffCols, user, host)
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
	const op = "postgres.BeginTransaction"
	return s.report(ctx, sqlcodec.Begin(op, challengeID, t, audit, s.inTx(ctx, op), func(tx pgx.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
		if err := s.consume(ctx, tx, op, challengeID, now); err != nil {
			return err
		}
		rs, err := s.sealer().SealTransaction(ctx, r, 1)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlcodec.Dollar.Insert("transactions", sqlcodec.TxCols), sqlcodec.TxArgs(r, times, rs)...)
		if pgCode(err) == "23505" {
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
	const op = "postgres.FinishTransaction"
	return s.report(ctx, sqlcodec.Finish(op, t, audit, s.inTx(ctx, op), func(tx pgx.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
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
	const op = "postgres.GetTransaction"
	if err := s.open(op); err != nil {
		return nil, err
	}
	return s.getTx(ctx, op, selTx, id)
}

// getTx reads one transaction with query q and checks its seal.
func (s *Store) getTx(ctx context.Context, op, q string, args ...any) (*roamsign.TransactionRecord, error) {
	var rs store.RowSeal
	t, err := scanTx(s.pool.QueryRow(ctx, q, args...), &rs)
	if err == nil {
		err = s.sealer().CheckTransaction(ctx, op, t, rs)
	}
	if err != nil {
		return nil, s.report(ctx, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "transaction")))
	}
	return t, nil
}

// GetTransactionByRequest implements [store.Store].
func (s *Store) GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error) {
	const op = "postgres.GetTransactionByRequest"
	if err := s.open(op); err != nil {
		return nil, err
	}
	return s.getTx(ctx, op, `SELECT `+sqlcodec.TxCols+` FROM transactions WHERE host = $1 AND request_id = $2`, host, requestID)
}

// ExpireTransactions implements [store.Store].
func (s *Store) ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (int, int, error) {
	const op = "postgres.ExpireTransactions"
	var failed, deleted int64
	now := store.NormTime(s.now())
	err := s.tx(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM transactions WHERE state = $1 AND created_at < $2`, roamsign.TxPending, store.NormTime(pendingBefore))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		failed = int64(len(ids))
		for _, id := range ids {
			var expired *roamsign.TransactionRecord
			err := s.updateTx(ctx, tx, op, id, func(t *roamsign.TransactionRecord) error {
				store.ExpirePending(t, now)
				expired = t
				return nil
			})
			if err != nil {
				return err
			}
			if err := s.appendTx(ctx, tx, store.ExpiredAudit(expired, now), nil); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM transactions WHERE state <> $1 AND updated_at < $2`, roamsign.TxPending, store.NormTime(deleteBefore))
		deleted = tag.RowsAffected()
		return err
	})
	return int(failed), int(deleted), s.report(ctx, err)
}

// appendTx appends a inside tx, holding the chain head row lock until the
// transaction ends, so appends from every replica form one gap-free chain.
// When mk is set it builds the record from the head (checkpoints).
func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, a *roamsign.AuditRecord, mk sqlcodec.MakeRecord) error {
	seq, hash, err := sqlcodec.ScanHead(tx.QueryRow(ctx, sqlcodec.HeadQuery+` FOR UPDATE`))
	if err != nil {
		return err
	}
	if err := sqlcodec.Link(a, seq, hash, s.now(), mk); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("audit", sqlcodec.AuditCols),
		sqlcodec.AuditArgs(a, times)...); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, a.Seq, a.Hash, seq)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return sqlcodec.HeadMoved("postgres.AppendAudit")
	}
	return nil
}

// AppendAudit implements [store.Store].
func (s *Store) AppendAudit(ctx context.Context, audit *roamsign.AuditRecord) error {
	const op = "postgres.AppendAudit"
	return sqlcodec.Append(audit, s.inTx(ctx, op), func(tx pgx.Tx, a *roamsign.AuditRecord) error {
		return s.appendTx(ctx, tx, a, nil)
	})
}

// AppendCheckpoint implements [store.Store]. The signature is made inside
// the append transaction, over the head the checkpoint links to.
func (s *Store) AppendCheckpoint(ctx context.Context, cp store.Checkpoint) (*roamsign.AuditRecord, error) {
	const op = "postgres.AppendCheckpoint"
	return sqlcodec.Checkpoint(op, cp, func(a *roamsign.AuditRecord, mk sqlcodec.MakeRecord) error {
		return s.tx(ctx, op, func(tx pgx.Tx) error { return s.appendTx(ctx, tx, a, mk) })
	})
}

// scanPage is how many audit rows ScanAudit reads per query.
var scanPage = 5000

// ScanAudit implements [store.Store]. It reads in pages by Seq, so neither
// memory nor a server-side snapshot grows with the log.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	const op = "postgres.ScanAudit"
	var a roamsign.AuditRecord
	for {
		if err := s.open(op); err != nil {
			return err
		}
		rows, err := s.pool.Query(ctx, `SELECT `+sqlcodec.AuditCols+` FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2`, from, scanPage)
		if err != nil {
			return classify(op, err)
		}
		n := 0
		for rows.Next() {
			n++
			if err := sqlcodec.ScanAudit(rows, &a, times); err != nil {
				rows.Close()
				return classify(op, err)
			}
			from = a.Seq + 1
			if err := fn(&a); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return classify(op, err)
		}
		if n < scanPage {
			return nil
		}
	}
}

// AuditHead implements [store.AuditHeader].
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	const op = "postgres.AuditHead"
	if err := s.open(op); err != nil {
		return 0, nil, err
	}
	seq, hash, err := sqlcodec.ScanHead(s.pool.QueryRow(ctx, sqlcodec.HeadQuery))
	return seq, bytes.Clone(hash), classify(op, err)
}

// AdvanceStep implements [store.OTPStepStore] with one conditional upsert;
// concurrent callers on one step serialise on the row and one wins.
func (s *Store) AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error) {
	const op = "postgres.AdvanceStep"
	if err := sqlcodec.CheckStepUser(op, user); err != nil {
		return false, err
	}
	var n int64
	err := s.one(ctx, op, func(tx dbtx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO otp_steps (user_id, step) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET step = excluded.step WHERE excluded.step > otp_steps.step`, user, step)
		n = tag.RowsAffected()
		return err
	})
	return n == 1, err
}

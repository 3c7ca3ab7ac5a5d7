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

func scanChallenge(row sqlcodec.Scanner) (*roamsign.ChallengeRecord, error) {
	return sqlcodec.ScanChallenge(row, times)
}
func scanUser(row sqlcodec.Scanner) (*roamsign.UserRecord, error) {
	return sqlcodec.ScanUser(row, times)
}
func scanTx(row sqlcodec.Scanner) (*roamsign.TransactionRecord, error) {
	return sqlcodec.ScanTx(row, times)
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
	insert := func(tx dbtx) error {
		_, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("challenges", sqlcodec.ChallengeCols), sqlcodec.ChallengeArgs(r, times)...)
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
	r, err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+sqlcodec.ChallengeCols+` FROM challenges WHERE id = $1`, id))
	return r, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "challenge"))
}

func (s *Store) execOne(ctx context.Context, op, what, q string, args ...any) error {
	return s.one(ctx, op, func(tx dbtx) error {
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return sqlcodec.NotFound(op, what)
		}
		return nil
	})
}

// MarkDelivered implements [store.Store].
func (s *Store) MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error {
	const op = "postgres.MarkDelivered"
	if err := sqlcodec.CheckDelivery(op, ch, sentTo); err != nil {
		return err
	}
	return s.execOne(ctx, op, "challenge", `UPDATE challenges SET channel = $1, sent_to = $2 WHERE id = $3`, ch, sentTo, id)
}

// MarkUndeliverable implements [store.Store].
func (s *Store) MarkUndeliverable(ctx context.Context, id string) error {
	return s.execOne(ctx, "postgres.MarkUndeliverable", "challenge", `UPDATE challenges SET undeliverable = true WHERE id = $1`, id)
}

// TakeTry implements [store.Store] with one conditional UPDATE; a
// challenge whose row the UPDATE did not match is read to say why (tries
// and consumption only ever grow, so the answer cannot go stale).
func (s *Store) TakeTry(ctx context.Context, id string) (int, error) {
	const op = "postgres.TakeTry"
	var tries int
	err := s.one(ctx, op, func(tx dbtx) error {
		err := tx.QueryRow(ctx, `UPDATE challenges SET tries = tries + 1 WHERE id = $1 AND NOT consumed AND tries < max_tries
			RETURNING tries`, id).Scan(&tries)
		if errors.Is(err, pgx.ErrNoRows) {
			r, err := scanChallenge(tx.QueryRow(ctx, `SELECT `+sqlcodec.ChallengeCols+` FROM challenges WHERE id = $1`, id))
			if err != nil {
				return sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "challenge")
			}
			return store.TryRefusal(op, r)
		}
		return err
	})
	return tries, err
}

// ConsumeChallenge implements [store.Store].
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	const op = "postgres.ConsumeChallenge"
	return s.one(ctx, op, func(tx dbtx) error { return consume(ctx, tx, op, id, now) })
}

// consume is the single-use compare-and-set: one conditional UPDATE. A
// concurrent consumer blocks on the row lock and then finds consumed set.
func consume(ctx context.Context, tx dbtx, op, id string, now time.Time) error {
	now = store.NormTime(now)
	var got string
	err := tx.QueryRow(ctx, `UPDATE challenges SET consumed = true, consumed_at = $2
		WHERE id = $1 AND NOT consumed AND NOT undeliverable AND tries <= max_tries AND expires_at > $2
		RETURNING id`, id, now).Scan(&got)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	r, err := scanChallenge(tx.QueryRow(ctx, `SELECT `+sqlcodec.ChallengeCols+` FROM challenges WHERE id = $1`, id))
	if err != nil {
		return sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "challenge")
	}
	if err := store.ChallengeState(op, r, now); err != nil {
		return err
	}
	return sqlcodec.Used(op)
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
	return s.one(ctx, op, func(tx dbtx) error {
		_, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("users", sqlcodec.UserCols), sqlcodec.UserArgs(r, times)...)
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
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+sqlcodec.UserCols+` FROM users WHERE id = $1`, id))
	return u, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "user"))
}

// UpdateUser implements [store.Store]: SELECT … FOR UPDATE, fn, UPDATE in
// one transaction (fn runs again if the transaction is retried).
func (s *Store) UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	const op = "postgres.UpdateUser"
	return s.tx(ctx, op, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+sqlcodec.UserCols+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "user")
		}
		if err := fn(u); err != nil {
			return err
		}
		if err := sqlcodec.Updated(op, id, u); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlcodec.Dollar.Update("users", sqlcodec.UserCols), sqlcodec.KeyLast(sqlcodec.UserArgs(u, times))...)
		return err
	})
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
	out, err := sqlcodec.CollectUsers(rows, times)
	return out, classify(op, err)
}

// AddPINFailure implements [store.Store]: one conditional UPDATE.
func (s *Store) AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	const op = "postgres.AddPINFailure"
	if err := sqlcodec.CheckMax(op, max); err != nil {
		return 0, false, err
	}
	var (
		n      int
		locked bool
	)
	err := s.one(ctx, op, func(tx dbtx) error {
		err := tx.QueryRow(ctx, `UPDATE users SET
			pin_failures = pin_failures + 1,
			locked_at = CASE WHEN NOT locked AND pin_failures + 1 >= $1 THEN $2 ELSE locked_at END,
			locked = locked OR pin_failures + 1 >= $1
			WHERE id = $3 RETURNING pin_failures, locked`, max, store.NormTime(now), id).Scan(&n, &locked)
		return sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "user")
	})
	return n, locked, err
}

// ResetPINFailures implements [store.Store].
func (s *Store) ResetPINFailures(ctx context.Context, id roamsign.UserID) error {
	return s.execOne(ctx, "postgres.ResetPINFailures", "user", `UPDATE users SET pin_failures = 0, locked = false, locked_at = NULL WHERE id = $1`, id)
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
	return sqlcodec.Begin(op, challengeID, t, audit, s.inTx(ctx, op), func(tx pgx.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
		if err := consume(ctx, tx, op, challengeID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlcodec.Dollar.Insert("transactions", sqlcodec.TxCols), sqlcodec.TxArgs(r, times)...)
		if pgCode(err) == "23505" {
			return sqlcodec.Exists(op, "transaction id or request id already used")
		}
		if err != nil {
			return err
		}
		return s.appendTx(ctx, tx, a, nil)
	})
}

// FinishTransaction implements [store.Store].
func (s *Store) FinishTransaction(ctx context.Context, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "postgres.FinishTransaction"
	return sqlcodec.Finish(op, t, audit, s.inTx(ctx, op), func(tx pgx.Tx, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error {
		tag, err := tx.Exec(ctx, `UPDATE transactions SET state = $1, items = $2, chain = $3, sig_alg = $4, error = $5, updated_at = $6
			WHERE id = $7 AND state = $8`, sqlcodec.FinishArgs(r, times)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var one int
			probe := tx.QueryRow(ctx, `SELECT 1 FROM transactions WHERE id = $1`, r.ID).Scan(&one)
			return sqlcodec.NoMatchReason(probe, pgx.ErrNoRows, op, "transaction", sqlcodec.NotPending(op))
		}
		return s.appendTx(ctx, tx, a, nil)
	})
}

// GetTransaction implements [store.Store].
func (s *Store) GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error) {
	const op = "postgres.GetTransaction"
	if err := s.open(op); err != nil {
		return nil, err
	}
	t, err := scanTx(s.pool.QueryRow(ctx, `SELECT `+sqlcodec.TxCols+` FROM transactions WHERE id = $1`, id))
	return t, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "transaction"))
}

// GetTransactionByRequest implements [store.Store].
func (s *Store) GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error) {
	const op = "postgres.GetTransactionByRequest"
	if err := s.open(op); err != nil {
		return nil, err
	}
	t, err := scanTx(s.pool.QueryRow(ctx, `SELECT `+sqlcodec.TxCols+` FROM transactions WHERE host = $1 AND request_id = $2`, host, requestID))
	return t, classify(op, sqlcodec.NotFoundOr(err, pgx.ErrNoRows, op, "transaction"))
}

// ExpireTransactions implements [store.Store].
func (s *Store) ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (int, int, error) {
	const op = "postgres.ExpireTransactions"
	var failed, deleted int64
	now := store.NormTime(s.now())
	err := s.tx(ctx, op, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE transactions SET state = $1, error = $2, updated_at = $3 WHERE state = $4 AND created_at < $5
			RETURNING `+sqlcodec.ExpiredCols,
			roamsign.TxFailed, roamsign.ErrExpired.Code(), now, roamsign.TxPending, store.NormTime(pendingBefore))
		if err != nil {
			return err
		}
		expired, err := sqlcodec.ScanExpired(rows)
		rows.Close()
		if err != nil {
			return err
		}
		failed = int64(len(expired))
		for _, t := range expired {
			if err := s.appendTx(ctx, tx, store.ExpiredAudit(t, now), nil); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM transactions WHERE state <> $1 AND updated_at < $2`, roamsign.TxPending, store.NormTime(deleteBefore))
		deleted = tag.RowsAffected()
		return err
	})
	return int(failed), int(deleted), err
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

package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	c "github.com/roamsign/roamsign/store/internal/sqlcodec"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

type scanner interface{ Scan(dest ...any) error }

const challengeCols = `id, user_id, host, nonce, mac, hash_list, count, data_header, channel, sent_to,
	created_at, expires_at, tries, max_tries, consumed, consumed_at, undeliverable`

func scanChallenge(row scanner) (*roamsign.ChallengeRecord, error) {
	var (
		r                       roamsign.ChallengeRecord
		hl                      []byte
		created, consumedAt     sql.NullInt64
		expires                 int64
		consumed, undeliverable bool
	)
	err := row.Scan(&r.ID, &r.User, &r.Host, &r.Nonce, &r.MAC, &hl, &r.Count, &r.DataHeader, &r.Channel, &r.SentTo,
		&created, &expires, &r.Tries, &r.MaxTries, &consumed, &consumedAt, &undeliverable)
	if err != nil {
		return nil, err
	}
	copy(r.HashList[:], hl)
	r.CreatedAt = c.FromMicro(created.Int64, created.Valid)
	r.ExpiresAt = c.FromMicro(expires, true)
	r.ConsumedAt = c.FromMicro(consumedAt.Int64, consumedAt.Valid)
	r.Consumed, r.Undeliverable = consumed, undeliverable
	return &r, nil
}

func nz(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CreateChallenge implements [store.Store].
func (s *Store) CreateChallenge(ctx context.Context, ch *roamsign.ChallengeRecord) error {
	const op = "sqlite.CreateChallenge"
	if err := store.ValidateChallenge(ch); err != nil {
		return err
	}
	r := store.CloneChallenge(ch)
	store.NormChallenge(r)
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO challenges (`+challengeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			r.ID, r.User, r.Host, nz(r.Nonce), nz(r.MAC), r.HashList[:], r.Count, r.DataHeader, r.Channel, r.SentTo,
			c.Micro(r.CreatedAt), r.ExpiresAt.UnixMicro(), r.Tries, r.MaxTries, r.Consumed, c.Micro(r.ConsumedAt), r.Undeliverable)
		if sqliteCode(err) == codeConstraint {
			return roamsign.E(roamsign.ErrConflict, op, "challenge id exists")
		}
		return err
	})
}

// GetChallenge implements [store.Store].
func (s *Store) GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error) {
	const op = "sqlite.GetChallenge"
	if err := s.open(op); err != nil {
		return nil, err
	}
	r, err := scanChallenge(s.r.QueryRowContext(ctx, `SELECT `+challengeCols+` FROM challenges WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "challenge")
	}
	return r, classify(op, err)
}

func (s *Store) execOne(ctx context.Context, op, what, q string, args ...any) error {
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound(op, what)
		}
		return nil
	})
}

// MarkDelivered implements [store.Store].
func (s *Store) MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error {
	const op = "sqlite.MarkDelivered"
	if !ch.Valid() || len(sentTo) > store.MaxTextLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel or destination too long")
	}
	return s.execOne(ctx, op, "challenge", `UPDATE challenges SET channel = ?, sent_to = ? WHERE id = ?`, ch, sentTo, id)
}

// MarkUndeliverable implements [store.Store].
func (s *Store) MarkUndeliverable(ctx context.Context, id string) error {
	return s.execOne(ctx, "sqlite.MarkUndeliverable", "challenge", `UPDATE challenges SET undeliverable = 1 WHERE id = ?`, id)
}

// FailChallenge implements [store.Store].
func (s *Store) FailChallenge(ctx context.Context, id string) (int, error) {
	const op = "sqlite.FailChallenge"
	var tries int
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE challenges SET tries = tries + 1 WHERE id = ? AND consumed = 0 RETURNING tries`, id).Scan(&tries)
		if errors.Is(err, sql.ErrNoRows) {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM challenges WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return notFound(op, "challenge")
			} else if err != nil {
				return err
			}
			return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
		}
		return err
	})
	return tries, err
}

// ConsumeChallenge implements [store.Store].
func (s *Store) ConsumeChallenge(ctx context.Context, id string, now time.Time) error {
	const op = "sqlite.ConsumeChallenge"
	return s.writeTx(ctx, op, func(tx *sql.Tx) error { return consume(ctx, tx, op, id, now) })
}

// consume is the compare-and-set, inside a write transaction.
func consume(ctx context.Context, tx *sql.Tx, op, id string, now time.Time) error {
	r, err := scanChallenge(tx.QueryRowContext(ctx, `SELECT `+challengeCols+` FROM challenges WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "challenge")
	}
	if err != nil {
		return err
	}
	if err := store.ChallengeState(op, r, now); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE challenges SET consumed = 1, consumed_at = ?
		WHERE id = ? AND consumed = 0 AND undeliverable = 0 AND tries < max_tries AND expires_at > ?`,
		store.NormTime(now).UnixMicro(), id, store.NormTime(now).UnixMicro())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	}
	return nil
}

// CountChallenges implements [store.Store].
func (s *Store) CountChallenges(ctx context.Context, user roamsign.UserID, host roamsign.HostID, since time.Time) (int, int, error) {
	const op = "sqlite.CountChallenges"
	if err := s.open(op); err != nil {
		return 0, 0, err
	}
	sinceUS := int64(-1 << 62)
	if !since.IsZero() {
		sinceUS = store.NormTime(since).UnixMicro()
	}
	var byUser, byHost int
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM challenges WHERE user_id = ? AND created_at >= ?),
		(SELECT count(*) FROM challenges WHERE host = ? AND created_at >= ?)`, user, sinceUS, host, sinceUS).Scan(&byUser, &byHost)
	return byUser, byHost, classify(op, err)
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

const userCols = `id, name, hosts, media, email, devices, key_ref, chain, disabled, pin_verifier,
	pin_failures, locked, locked_at, otp_failures, created_at, updated_at`

func scanUser(row scanner) (*roamsign.UserRecord, error) {
	var (
		u                              roamsign.UserRecord
		hosts, media, devices, chain   string
		lockedAt, createdAt, updatedAt sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.Name, &hosts, &media, &u.Email, &devices, &u.KeyRef, &chain, &u.Disabled, &u.PINVerifier,
		&u.PINFailures, &u.Locked, &lockedAt, &u.OTPFailures, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	if u.Hosts, err = c.FromJSON[[]roamsign.HostID](hosts); err != nil {
		return nil, err
	}
	if u.Media, err = c.FromJSON[[]roamsign.MediumKind](media); err != nil {
		return nil, err
	}
	if u.Devices, err = c.FromJSON[[]string](devices); err != nil {
		return nil, err
	}
	if u.Chain, err = c.FromJSON[[][]byte](chain); err != nil {
		return nil, err
	}
	u.LockedAt = c.FromMicro(lockedAt.Int64, lockedAt.Valid)
	u.CreatedAt = c.FromMicro(createdAt.Int64, createdAt.Valid)
	u.UpdatedAt = c.FromMicro(updatedAt.Int64, updatedAt.Valid)
	return &u, nil
}

func userArgs(u *roamsign.UserRecord) []any {
	return []any{u.ID, u.Name, c.JSON(u.Hosts), c.JSON(u.Media), u.Email, c.JSON(u.Devices), u.KeyRef, c.JSON(u.Chain), u.Disabled, u.PINVerifier,
		u.PINFailures, u.Locked, c.Micro(u.LockedAt), u.OTPFailures, c.Micro(u.CreatedAt), c.Micro(u.UpdatedAt)}
}

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u *roamsign.UserRecord) error {
	const op = "sqlite.CreateUser"
	if err := store.ValidateUser(u); err != nil {
		return err
	}
	r := store.CloneUser(u)
	store.NormUser(r)
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, userArgs(r)...)
		if sqliteCode(err) == codeConstraint {
			return roamsign.E(roamsign.ErrConflict, op, "user exists")
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
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "user")
	}
	return u, classify(op, err)
}

// UpdateUser implements [store.Store]. The read, fn and the write happen in
// one write transaction, so fn runs once per attempt and sees the latest
// record.
func (s *Store) UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error {
	const op = "sqlite.UpdateUser"
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "user")
		}
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
		if u.ID != id {
			return roamsign.E(roamsign.ErrInvalidInput, op, "the user id cannot change")
		}
		if err := store.ValidateUser(u); err != nil {
			return err
		}
		store.NormUser(u)
		args := userArgs(u)
		_, err = tx.ExecContext(ctx, `UPDATE users SET name = ?, hosts = ?, media = ?, email = ?, devices = ?, key_ref = ?, chain = ?,
			disabled = ?, pin_verifier = ?, pin_failures = ?, locked = ?, locked_at = ?, otp_failures = ?, created_at = ?, updated_at = ?
			WHERE id = ?`, append(args[1:], id)...)
		return err
	})
}

// ListUsers implements [store.Store].
func (s *Store) ListUsers(ctx context.Context, after roamsign.UserID, limit int) ([]roamsign.UserRecord, error) {
	const op = "sqlite.ListUsers"
	if limit <= 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "limit must be positive")
	}
	if err := s.open(op); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, min(limit, 10000))
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	var out []roamsign.UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, classify(op, err)
		}
		out = append(out, *u)
	}
	return out, classify(op, rows.Err())
}

// AddPINFailure implements [store.Store].
func (s *Store) AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (int, bool, error) {
	const op = "sqlite.AddPINFailure"
	if max <= 0 {
		return 0, false, roamsign.E(roamsign.ErrInvalidInput, op, "max must be positive")
	}
	var (
		n      int
		locked bool
	)
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE users SET
			pin_failures = pin_failures + 1,
			locked_at = CASE WHEN locked = 0 AND pin_failures + 1 >= ?1 THEN ?2 ELSE locked_at END,
			locked = CASE WHEN pin_failures + 1 >= ?1 THEN 1 ELSE locked END
			WHERE id = ?3 RETURNING pin_failures, locked`, max, store.NormTime(now).UnixMicro(), id).Scan(&n, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "user")
		}
		return err
	})
	return n, locked, err
}

// ResetPINFailures implements [store.Store].
func (s *Store) ResetPINFailures(ctx context.Context, id roamsign.UserID) error {
	return s.execOne(ctx, "sqlite.ResetPINFailures", "user", `UPDATE users SET pin_failures = 0, locked = 0, locked_at = NULL WHERE id = ?`, id)
}

// AddOTPFailure implements [store.Store].
func (s *Store) AddOTPFailure(ctx context.Context, id roamsign.UserID) (int, error) {
	const op = "sqlite.AddOTPFailure"
	var n int
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE users SET otp_failures = otp_failures + 1 WHERE id = ? RETURNING otp_failures`, id).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "user")
		}
		return err
	})
	return n, err
}

// ResetOTPFailures implements [store.Store].
func (s *Store) ResetOTPFailures(ctx context.Context, id roamsign.UserID) error {
	return s.execOne(ctx, "sqlite.ResetOTPFailures", "user", `UPDATE users SET otp_failures = 0 WHERE id = ?`, id)
}

const txCols = `id, user_id, host, request_id, challenge_id, hash_list, count, form, state, items, chain, sig_alg, error, created_at, updated_at`

func scanTx(row scanner) (*roamsign.TransactionRecord, error) {
	var (
		t                  roamsign.TransactionRecord
		hl                 []byte
		items, chain       string
		created, updatedAt sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.User, &t.Host, &t.RequestID, &t.ChallengeID, &hl, &t.Count, &t.Form, &t.State, &items, &chain,
		&t.SigAlg, &t.Error, &created, &updatedAt)
	if err != nil {
		return nil, err
	}
	copy(t.HashList[:], hl)
	if t.Items, err = c.FromJSON[c.Items](items); err != nil {
		return nil, err
	}
	if t.Chain, err = c.FromJSON[[][]byte](chain); err != nil {
		return nil, err
	}
	t.CreatedAt = c.FromMicro(created.Int64, created.Valid)
	t.UpdatedAt = c.FromMicro(updatedAt.Int64, updatedAt.Valid)
	return &t, nil
}

// BeginTransaction implements [store.Store].
func (s *Store) BeginTransaction(ctx context.Context, challengeID string, now time.Time, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "sqlite.BeginTransaction"
	if err := store.PrepareBegin(op, challengeID, t, audit); err != nil {
		return err
	}
	r := store.CloneTransaction(t)
	store.NormTransaction(r)
	a := store.CloneAudit(audit)
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if err := consume(ctx, tx, op, challengeID, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO transactions (`+txCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			r.ID, r.User, r.Host, r.RequestID, r.ChallengeID, r.HashList[:], r.Count, r.Form, r.State, c.JSON(r.Items), c.JSON(r.Chain),
			r.SigAlg, r.Error, c.Micro(r.CreatedAt), c.Micro(r.UpdatedAt))
		if sqliteCode(err) == codeConstraint {
			return roamsign.E(roamsign.ErrConflict, op, "transaction id or request id already used")
		}
		if err != nil {
			return err
		}
		return s.appendTx(ctx, tx, a, nil)
	})
	if err == nil {
		*audit = *a
	}
	return err
}

// FinishTransaction implements [store.Store].
func (s *Store) FinishTransaction(ctx context.Context, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	const op = "sqlite.FinishTransaction"
	if err := store.PrepareFinish(op, t, audit); err != nil {
		return err
	}
	r := store.CloneTransaction(t)
	store.NormTransaction(r)
	a := store.CloneAudit(audit)
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE transactions SET state = ?, items = ?, chain = ?, sig_alg = ?, error = ?, updated_at = ?
			WHERE id = ? AND state = ?`, r.State, c.JSON(r.Items), c.JSON(r.Chain), r.SigAlg, r.Error, c.Micro(r.UpdatedAt), r.ID, roamsign.TxPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM transactions WHERE id = ?`, r.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return notFound(op, "transaction")
			} else if err != nil {
				return err
			}
			return roamsign.E(roamsign.ErrConflict, op, "transaction is not pending")
		}
		return s.appendTx(ctx, tx, a, nil)
	})
	if err == nil {
		*audit = *a
	}
	return err
}

// GetTransaction implements [store.Store].
func (s *Store) GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error) {
	const op = "sqlite.GetTransaction"
	if err := s.open(op); err != nil {
		return nil, err
	}
	t, err := scanTx(s.r.QueryRowContext(ctx, `SELECT `+txCols+` FROM transactions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "transaction")
	}
	return t, classify(op, err)
}

// GetTransactionByRequest implements [store.Store].
func (s *Store) GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error) {
	const op = "sqlite.GetTransactionByRequest"
	if err := s.open(op); err != nil {
		return nil, err
	}
	t, err := scanTx(s.r.QueryRowContext(ctx, `SELECT `+txCols+` FROM transactions WHERE host = ? AND request_id = ?`, host, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "transaction")
	}
	return t, classify(op, err)
}

// ExpireTransactions implements [store.Store].
func (s *Store) ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (int, int, error) {
	const op = "sqlite.ExpireTransactions"
	var failed, deleted int64
	now := store.NormTime(s.now()).UnixMicro()
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE transactions SET state = ?, error = ?, updated_at = ? WHERE state = ? AND created_at < ?`,
			roamsign.TxFailed, roamsign.ErrExpired.Code(), now, roamsign.TxPending, store.NormTime(pendingBefore).UnixMicro())
		if err != nil {
			return err
		}
		if failed, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM transactions WHERE state <> ? AND updated_at < ?`,
			roamsign.TxPending, store.NormTime(deleteBefore).UnixMicro())
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	return int(failed), int(deleted), err
}

// appendTx appends a to the chain inside tx. When mk is set it builds the
// record from the chain head instead (checkpoints).
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, a *roamsign.AuditRecord, mk func(int64, []byte) (*roamsign.AuditRecord, error)) error {
	var (
		seq  int64
		hash []byte
	)
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return err
	}
	if mk != nil {
		rec, err := mk(seq, hash)
		if err != nil {
			return err
		}
		*a = *rec
	}
	store.ChainAudit(a, seq, hash, s.now())
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, time, event, user_id, host, data_header, hash_list, count, cert_serial,
		channel, outcome, transaction_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.Seq, a.Time.UnixMicro(), a.Event, a.User, a.Host, a.DataHeader, a.HashList, a.Count, a.CertSerial,
		a.Channel, a.Outcome, a.TransactionID, a.Detail, a.PrevHash, a.Hash); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ?`, a.Seq, a.Hash, seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return roamsign.E(roamsign.ErrInternal, "sqlite.AppendAudit", "audit chain head moved during append")
	}
	return nil
}

// AppendAudit implements [store.Store].
func (s *Store) AppendAudit(ctx context.Context, audit *roamsign.AuditRecord) error {
	const op = "sqlite.AppendAudit"
	if err := store.ValidateAudit(audit); err != nil {
		return err
	}
	a := store.CloneAudit(audit)
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		*a = *store.CloneAudit(audit)
		return s.appendTx(ctx, tx, a, nil)
	})
	if err == nil {
		*audit = *a
	}
	return err
}

// AppendCheckpoint implements [store.Store]. The signature is made inside
// the append transaction, over the head the checkpoint links to.
func (s *Store) AppendCheckpoint(ctx context.Context, cp store.Checkpoint) (*roamsign.AuditRecord, error) {
	const op = "sqlite.AppendCheckpoint"
	if cp.Signer == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no signer")
	}
	a := &roamsign.AuditRecord{}
	err := s.writeTx(ctx, op, func(tx *sql.Tx) error {
		return s.appendTx(ctx, tx, a, func(seq int64, hash []byte) (*roamsign.AuditRecord, error) {
			return store.CheckpointRecord(cp, seq, hash)
		})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ScanAudit implements [store.Store]. It streams rows from one read
// transaction (a consistent snapshot) and reuses buffers between calls.
func (s *Store) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	const op = "sqlite.ScanAudit"
	if err := s.open(op); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, time, event, user_id, host, data_header, hash_list, count, cert_serial,
		channel, outcome, transaction_id, detail, prev_hash, hash FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return classify(op, err)
	}
	defer rows.Close()
	var (
		a  roamsign.AuditRecord
		tm int64
	)
	for rows.Next() {
		a.HashList, a.PrevHash, a.Hash = a.HashList[:0], a.PrevHash[:0], a.Hash[:0]
		if err := rows.Scan(&a.Seq, &tm, &a.Event, &a.User, &a.Host, &a.DataHeader, &a.HashList, &a.Count, &a.CertSerial,
			&a.Channel, &a.Outcome, &a.TransactionID, &a.Detail, &a.PrevHash, &a.Hash); err != nil {
			return classify(op, err)
		}
		a.Time = c.FromMicro(tm, true)
		if len(a.HashList) == 0 {
			a.HashList = nil
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
	var (
		seq  int64
		hash []byte
	)
	err := s.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	return seq, bytes.Clone(hash), classify(op, err)
}

// AdvanceStep implements [store.OTPStepStore] with one conditional upsert.
func (s *Store) AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error) {
	const op = "sqlite.AdvanceStep"
	if user == "" || len(user) > store.MaxIDLen {
		return false, roamsign.E(roamsign.ErrInvalidInput, op, "user id missing or too long")
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

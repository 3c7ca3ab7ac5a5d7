package sqlcodec

import (
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// Scanner is one result row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all
// satisfy it.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result set being read: *sql.Rows and pgx.Rows satisfy it.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Times maps times to and from one backend's time columns. N is what a
// nullable time column scans into (sql.NullInt64, *time.Time).
type Times[N any] struct {
	// Null encodes a nullable column: nil (NULL) for the zero time.
	Null func(time.Time) any
	// Req encodes a NOT NULL column.
	Req func(time.Time) any
	// From decodes a scanned value as UTC; the zero time for NULL.
	From func(N) time.Time
}

// The column lists, in the order the scan and argument functions use.
const (
	ChallengeCols = `id, user_id, host, nonce, mac, hash_list, count, data_header, channel, sent_to,
	created_at, expires_at, tries, max_tries, consumed, consumed_at, undeliverable, key_ref, seal, epoch`
	UserCols = `id, name, hosts, media, email, devices, key_ref, chain, disabled, pin_verifier,
	pin_failures, locked, locked_at, created_at, updated_at, seal, epoch`
	TxCols         = `id, user_id, host, request_id, challenge_id, hash_list, count, form, state, items, chain, sig_alg, error, created_at, updated_at, seal, epoch`
	OTPBackoffCols = `user_id, host, failures, blocked_until, updated_at`
	AuditCols      = `seq, time, event, user_id, host, data_header, hash_list, count, cert_serial,
	channel, outcome, transaction_id, detail, prev_hash, hash`
)

// NonNil returns b, or an empty slice for nil (NOT NULL blob columns).
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ScanChallenge reads a row of [ChallengeCols] and its seal into rs.
func ScanChallenge[N any](row Scanner, t Times[N], rs *store.RowSeal) (*roamsign.ChallengeRecord, error) {
	var (
		r                            roamsign.ChallengeRecord
		hl                           []byte
		created, expires, consumedAt N
	)
	err := row.Scan(&r.ID, &r.User, &r.Host, &r.Nonce, &r.MAC, &hl, &r.Count, &r.DataHeader, &r.Channel, &r.SentTo,
		&created, &expires, &r.Tries, &r.MaxTries, &r.Consumed, &consumedAt, &r.Undeliverable, &r.KeyRef, &rs.MAC, &rs.Epoch)
	if err != nil {
		return nil, err
	}
	copy(r.HashList[:], hl)
	r.CreatedAt, r.ExpiresAt, r.ConsumedAt = t.From(created), t.From(expires), t.From(consumedAt)
	return &r, nil
}

// ChallengeArgs are the arguments for [ChallengeCols] of a normalised r
// sealed with rs.
func ChallengeArgs[N any](r *roamsign.ChallengeRecord, t Times[N], rs store.RowSeal) []any {
	return []any{r.ID, r.User, r.Host, NonNil(r.Nonce), NonNil(r.MAC), r.HashList[:], r.Count, r.DataHeader, r.Channel, r.SentTo,
		t.Null(r.CreatedAt), t.Req(r.ExpiresAt), r.Tries, r.MaxTries, r.Consumed, t.Null(r.ConsumedAt), r.Undeliverable, r.KeyRef, rs.MAC, rs.Epoch}
}

// ScanUser reads a row of [UserCols] and its seal into rs.
func ScanUser[N any](row Scanner, t Times[N], rs *store.RowSeal) (*roamsign.UserRecord, error) {
	var (
		u                              roamsign.UserRecord
		hosts, media, devices, chain   string
		lockedAt, createdAt, updatedAt N
	)
	err := row.Scan(&u.ID, &u.Name, &hosts, &media, &u.Email, &devices, &u.KeyRef, &chain, &u.Disabled, &u.PINVerifier,
		&u.PINFailures, &u.Locked, &lockedAt, &createdAt, &updatedAt, &rs.MAC, &rs.Epoch)
	if err != nil {
		return nil, err
	}
	if u.Hosts, err = FromJSON[[]roamsign.HostID](hosts); err != nil {
		return nil, err
	}
	if u.Media, err = FromJSON[[]roamsign.MediumKind](media); err != nil {
		return nil, err
	}
	if u.Devices, err = FromJSON[[]string](devices); err != nil {
		return nil, err
	}
	if u.Chain, err = FromJSON[[][]byte](chain); err != nil {
		return nil, err
	}
	u.LockedAt, u.CreatedAt, u.UpdatedAt = t.From(lockedAt), t.From(createdAt), t.From(updatedAt)
	return &u, nil
}

// UserArgs are the arguments for [UserCols] of a normalised u sealed with
// rs.
func UserArgs[N any](u *roamsign.UserRecord, t Times[N], rs store.RowSeal) []any {
	return []any{u.ID, u.Name, JSON(u.Hosts), JSON(u.Media), u.Email, JSON(u.Devices), u.KeyRef, JSON(u.Chain), u.Disabled, u.PINVerifier,
		u.PINFailures, u.Locked, t.Null(u.LockedAt), t.Null(u.CreatedAt), t.Null(u.UpdatedAt), rs.MAC, rs.Epoch}
}

// CollectUsers reads every row of [UserCols] from rows, calling check on
// each with its seal. The caller closes rows.
func CollectUsers[N any](rows Rows, t Times[N], check func(*roamsign.UserRecord, store.RowSeal) error) ([]roamsign.UserRecord, error) {
	var out []roamsign.UserRecord
	for rows.Next() {
		var rs store.RowSeal
		u, err := ScanUser(rows, t, &rs)
		if err != nil {
			return nil, err
		}
		if err := check(u, rs); err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// ScanTx reads a row of [TxCols] and its seal into rs.
func ScanTx[N any](row Scanner, t Times[N], rs *store.RowSeal) (*roamsign.TransactionRecord, error) {
	var (
		r                  roamsign.TransactionRecord
		hl                 []byte
		items, chain       string
		created, updatedAt N
	)
	err := row.Scan(&r.ID, &r.User, &r.Host, &r.RequestID, &r.ChallengeID, &hl, &r.Count, &r.Form, &r.State, &items, &chain,
		&r.SigAlg, &r.Error, &created, &updatedAt, &rs.MAC, &rs.Epoch)
	if err != nil {
		return nil, err
	}
	copy(r.HashList[:], hl)
	if r.Items, err = FromJSON[Items](items); err != nil {
		return nil, err
	}
	if r.Chain, err = FromJSON[[][]byte](chain); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = t.From(created), t.From(updatedAt)
	return &r, nil
}

// TxArgs are the arguments for [TxCols] of a normalised r sealed with rs.
func TxArgs[N any](r *roamsign.TransactionRecord, t Times[N], rs store.RowSeal) []any {
	return []any{r.ID, r.User, r.Host, r.RequestID, r.ChallengeID, r.HashList[:], r.Count, r.Form, r.State, JSON(r.Items), JSON(r.Chain),
		r.SigAlg, r.Error, t.Null(r.CreatedAt), t.Null(r.UpdatedAt), rs.MAC, rs.Epoch}
}

// ScanAudit reads a row of [AuditCols] into a, reusing its buffers.
func ScanAudit[N any](row Scanner, a *roamsign.AuditRecord, t Times[N]) error {
	var tm N
	a.HashList, a.PrevHash, a.Hash = a.HashList[:0], a.PrevHash[:0], a.Hash[:0]
	if err := row.Scan(&a.Seq, &tm, &a.Event, &a.User, &a.Host, &a.DataHeader, &a.HashList, &a.Count, &a.CertSerial,
		&a.Channel, &a.Outcome, &a.TransactionID, &a.Detail, &a.PrevHash, &a.Hash); err != nil {
		return err
	}
	a.Time = t.From(tm)
	if len(a.HashList) == 0 {
		a.HashList = nil
	}
	return nil
}

// AuditArgs are the arguments for [AuditCols] of a chained record.
func AuditArgs[N any](a *roamsign.AuditRecord, t Times[N]) []any {
	return []any{a.Seq, t.Req(a.Time), a.Event, a.User, a.Host, a.DataHeader, a.HashList, a.Count, a.CertSerial,
		a.Channel, a.Outcome, a.TransactionID, a.Detail, a.PrevHash, a.Hash}
}

// ScanOTPBackoff reads a row of [OTPBackoffCols].
func ScanOTPBackoff[N any](row Scanner, t Times[N]) (*roamsign.OTPBackoffRecord, error) {
	var (
		r              roamsign.OTPBackoffRecord
		until, updated N
	)
	if err := row.Scan(&r.User, &r.Host, &r.Failures, &until, &updated); err != nil {
		return nil, err
	}
	r.Until, r.UpdatedAt = t.From(until), t.From(updated)
	return &r, nil
}

// OTPBackoffArgs are the arguments for [OTPBackoffCols] of a normalised r.
func OTPBackoffArgs[N any](r *roamsign.OTPBackoffRecord, t Times[N]) []any {
	return []any{r.User, r.Host, r.Failures, t.Null(r.Until), t.Req(r.UpdatedAt)}
}

// CollectOTPBackoff reads every row of [OTPBackoffCols] from rows. The
// caller closes rows.
func CollectOTPBackoff[N any](rows Rows, t Times[N]) ([]roamsign.OTPBackoffRecord, error) {
	var out []roamsign.OTPBackoffRecord
	for rows.Next() {
		r, err := ScanOTPBackoff(rows, t)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

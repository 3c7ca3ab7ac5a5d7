package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/roamsign/roamsign"
)

// RowKey computes HMAC-SHA-256 under the row-integrity key, a secret key
// held in the key store (an HSM in production): hsm.MACKey satisfies it.
// It is a key of its own, never the OTP MAC key or the PIN pepper.
type RowKey interface {
	MAC(ctx context.Context, data []byte) ([]byte, error)
}

// RowSeal is what a backend stores beside a sealed row: the MAC over the
// row's canonical encoding, and the row's epoch, the number of sealed writes
// it has had (covered by the MAC, one more on every write).
type RowSeal struct {
	MAC   []byte
	Epoch int64
}

// ErrTampered marks an error for a stored row whose seal is missing or does
// not verify: the row was written by someone without the row key (a
// database writer), or restored from an older state that a later one
// contradicts. Such an error has kind [roamsign.ErrUnavailable]; the row is
// never used.
var ErrTampered = errors.New("row failed its integrity check")

// TamperedError says which row failed its integrity check, and why. It
// never holds row contents.
type TamperedError struct {
	Table  string          // "users", "challenges" or "transactions"
	ID     string          // the row's id
	User   roamsign.UserID // the row's user, when known
	Reason string          // "missing seal", "seal does not verify", …
}

func (e *TamperedError) Error() string {
	return e.Table + " row failed its integrity check: " + e.Reason
}

// Unwrap makes errors.Is(err, ErrTampered) hold.
func (e *TamperedError) Unwrap() error { return ErrTampered }

// Sealer seals the security-relevant rows a backend writes (users,
// challenges, transactions) and checks them when it reads them. A backend
// with a Sealer refuses a row whose seal is missing or wrong; a nil *Sealer
// seals nothing and checks nothing (a store without a row key, for example
// in tests or before an upgrade is sealed).
//
// The seal is HMAC-SHA-256 under a [RowKey] over a canonical encoding of
// the row: a version label and the table name, then every field that
// matters to security (see [Sealer.CheckUser], [Sealer.CheckChallenge],
// [Sealer.CheckTransaction]) each preceded by its length, and the row's
// epoch.
type Sealer struct {
	key RowKey
	log *slog.Logger
}

// NewSealer returns a Sealer using key; alarms go to log (slog.Default when
// nil).
func NewSealer(key RowKey, log *slog.Logger) (*Sealer, error) {
	if key == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "store.NewSealer", "no row key")
	}
	if log == nil {
		log = slog.Default()
	}
	return &Sealer{key: key, log: log}, nil
}

// rowSealLabel versions the canonical encoding: a change of encoding
// changes the label.
const rowSealLabel = "roamsign/row-seal/v1"

// rowEnc is the canonical, length-prefixed encoding of a row.
type rowEnc struct{ b []byte }

func newRowEnc(table string) *rowEnc {
	e := &rowEnc{b: make([]byte, 0, 512)}
	e.bytes([]byte(rowSealLabel))
	e.str(table)
	return e
}

func (e *rowEnc) bytes(b []byte) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(b)))
	e.b = append(e.b, b...)
}

func (e *rowEnc) str(s string) { e.bytes([]byte(s)) }

func (e *rowEnc) int(n int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	e.bytes(b[:])
}

func (e *rowEnc) bool(v bool) {
	if v {
		e.bytes([]byte{1})
	} else {
		e.bytes([]byte{0})
	}
}

// time encodes t at the stores' precision (UTC microseconds); the zero
// time is the empty field.
func (e *rowEnc) time(t time.Time) {
	if t.IsZero() {
		e.bytes(nil)
		return
	}
	e.int(NormTime(t).UnixMicro())
}

func encList[T ~string](e *rowEnc, l []T) {
	e.int(int64(len(l)))
	for _, s := range l {
		e.str(string(s))
	}
}

// digest is SHA-256 over a list of blobs, each length-prefixed.
func digest(bs [][]byte) []byte {
	d := &rowEnc{}
	d.int(int64(len(bs)))
	for _, b := range bs {
		d.bytes(b)
	}
	sum := sha256.Sum256(d.b)
	return sum[:]
}

func encodeUser(u *roamsign.UserRecord, epoch int64) []byte {
	e := newRowEnc("users")
	e.str(string(u.ID))
	e.str(u.Name)
	encList(e, u.Hosts)
	encList(e, u.Media)
	e.str(u.Email)
	encList(e, u.Devices)
	e.str(u.KeyRef)
	e.bytes(digest(u.Chain))
	e.bool(u.Disabled)
	e.bytes(u.PINVerifier)
	e.int(int64(u.PINFailures))
	e.bool(u.Locked)
	e.time(u.LockedAt)
	e.time(u.CreatedAt)
	e.int(epoch)
	return e.b
}

func encodeChallenge(c *roamsign.ChallengeRecord, epoch int64) []byte {
	e := newRowEnc("challenges")
	e.str(c.ID)
	e.str(string(c.User))
	e.str(string(c.Host))
	e.str(c.KeyRef)
	e.bytes(c.Nonce)
	e.bytes(c.MAC)
	e.bytes(c.HashList[:])
	e.int(int64(c.Count))
	e.str(c.DataHeader)
	e.str(string(c.Channel))
	e.str(c.SentTo)
	e.time(c.CreatedAt)
	e.time(c.ExpiresAt)
	e.int(int64(c.Tries))
	e.int(int64(c.MaxTries))
	e.bool(c.Consumed)
	e.time(c.ConsumedAt)
	e.bool(c.Undeliverable)
	e.int(epoch)
	return e.b
}

func encodeTransaction(t *roamsign.TransactionRecord, epoch int64) []byte {
	e := newRowEnc("transactions")
	e.str(t.ID)
	e.str(string(t.User))
	e.str(string(t.Host))
	e.str(t.RequestID)
	e.str(t.ChallengeID)
	e.bytes(t.HashList[:])
	e.int(int64(t.Count))
	e.str(string(t.Form))
	e.str(string(t.State))
	items := &rowEnc{}
	items.int(int64(len(t.Items)))
	for _, it := range t.Items {
		items.int(int64(it.Index))
		items.str(string(it.Status))
		items.bytes(it.Signature)
		items.str(it.Error)
	}
	sum := sha256.Sum256(items.b)
	e.bytes(sum[:])
	e.bytes(digest(t.Chain))
	e.str(t.SigAlg)
	e.str(t.Error)
	e.time(t.CreatedAt)
	e.int(epoch)
	return e.b
}

// seal MACs a row's encoding for the given epoch.
func (s *Sealer) seal(ctx context.Context, enc []byte, epoch int64) (RowSeal, error) {
	if s == nil {
		return RowSeal{Epoch: epoch}, nil
	}
	m, err := s.key.MAC(ctx, enc)
	if err != nil {
		return RowSeal{}, roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), "store.Seal", err, "row key MAC failed")
	}
	return RowSeal{MAC: m, Epoch: epoch}, nil
}

// check verifies a row's stored seal in constant time.
func (s *Sealer) check(ctx context.Context, op string, enc []byte, rs RowSeal, te *TamperedError) error {
	if s == nil {
		return nil
	}
	if len(rs.MAC) == 0 {
		te.Reason = "missing seal (run the sealing step after an upgrade)"
		return roamsign.Wrap(roamsign.ErrUnavailable, op, te, "")
	}
	m, err := s.key.MAC(ctx, enc)
	if err != nil {
		return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "row key MAC failed")
	}
	if !hmac.Equal(m, rs.MAC) {
		te.Reason = "seal does not verify"
		return roamsign.Wrap(roamsign.ErrUnavailable, op, te, "")
	}
	return nil
}

// SealUser seals u (normalised, as it will be stored) for epoch.
func (s *Sealer) SealUser(ctx context.Context, u *roamsign.UserRecord, epoch int64) (RowSeal, error) {
	return s.seal(ctx, encodeUser(u, epoch), epoch)
}

// CheckUser verifies the seal of a stored user: id, name, hosts, media,
// e-mail, devices, key reference, certificate chain digest, disabled, PIN
// verifier, PIN failures, lock state and time, creation time and epoch.
func (s *Sealer) CheckUser(ctx context.Context, op string, u *roamsign.UserRecord, rs RowSeal) error {
	return s.check(ctx, op, encodeUser(u, rs.Epoch), rs, &TamperedError{Table: "users", ID: string(u.ID), User: u.ID})
}

// SealChallenge seals c (normalised) for epoch.
func (s *Sealer) SealChallenge(ctx context.Context, c *roamsign.ChallengeRecord, epoch int64) (RowSeal, error) {
	return s.seal(ctx, encodeChallenge(c, epoch), epoch)
}

// CheckChallenge verifies the seal of a stored challenge: id, user, host,
// key reference, nonce, OTP MAC, hash-list digest, count, data header,
// channel and destination, creation and expiry, tries and their maximum,
// consumption and delivery state, and epoch.
func (s *Sealer) CheckChallenge(ctx context.Context, op string, c *roamsign.ChallengeRecord, rs RowSeal) error {
	return s.check(ctx, op, encodeChallenge(c, rs.Epoch), rs, &TamperedError{Table: "challenges", ID: c.ID, User: c.User})
}

// SealTransaction seals t (normalised) for epoch.
func (s *Sealer) SealTransaction(ctx context.Context, t *roamsign.TransactionRecord, epoch int64) (RowSeal, error) {
	return s.seal(ctx, encodeTransaction(t, epoch), epoch)
}

// CheckTransaction verifies the seal of a stored transaction: id, user,
// host, request id, challenge, hash-list digest, count, form, state, a
// digest of the items and of the chain, algorithm, error, creation time
// and epoch.
func (s *Sealer) CheckTransaction(ctx context.Context, op string, t *roamsign.TransactionRecord, rs RowSeal) error {
	return s.check(ctx, op, encodeTransaction(t, rs.Epoch), rs, &TamperedError{Table: "transactions", ID: t.ID, User: t.User})
}

// Reopened is the error for a challenge that claims not to be consumed
// although a transaction was recorded under it: an older copy of the row,
// sealed when it was still open, was put back.
func Reopened(op string, c *roamsign.ChallengeRecord) error {
	te := &TamperedError{Table: "challenges", ID: c.ID, User: c.User, Reason: "consumed challenge restored as open (a transaction names it)"}
	return roamsign.Wrap(roamsign.ErrUnavailable, op, te, "")
}

// SealCount counts rows by table: those a sealing run sealed.
type SealCount struct {
	Users, Challenges, Transactions int
}

// SealedAudit is the audit record of a sealing run that sealed n rows.
func SealedAudit(n SealCount) *roamsign.AuditRecord {
	return &roamsign.AuditRecord{
		Event: roamsign.AuditSealed, Outcome: "ok",
		Detail: "sealed rows stored without a seal: users=" + strconv.Itoa(n.Users) + " challenges=" + strconv.Itoa(n.Challenges) +
			" transactions=" + strconv.Itoa(n.Transactions),
	}
}

// RowSealing is what a sealed backend (store/sqlite, store/postgres)
// offers besides [Store].
type RowSealing interface {
	// SetSealer makes the store seal the rows it writes and refuse rows
	// whose seal is missing or wrong. Call it once, before the store is
	// used (the row key is provisioned under the store's own lock, so it
	// exists only after the store is open).
	SetSealer(k *Sealer)
	// SealUnsealed seals, as they are, the rows stored without a seal
	// (written before the store sealed rows), and appends one audit record
	// ([roamsign.AuditSealed]) with the counts. It is the operator's
	// explicit upgrade step: run it once, after checking that the database
	// was not written by anyone else since the last trusted state.
	SealUnsealed(ctx context.Context) (SealCount, error)
}

// AuditAppender is what [Sealer.Report] records to.
type AuditAppender interface {
	AppendAudit(ctx context.Context, a *roamsign.AuditRecord) error
}

// Report raises the alarm for err when it is an [ErrTampered] error: an
// error-level log entry naming the table and row (never its contents) and
// an audit record (event [roamsign.AuditTampered]) appended to log. It
// returns err unchanged, so a backend may write `return s.Report(ctx, st,
// err)`. Other errors pass through untouched.
func (s *Sealer) Report(ctx context.Context, log AuditAppender, err error) error {
	var te *TamperedError
	if s == nil || !errors.As(err, &te) {
		return err
	}
	s.log.ErrorContext(ctx, "ALARM: stored row refused: integrity check failed",
		"table", te.Table, "row", maskedRow(te), "reason", te.Reason)
	a := &roamsign.AuditRecord{
		Event: roamsign.AuditTampered, User: te.User, Outcome: roamsign.ErrUnavailable.Code(),
		Detail: te.Table + " row " + maskedRow(te) + ": " + te.Reason,
	}
	if aerr := log.AppendAudit(context.WithoutCancel(ctx), a); aerr != nil {
		s.log.ErrorContext(ctx, "ALARM: recording a refused row in the audit log failed", "kind", roamsign.KindOf(aerr).Code())
	}
	return err
}

// maskedRow names a row for logs: a user's id is masked.
func maskedRow(te *TamperedError) string {
	if te.Table == "users" {
		return roamsign.UserID(te.ID).Masked()
	}
	return te.ID
}

// kindOr returns err's kind, or def when it has none.
func kindOr(err error, def roamsign.Kind) roamsign.Kind {
	if k := roamsign.KindOf(err); k != roamsign.KindUnknown {
		return k
	}
	return def
}

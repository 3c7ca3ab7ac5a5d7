package store

import (
	"github.com/roamsign/roamsign"
)

// Limits on stored records; a record beyond them is rejected with
// [roamsign.ErrInvalidInput] and nothing is stored.
const (
	MaxIDLen    = 256      // challenge, transaction, request, user and host ids
	MaxTextLen  = 4096     // names, data headers, destinations, error texts
	MaxBlobLen  = 1 << 20  // any one byte field (certificate, signature)
	MaxListLen  = 10000    // entries of any list (hosts, media, devices, items, chain)
	MaxRecordSz = 64 << 20 // total bytes of byte fields in one record
)

func tooLong(op, what string) error {
	return roamsign.E(roamsign.ErrInvalidInput, op, "%s missing or too long", what)
}

func checkID(op, what, s string) error {
	if s == "" || len(s) > MaxIDLen {
		return tooLong(op, what)
	}
	return nil
}

func checkText(op, what, s string) error {
	if len(s) > MaxTextLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "%s too long", what)
	}
	return nil
}

func checkBlobs(op, what string, bs [][]byte) error {
	if len(bs) > MaxListLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "too many entries in %s", what)
	}
	total := 0
	for _, b := range bs {
		if len(b) > MaxBlobLen {
			return roamsign.E(roamsign.ErrInvalidInput, op, "%s entry too large", what)
		}
		total += len(b)
	}
	if total > MaxRecordSz {
		return roamsign.E(roamsign.ErrInvalidInput, op, "%s too large", what)
	}
	return nil
}

// ValidateChallenge checks a challenge before it is created.
func ValidateChallenge(c *roamsign.ChallengeRecord) error {
	const op = "store.CreateChallenge"
	if c == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nil challenge")
	}
	for _, f := range []struct{ what, v string }{{"challenge id", c.ID}, {"user", string(c.User)}, {"host", string(c.Host)}} {
		if err := checkID(op, f.what, f.v); err != nil {
			return err
		}
	}
	if len(c.Nonce) > 1024 || len(c.MAC) > 1024 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nonce or MAC too long")
	}
	if err := checkText(op, "data header", c.DataHeader); err != nil {
		return err
	}
	if err := checkText(op, "destination", c.SentTo); err != nil {
		return err
	}
	if err := checkText(op, "key reference", c.KeyRef); err != nil {
		return err
	}
	if c.Channel != "" && !c.Channel.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel")
	}
	if c.ExpiresAt.IsZero() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no expiry")
	}
	if c.MaxTries <= 0 || c.Tries < 0 || c.Tries > c.MaxTries || c.Count < 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "max tries must be positive, tries between 0 and max tries, count not negative")
	}
	return nil
}

// ValidateUser checks a user record before it is written.
func ValidateUser(u *roamsign.UserRecord) error {
	const op = "store.User"
	if u == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nil user")
	}
	if err := checkID(op, "user id", string(u.ID)); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{{"name", u.Name}, {"e-mail", u.Email}, {"key reference", u.KeyRef}} {
		if err := checkText(op, f.what, f.v); err != nil {
			return err
		}
	}
	if len(u.Hosts) > MaxListLen || len(u.Media) > MaxListLen || len(u.Devices) > MaxListLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "too many hosts, media or devices")
	}
	for _, h := range u.Hosts {
		if err := checkID(op, "host", string(h)); err != nil {
			return err
		}
	}
	for _, d := range u.Devices {
		if err := checkID(op, "device", d); err != nil {
			return err
		}
	}
	for _, m := range u.Media {
		if err := checkID(op, "medium", string(m)); err != nil {
			return err
		}
	}
	if err := checkBlobs(op, "certificate chain", u.Chain); err != nil {
		return err
	}
	if len(u.PINVerifier) > 1024 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN verifier too long")
	}
	if u.PINFailures < 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "negative failure count")
	}
	return nil
}

// ValidateTransaction checks a transaction record before it is written.
func ValidateTransaction(tx *roamsign.TransactionRecord) error {
	const op = "store.Transaction"
	if tx == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nil transaction")
	}
	for _, f := range []struct{ what, v string }{{"transaction id", tx.ID}, {"user", string(tx.User)}, {"host", string(tx.Host)}, {"request id", tx.RequestID}} {
		if err := checkID(op, f.what, f.v); err != nil {
			return err
		}
	}
	if len(tx.ChallengeID) > MaxIDLen {
		return tooLong(op, "challenge id")
	}
	switch tx.State {
	case roamsign.TxPending, roamsign.TxSigned, roamsign.TxFailed, roamsign.TxExpired:
	default:
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown transaction state")
	}
	if tx.Count < 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "negative count")
	}
	for _, f := range []struct{ what, v string }{{"form", string(tx.Form)}, {"signature algorithm", tx.SigAlg}, {"error", tx.Error}} {
		if err := checkText(op, f.what, f.v); err != nil {
			return err
		}
	}
	if len(tx.Items) > MaxListLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "too many items")
	}
	sigs := make([][]byte, 0, len(tx.Items))
	for _, it := range tx.Items {
		sigs = append(sigs, it.Signature)
		if len(it.Error) > MaxTextLen {
			return roamsign.E(roamsign.ErrInvalidInput, op, "item error too long")
		}
	}
	if err := checkBlobs(op, "signatures", sigs); err != nil {
		return err
	}
	return checkBlobs(op, "certificate chain", tx.Chain)
}

// PrepareBegin validates the arguments of BeginTransaction, defaulting
// tx.State to pending and tx.ChallengeID to challengeID.
func PrepareBegin(op, challengeID string, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	if tx != nil && tx.State == "" {
		tx.State = roamsign.TxPending
	}
	if tx != nil && tx.ChallengeID == "" {
		tx.ChallengeID = challengeID
	}
	if err := ValidateTransaction(tx); err != nil {
		return err
	}
	if tx.State != roamsign.TxPending || tx.ChallengeID != challengeID {
		return roamsign.E(roamsign.ErrInvalidInput, op, "a new transaction must be pending and name its challenge")
	}
	return ValidateAudit(audit)
}

// PrepareFinish validates the arguments of FinishTransaction.
func PrepareFinish(op string, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error {
	if err := ValidateTransaction(tx); err != nil {
		return err
	}
	if tx.State != roamsign.TxSigned && tx.State != roamsign.TxFailed {
		return roamsign.E(roamsign.ErrInvalidInput, op, "a finished transaction is signed or failed")
	}
	return ValidateAudit(audit)
}

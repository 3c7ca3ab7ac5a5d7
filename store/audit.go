package store

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// HashSize is the size of an audit record hash (SHA-256).
const HashSize = sha256.Size

// Limits on audit record fields; a record beyond them is rejected with
// [roamsign.ErrInvalidInput].
const (
	MaxAuditDetail = 4096 // bytes of Detail
	MaxAuditField  = 1024 // bytes of any other text field
	MaxAuditHash   = 64   // bytes of HashList
)

// ZeroHash is the PrevHash of the first audit record: 32 zero bytes.
func ZeroHash() []byte { return make([]byte, HashSize) }

const auditDomain = "roamsign/audit/v1"

// AuditHash returns SHA-256 over the canonical encoding of a: a domain tag,
// then every field in declaration order (Seq, Time as UTC microseconds since
// the Unix epoch, Event, User, Host, DataHeader, HashList, Count,
// CertSerial, Channel, Outcome, TransactionID, Detail, PrevHash), integers
// as 8-byte big-endian and every text or byte field prefixed with its
// 4-byte big-endian length, so that no two different records share an
// encoding. The Hash field itself is not covered.
func AuditHash(a *roamsign.AuditRecord) []byte {
	h := sha256.New()
	var num [8]byte
	putInt := func(v int64) {
		binary.BigEndian.PutUint64(num[:], uint64(v))
		h.Write(num[:])
	}
	putBytes := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	putString := func(s string) { putBytes([]byte(s)) }
	putString(auditDomain)
	putInt(a.Seq)
	if a.Time.IsZero() {
		putInt(0)
	} else {
		putInt(a.Time.UnixMicro())
	}
	putString(string(a.Event))
	putString(string(a.User))
	putString(string(a.Host))
	putString(a.DataHeader)
	putBytes(a.HashList)
	putInt(int64(a.Count))
	putString(a.CertSerial)
	putString(string(a.Channel))
	putString(a.Outcome)
	putString(a.TransactionID)
	putString(a.Detail)
	putBytes(a.PrevHash)
	return h.Sum(nil)
}

// NormTime returns t in UTC truncated to the microsecond, the form in which
// every backend stores times. The zero time stays zero.
func NormTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ValidateAudit checks an audit record before it is appended.
func ValidateAudit(a *roamsign.AuditRecord) error {
	const op = "store.AppendAudit"
	if a == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nil audit record")
	}
	if a.Event == "" || len(a.Event) > 64 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "audit event missing or too long")
	}
	if len(a.Detail) > MaxAuditDetail {
		return roamsign.E(roamsign.ErrInvalidInput, op, "audit detail longer than %d bytes", MaxAuditDetail)
	}
	if len(a.HashList) > MaxAuditHash {
		return roamsign.E(roamsign.ErrInvalidInput, op, "audit hash list digest longer than %d bytes", MaxAuditHash)
	}
	if a.Count < 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "negative count")
	}
	for _, s := range []string{string(a.User), string(a.Host), a.DataHeader, a.CertSerial, string(a.Channel), a.Outcome, a.TransactionID} {
		if len(s) > MaxAuditField {
			return roamsign.E(roamsign.ErrInvalidInput, op, "audit field longer than %d bytes", MaxAuditField)
		}
	}
	return nil
}

// ChainAudit fills in the chain fields of a for appending after the record
// (prevSeq, prevHash) — (0, nil) for an empty log: Seq, PrevHash, the
// normalised Time (now when zero) and Hash. Backends call it inside the
// transaction that holds the chain head.
func ChainAudit(a *roamsign.AuditRecord, prevSeq int64, prevHash []byte, now time.Time) {
	a.Seq = prevSeq + 1
	if prevSeq == 0 || len(prevHash) == 0 {
		a.PrevHash = ZeroHash()
	} else {
		a.PrevHash = bytes.Clone(prevHash)
	}
	if a.Time.IsZero() {
		a.Time = now
	}
	a.Time = NormTime(a.Time)
	a.Hash = AuditHash(a)
}

// ExpiredAudit is the audit record ExpireTransactions appends for each
// pending transaction it fails: the transaction never finished (its server
// stopped or lost the store mid-batch), so none of its signatures was
// returned. It is appended in the same database transaction as the state
// change.
func ExpiredAudit(tx *roamsign.TransactionRecord, now time.Time) *roamsign.AuditRecord {
	return &roamsign.AuditRecord{
		Time: now, Event: roamsign.AuditSignFailed,
		User: tx.User, Host: tx.Host, HashList: append([]byte(nil), tx.HashList[:]...), Count: tx.Count,
		Outcome: roamsign.ErrExpired.Code(), TransactionID: tx.ID,
		Detail: "pending transaction expired unfinished; no signature was returned",
	}
}

// BreakReason says how an audit chain is broken.
type BreakReason string

// The break reasons reported by [VerifyAudit].
const (
	// BreakEdited: the record's fields no longer match its Hash.
	BreakEdited BreakReason = "edited"
	// BreakDeleted: a Seq is missing (a record was deleted).
	BreakDeleted BreakReason = "deleted"
	// BreakReordered: a Seq repeats or goes backwards.
	BreakReordered BreakReason = "reordered"
	// BreakRelinked: the record is intact but its PrevHash is not the Hash of
	// the record before it (records deleted or moved and renumbered, or the
	// previous record rewritten with a recomputed hash).
	BreakRelinked BreakReason = "relinked"
	// BreakTruncated: the log ends before the head the store recorded
	// (records deleted from the end), or the head does not match.
	BreakTruncated BreakReason = "truncated"
	// BreakCheckpoint: a checkpoint's signature or content does not verify.
	BreakCheckpoint BreakReason = "checkpoint"
)

// ChainBreakError reports the first break found by [VerifyAudit]. It
// matches [roamsign.ErrInvalidSignature] with errors.Is.
type ChainBreakError struct {
	Seq    int64       // Seq at which the break was found
	Reason BreakReason //
	Msg    string      // detail
}

// Error implements error.
func (e *ChainBreakError) Error() string {
	return fmt.Sprintf("store.VerifyAudit: audit chain broken at seq %d (%s): %s", e.Seq, e.Reason, e.Msg)
}

// Is matches [roamsign.ErrInvalidSignature].
func (e *ChainBreakError) Is(target error) bool { return target == roamsign.ErrInvalidSignature }

// VerifyOptions tune [VerifyAudit]. The zero value verifies the chain
// without checking checkpoint signatures.
type VerifyOptions struct {
	// CheckpointKey, when set, is the public key every checkpoint record
	// must verify under.
	CheckpointKey crypto.PublicKey
	// ExpectHead, when non-zero, is a Seq the log must reach (for example
	// from an earlier verification or an external anchor).
	ExpectHead int64
}

// VerifyResult summarises a successful verification.
type VerifyResult struct {
	Records     int64  // records checked
	HeadSeq     int64  // Seq of the last record
	HeadHash    []byte // Hash of the last record
	Checkpoints int    // checkpoint records seen (and verified if a key was given)
}

// VerifyAudit streams the whole audit log from Seq 1 and checks every
// record: consecutive Seq, PrevHash equal to the previous record's Hash
// (32 zero bytes for the first), Hash equal to [AuditHash], and checkpoint
// signatures when opts.CheckpointKey is set. When s also implements
// [AuditHeader] the log must reach the head the store recorded when the
// verification started (records appended during the scan are left for the
// next verification). It
// holds one record at a time. The first break is returned as a
// [*ChainBreakError]; other errors (database unavailable) are returned as
// they are.
func VerifyAudit(ctx context.Context, s AuditScanner, opts VerifyOptions) (*VerifyResult, error) {
	res := &VerifyResult{}
	prevHash := ZeroHash()
	var want int64 = 1
	var brk *ChainBreakError
	stop, done := errors.New("stop"), errors.New("done")
	// The recorded head is read before the scan: records appended while
	// the scan runs (a live store) lie beyond it and are left for the next
	// verification instead of being reported as a truncation.
	headSeq, headHash := int64(-1), []byte(nil)
	if h, ok := s.(AuditHeader); ok {
		var err error
		if headSeq, headHash, err = h.AuditHead(ctx); err != nil {
			return nil, err
		}
	}
	err := s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if headSeq >= 0 && want > headSeq && a.Seq > headSeq {
			return done
		}
		switch {
		case a.Seq > want:
			brk = &ChainBreakError{Seq: want, Reason: BreakDeleted, Msg: fmt.Sprintf("records %d..%d missing", want, a.Seq-1)}
			return stop
		case a.Seq < want:
			brk = &ChainBreakError{Seq: a.Seq, Reason: BreakReordered, Msg: fmt.Sprintf("seq %d found after seq %d", a.Seq, want-1)}
			return stop
		}
		if subtle.ConstantTimeCompare(AuditHash(a), a.Hash) != 1 {
			brk = &ChainBreakError{Seq: a.Seq, Reason: BreakEdited, Msg: "record content does not match its hash"}
			return stop
		}
		if !bytes.Equal(a.PrevHash, prevHash) {
			brk = &ChainBreakError{Seq: a.Seq, Reason: BreakRelinked, Msg: "previous hash does not match the record before"}
			return stop
		}
		if a.Event == roamsign.AuditCheckpoint {
			res.Checkpoints++
			if opts.CheckpointKey != nil {
				if err := VerifyCheckpoint(a, opts.CheckpointKey); err != nil {
					brk = &ChainBreakError{Seq: a.Seq, Reason: BreakCheckpoint, Msg: err.Error()}
					return stop
				}
			}
		}
		prevHash = append(prevHash[:0], a.Hash...)
		res.Records++
		res.HeadSeq = a.Seq
		want++
		return nil
	})
	if brk != nil {
		return nil, brk
	}
	if err != nil && !errors.Is(err, done) {
		return nil, err
	}
	res.HeadHash = bytes.Clone(prevHash)
	if res.HeadSeq == 0 {
		res.HeadHash = nil
	}
	if opts.ExpectHead > res.HeadSeq {
		return nil, &ChainBreakError{Seq: res.HeadSeq + 1, Reason: BreakTruncated, Msg: fmt.Sprintf("log ends at seq %d, expected at least %d", res.HeadSeq, opts.ExpectHead)}
	}
	if headSeq >= 0 && (headSeq != res.HeadSeq || (headSeq != 0 && !bytes.Equal(headHash, res.HeadHash))) {
		return nil, &ChainBreakError{Seq: res.HeadSeq + 1, Reason: BreakTruncated, Msg: fmt.Sprintf("log ends at seq %d but the recorded head is seq %d", res.HeadSeq, headSeq)}
	}
	return res, nil
}

// Checkpoint asks for a signed checkpoint: an audit record of event
// [roamsign.AuditCheckpoint] whose Detail carries a signature by a service
// key over the Seq and Hash of the record before it. Anyone holding the
// public key can then tell that the log up to that point existed in that
// form when the checkpoint was written, even if the database were rewritten
// wholesale afterwards.
type Checkpoint struct {
	Signer crypto.Signer // service key: ECDSA, RSA (PKCS #1 v1.5) or Ed25519
	KeyID  string        // optional label of the key, recorded in Detail
	Time   time.Time     // time of the checkpoint; the store's clock when zero
}

const checkpointDomain = "roamsign/audit-checkpoint/v1"

func checkpointMessage(seq int64, hash []byte) []byte {
	var b []byte
	b = append(b, checkpointDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	b = append(b, hash...)
	return b
}

// CheckpointRecord builds the checkpoint record that follows the record
// (prevSeq, prevHash). Backends call it inside the append transaction, so
// the signature covers exactly the chain head the record is linked to.
func CheckpointRecord(cp Checkpoint, prevSeq int64, prevHash []byte) (*roamsign.AuditRecord, error) {
	const op = "store.AppendCheckpoint"
	if cp.Signer == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no signer")
	}
	if strings.ContainsAny(cp.KeyID, " \n") || len(cp.KeyID) > 128 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "key id must be a short token without spaces")
	}
	if prevSeq == 0 {
		prevHash = ZeroHash()
	}
	msg := checkpointMessage(prevSeq, prevHash)
	var (
		sig  []byte
		err  error
		alg  string
		hash = crypto.SHA256
	)
	switch cp.Signer.Public().(type) {
	case ed25519.PublicKey:
		alg = "Ed25519"
		sig, err = cp.Signer.Sign(rand.Reader, msg, crypto.Hash(0))
	case *ecdsa.PublicKey:
		alg = "ECDSA-SHA256"
		d := sha256.Sum256(msg)
		sig, err = cp.Signer.Sign(rand.Reader, d[:], hash)
	case *rsa.PublicKey:
		alg = "RSA-PKCS1v15-SHA256"
		d := sha256.Sum256(msg)
		sig, err = cp.Signer.Sign(rand.Reader, d[:], hash)
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported checkpoint key type %T", cp.Signer.Public())
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "signing the checkpoint failed")
	}
	keyID := cp.KeyID
	if keyID == "" {
		keyID = "-"
	}
	detail := fmt.Sprintf("checkpoint v1 seq=%d head=%s alg=%s key=%s sig=%s",
		prevSeq, hex.EncodeToString(prevHash), alg, keyID, base64.StdEncoding.EncodeToString(sig))
	return &roamsign.AuditRecord{
		Time:    cp.Time,
		Event:   roamsign.AuditCheckpoint,
		Outcome: "ok",
		Detail:  detail,
	}, nil
}

// VerifyCheckpoint checks a checkpoint record: that it names the record
// before it (its Seq-1 and PrevHash) and that its signature verifies under
// pub.
func VerifyCheckpoint(a *roamsign.AuditRecord, pub crypto.PublicKey) error {
	if a.Event != roamsign.AuditCheckpoint {
		return errors.New("not a checkpoint record")
	}
	f := map[string]string{}
	parts := strings.Fields(a.Detail)
	if len(parts) < 2 || parts[0] != "checkpoint" || parts[1] != "v1" {
		return errors.New("malformed checkpoint detail")
	}
	for _, p := range parts[2:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return errors.New("malformed checkpoint detail")
		}
		f[k] = v
	}
	seq, err := strconv.ParseInt(f["seq"], 10, 64)
	if err != nil || seq != a.Seq-1 {
		return errors.New("checkpoint does not name the record before it")
	}
	head, err := hex.DecodeString(f["head"])
	if err != nil || !bytes.Equal(head, a.PrevHash) {
		return errors.New("checkpoint head does not match the chain")
	}
	sig, err := base64.StdEncoding.DecodeString(f["sig"])
	if err != nil {
		return errors.New("malformed checkpoint signature")
	}
	msg := checkpointMessage(seq, head)
	d := sha256.Sum256(msg)
	ok := false
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = f["alg"] == "Ed25519" && ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		ok = f["alg"] == "ECDSA-SHA256" && ecdsa.VerifyASN1(k, d[:], sig)
	case *rsa.PublicKey:
		ok = f["alg"] == "RSA-PKCS1v15-SHA256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	default:
		return fmt.Errorf("unsupported checkpoint key type %T", pub)
	}
	if !ok {
		return errors.New("checkpoint signature does not verify")
	}
	return nil
}

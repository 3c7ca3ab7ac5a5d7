package roamsign

import (
	"slices"
	"time"
)

// The record types below are what the service persists. They live in the
// root package so that the parts can agree on them without importing one
// another: a consumer (otp, medium, service) defines the narrow store
// interface it needs over these types, and package store's backends
// implement them all. None of them ever holds a PIN or an OTP in clear.

// ChallengeRecord is the stored state of an OTP challenge. The OTP itself is
// never stored: MAC is HMAC-SHA-256 under a server key over
// challenge id ‖ nonce ‖ OTP ‖ hash-list digest.
type ChallengeRecord struct {
	ID         string    // ≥128-bit random, URL-safe text
	User       UserID    //
	Host       HostID    // the host that requested it
	KeyRef     string    // the user's key reference when it was issued; Sign uses no other key
	Nonce      []byte    // ≥128-bit random, echoed back by the host
	MAC        []byte    // HMAC-SHA-256, see above
	HashList   [32]byte  // HashListDigest of the bound hashes
	Count      int       // number of bound hashes
	DataHeader string    // the host's document reference
	Channel    Channel   // channel the OTP went out on ("" before delivery)
	SentTo     string    // masked destination
	CreatedAt  time.Time //
	ExpiresAt  time.Time //
	Tries      int       // attempts so far, each counted before it is checked (the successful one too)
	MaxTries   int       // attempts allowed
	Consumed   bool      // set once, by compare-and-set
	ConsumedAt time.Time //
	// Undeliverable marks a challenge whose OTP could not be sent; it can
	// never be consumed.
	Undeliverable bool
}

// UserRecord is an enrolled signer.
type UserRecord struct {
	ID       UserID
	Name     string       // common name on the certificate
	Hosts    []HostID     // host systems the user is enrolled for; see EnrolledFor
	Media    []MediumKind // media the user holds
	Email    string       // e-mail OTP destination
	Devices  []string     // registered push device ids
	KeyRef   string       // key reference in the key store (for example a PKCS#11 CKA_ID, hex)
	Chain    [][]byte     // certificate chain, leaf first, DER
	Disabled bool         // roaming signing revoked/disabled

	// PINVerifier is an encoded Argon2id verifier (parameters, salt, tag);
	// empty while no PIN is set.
	PINVerifier []byte
	PINFailures int       // consecutive PIN failures
	Locked      bool      // locked after too many PIN failures; admin reset clears
	LockedAt    time.Time //

	CreatedAt time.Time
	UpdatedAt time.Time
}

// EnrolledFor reports whether the user is enrolled for host: whether host
// may act for the user with a server-side medium. It is the one enrolment
// rule of the SDK; the service, package otp and package medium all decide
// with it. The host must be listed in Hosts: an empty list means no host,
// never every host.
func (u *UserRecord) EnrolledFor(host HostID) bool {
	return host != "" && slices.Contains(u.Hosts, host)
}

// OTPBackoffRecord counts the consecutive OTP failures of one user from one
// host for [OTPBackoff]. Each attempt is counted before it is checked, so
// Failures includes one in progress; a right OTP removes the record.
type OTPBackoffRecord struct {
	User      UserID
	Host      HostID
	Failures  int       // consecutive failures, the attempt in progress included
	Until     time.Time // no attempt before this time; zero when not backing off
	UpdatedAt time.Time // when the last attempt was counted
}

// TransactionRecord is one Sign call: its idempotency key, binding and
// per-item results.
type TransactionRecord struct {
	ID          string
	User        UserID
	Host        HostID
	RequestID   string // unique per host; a retry returns this record
	ChallengeID string
	HashList    [32]byte // HashListDigest of the signed hashes
	Count       int
	Form        OutputForm
	State       TxState
	Items       []SignedItem // per-item results, input order; set when finished
	Chain       [][]byte     // chain returned with the signatures
	SigAlg      string       // signature algorithm name
	Error       string       // kind code when failed
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AuditEvent names what an audit record records.
type AuditEvent string

// The audit events.
const (
	AuditOTPRequested AuditEvent = "otp.requested"
	AuditOTPFailed    AuditEvent = "otp.delivery_failed"
	AuditAuthFailed   AuditEvent = "auth.failed"
	AuditAuthorised   AuditEvent = "auth.authorised"
	AuditLocked       AuditEvent = "pin.locked"
	AuditOTPBackoff   AuditEvent = "otp.backoff"         // a host's OTP failures for a user started or lengthened a wait
	AuditOTPCleared   AuditEvent = "otp.backoff_cleared" // an administrator cleared a host's OTP failure count
	AuditPINSet       AuditEvent = "pin.set"
	AuditPINReset     AuditEvent = "pin.reset"
	AuditSigned       AuditEvent = "sign.signed"
	AuditSignFailed   AuditEvent = "sign.failed"
	AuditEnrolled     AuditEvent = "user.enrolled"
	AuditChainImport  AuditEvent = "user.chain_imported" // an administrator imported (or tried to import) a user's certificate chain
	AuditDeviceAdded  AuditEvent = "user.device_added"   // an administrator registered a push device
	AuditDisabled     AuditEvent = "user.disabled"
	AuditCheckpoint   AuditEvent = "audit.checkpoint"
	AuditTampered     AuditEvent = "store.tampered" // a stored row failed its integrity check and was refused
	AuditSealed       AuditEvent = "store.sealed"   // an operator sealed rows stored without an integrity seal
)

// AuditRecord is one entry of the append-only, hash-chained audit log. The
// store assigns Seq, PrevHash and Hash on append. It never holds a PIN, an
// OTP, an OTP MAC or an activation token.
type AuditRecord struct {
	Seq           int64      // 1, 2, 3, … assigned by the store
	Time          time.Time  // UTC
	Event         AuditEvent //
	User          UserID     //
	Host          HostID     //
	DataHeader    string     //
	HashList      []byte     // hash-list digest, when the event concerns hashes
	Count         int        // number of hashes
	CertSerial    string     // signer certificate serial, hexadecimal
	Channel       Channel    // OTP channel used
	Outcome       string     // "ok" or an error kind code
	TransactionID string     //
	Detail        string     // free text without secrets
	PrevHash      []byte     // Hash of record Seq-1 (32 zero bytes for the first)
	Hash          []byte     // SHA-256 over the canonical encoding of this record and PrevHash
}

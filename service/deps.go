package service

import (
	"context"
	"crypto"
	"crypto/x509"
	"time"

	"github.com/roamsign/roamsign"
)

// The interfaces below are what the service needs of the parts. Each is a
// narrow subset: the store interfaces use exactly the method signatures of
// the store contract, so every store backend satisfies them; the others are
// met by small adapters over packages hsm, otp and signer (or by test
// doubles).

// UserStore reads and updates enrolled users and their PIN counters.
type UserStore interface {
	CreateUser(ctx context.Context, u *roamsign.UserRecord) error
	GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error)
	UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error
	AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (failures int, locked bool, err error)
	ResetPINFailures(ctx context.Context, id roamsign.UserID) error
	ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error)
}

// ChallengeStore reads challenges and spends their tries, one per Sign
// attempt. The single-use consumption happens inside
// [TxStore.BeginTransaction].
type ChallengeStore interface {
	GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error)
	TakeTry(ctx context.Context, id string) (tries int, err error)
}

// TxStore records transactions and the audit log.
type TxStore interface {
	BeginTransaction(ctx context.Context, challengeID string, now time.Time, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error
	FinishTransaction(ctx context.Context, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error
	GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error)
	GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error)
	ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (failed, deleted int, err error)
	AppendAudit(ctx context.Context, a *roamsign.AuditRecord) error
}

// Store is everything the service persists. store/sqlite, store/postgres
// and store/memory satisfy it.
type Store interface {
	UserStore
	ChallengeStore
	TxStore
}

// KeyStore holds the users' private keys (package hsm: PKCS#11 or the
// software key store). Keys are generated inside it and never leave it.
type KeyStore interface {
	// GenerateKey creates a new key pair of the given algorithm labelled
	// label and returns its reference and a signer for it.
	GenerateKey(ctx context.Context, alg roamsign.KeyAlgorithm, label string) (ref string, key crypto.Signer, err error)
	// Signer returns a signer for the key with reference ref (ErrNotFound).
	Signer(ctx context.Context, ref string) (crypto.Signer, error)
}

// ChallengeSpec is what a [Challenger] binds an OTP challenge to.
type ChallengeSpec struct {
	User       *roamsign.UserRecord // the enrolled user: destinations (e-mail, devices)
	Host       roamsign.HostID
	Hashes     []roamsign.Hash
	DataHeader string
	Channel    roamsign.Channel // preferred channel; "" lets the policy decide
	// HashesLater says Hashes is the stand-in of a late-bound challenge:
	// the documents are named when the OTP is used, so the message to the
	// signer states no number of documents.
	HashesLater bool
}

// Challenger issues and checks OTP challenges (package otp). Issue stores
// the challenge (only a MAC of the OTP), delivers the OTP by the channel
// policy and enforces issuance rate limits. CheckOTP compares otp with the
// challenge's MAC in constant time for the given nonce and exact hashes,
// for an attempt whose try of the challenge the service has already taken
// (one per Sign attempt, whichever factor fails): it takes no try itself.
// A mismatch is an error of kind [roamsign.ErrAuthorization]. A Challenger
// may count wrong OTPs per (user, host) and make that host wait (package
// otp does, [roamsign.OTPBackoff]): an attempt refused for it is an error
// of kind [roamsign.ErrRateLimited] carrying the wait
// ([roamsign.RetryAfterOf]). CheckOTP never consumes the challenge: the
// service does, atomically with the transaction record.
type Challenger interface {
	Issue(ctx context.Context, spec ChallengeSpec) (*roamsign.OTPResponse, error)
	CheckOTP(ctx context.Context, challengeID string, nonce []byte, otp string, hashes []roamsign.Hash) error
}

// FormSigner produces the output of one [roamsign.OutputForm] for a batch of
// hashes with the user's key, and checks such output against the
// certificate. The service provides the raw form itself ([RawSigner]);
// signer/cms provides the CMS form through an adapter.
type FormSigner interface {
	// SignBatch signs every hash; the result has one entry per hash, in
	// order. alg names the signature algorithm.
	SignBatch(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, hashes []roamsign.Hash) (sigs [][]byte, alg string, err error)
	// CheckBatch verifies every output against the leaf certificate
	// (the post-sign self-check).
	CheckBatch(ctx context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error
}

// Pepper is a keyed MAC whose key is held in the HSM. When configured, the
// PIN is MACed with it before Argon2id, so a stolen verifier cannot be
// attacked offline without the HSM.
type Pepper interface {
	MAC(ctx context.Context, data []byte) ([]byte, error)
}

// Directory optionally answers [roamsign.API.Medium] for users the service
// has not enrolled for the calling host (for example token or softcert
// holders in an agency directory); package medium's resolvers provide it
// through service/adapt. Server-side media in its answer are ignored: only
// this service's own enrolment makes a roaming key usable.
type Directory interface {
	Lookup(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.MediumResponse, error)
}

// Metrics receives counts and latencies per step. Steps are "medium",
// "request_otp", "sign" (the whole call), "activation", "pin_verify" (one
// Argon2id), "sign_batch", "self_check", "finish", "status" and the admin
// calls; outcome is "ok" or an error kind code.
// Implementations must be safe for concurrent use.
type Metrics interface {
	ObserveStep(step, outcome string, d time.Duration)
}

package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// Store is the challenge and user state this package needs. It is a subset
// of the store contract shared with package store, whose backends satisfy
// it; otp/otptest has an in-memory one for tests.
type Store interface {
	CreateChallenge(ctx context.Context, c *roamsign.ChallengeRecord) error
	GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error)
	MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error
	MarkUndeliverable(ctx context.Context, id string) error
	TakeTry(ctx context.Context, id string) (tries int, err error)
	ConsumeChallenge(ctx context.Context, id string, now time.Time) error
	IssueChallenge(ctx context.Context, c *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error
	GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error)
	GetOTPBackoff(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.OTPBackoffRecord, error)
	AddOTPFailure(ctx context.Context, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error)
	ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error)
	AppendAudit(ctx context.Context, a *roamsign.AuditRecord) error
}

// MACKey computes HMAC-SHA-256 under the server's OTP key. It is an
// interface so that the key may stay in an HSM; [NewHMACKey] holds it in
// memory.
type MACKey interface {
	// MAC returns HMAC-SHA-256(key, msg).
	MAC(ctx context.Context, msg []byte) ([]byte, error)
}

type hmacKey struct{ k []byte }

// NewHMACKey returns a MACKey holding a copy of key in memory. The key must
// be at least 32 bytes.
func NewHMACKey(key []byte) (MACKey, error) {
	if len(key) < 32 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "otp.NewHMACKey", "key must be at least 32 bytes, got %d", len(key))
	}
	return &hmacKey{k: slices.Clone(key)}, nil
}

func (h *hmacKey) MAC(_ context.Context, msg []byte) ([]byte, error) {
	m := hmac.New(sha256.New, h.k)
	m.Write(msg)
	return m.Sum(nil), nil
}

// Defaults and limits of [Config].
const (
	DefaultTTL          = 5 * time.Minute
	MaxTTL              = 10 * time.Minute
	DefaultMaxTries     = 3
	DefaultUserRate     = 20
	DefaultUserHostRate = 5
	DefaultHostRate     = 1000
	DefaultRateWindow   = 15 * time.Minute
	DefaultMaxHashes    = 1000
	MaxDataHeader       = 256 // characters
	OTPDigits           = 6
)

// Config configures a [Manager]. Zero values select the documented
// defaults; a Config is never modified.
type Config struct {
	// Store holds challenges and user counters. Required.
	Store Store
	// Key is the server key the OTP MACs are computed under. Required.
	Key MACKey
	// Delivery sends the OTP. Required for Issue.
	Delivery *Delivery
	// TTL is a challenge's lifetime: default 5 minutes, at most 10.
	TTL time.Duration
	// MaxTries is the number of verification attempts per challenge
	// (default 3).
	MaxTries int
	// Backoff is the back-off of wrong OTPs, counted per (user, host):
	// after Backoff.After consecutive failures (default 5) the host waits
	// before its next attempt or OTP for the user, 1 minute at first,
	// doubling up to an hour; the waits expire on their own and never
	// reach other hosts ([roamsign.OTPBackoff]; zero fields are its
	// defaults). Issuing a new challenge never resets the count; a right
	// OTP from the host does, and so does an administrator (the store's
	// ResetOTPFailures, service ClearOTPBackoff).
	Backoff roamsign.OTPBackoff
	// UserRate, UserHostRate and HostRate limit the challenges issued
	// within RateWindow per user from all hosts together, per user from
	// one host and per host (defaults 20, 5, 1000 and 15 minutes). The
	// per-(user, host) limit below the user's total keeps one host from
	// spending every host's quota (and flooding the user's mailbox). A
	// negative rate disables that limit. The store counts and inserts in
	// one atomic step, and a refusal carries the real time until a slot
	// frees ([roamsign.RetryAfterOf]).
	UserRate, UserHostRate, HostRate int
	RateWindow                       time.Duration
	// MaxHashes limits the hashes bound to one challenge (default 1000).
	MaxHashes int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the randomness source for ids, nonces and OTPs (default
	// crypto/rand.Reader).
	Rand io.Reader
	// Logger receives operational logs (default slog.Default()). It never
	// receives an OTP.
	Logger *slog.Logger
}

// Manager issues and verifies OTP challenges. It is safe for concurrent
// use; all state lives in the Store.
type Manager struct {
	store     Store
	key       MACKey
	delivery  *Delivery
	ttl       time.Duration
	maxTries  int
	backoff   roamsign.OTPBackoff
	limits    roamsign.IssueLimits
	maxHashes int
	now       func() time.Time
	rand      io.Reader
	log       *slog.Logger
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	const op = "otp.New"
	if cfg.Store == nil || cfg.Key == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "Store and Key are required")
	}
	m := &Manager{
		store: cfg.Store, key: cfg.Key, delivery: cfg.Delivery,
		ttl: cfg.TTL, maxTries: cfg.MaxTries, backoff: cfg.Backoff.WithDefaults(),
		limits:    roamsign.IssueLimits{Window: cfg.RateWindow, PerUser: cfg.UserRate, PerUserHost: cfg.UserHostRate, PerHost: cfg.HostRate},
		maxHashes: cfg.MaxHashes, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger,
	}
	switch {
	case m.ttl == 0:
		m.ttl = DefaultTTL
	case m.ttl < 0 || m.ttl > MaxTTL:
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "TTL must be between 0 and %v", MaxTTL)
	}
	if m.maxTries < 0 || m.maxHashes < 0 || m.limits.Window < 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "negative limit")
	}
	if !m.backoff.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "invalid OTP back-off: After at least 1, Base, Max and Forget positive, Max at least Base")
	}
	if m.maxTries == 0 {
		m.maxTries = DefaultMaxTries
	}
	m.limits.PerUser = rate(m.limits.PerUser, DefaultUserRate)
	m.limits.PerUserHost = rate(m.limits.PerUserHost, DefaultUserHostRate)
	m.limits.PerHost = rate(m.limits.PerHost, DefaultHostRate)
	if m.limits.Window == 0 {
		m.limits.Window = DefaultRateWindow
	}
	if m.maxHashes == 0 {
		m.maxHashes = DefaultMaxHashes
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// rate applies a rate's default (for 0); a negative rate is no limit.
func rate(r, def int) int {
	switch {
	case r == 0:
		return def
	case r < 0:
		return 0
	}
	return r
}

// IssueRequest asks for a challenge.
type IssueRequest struct {
	User       roamsign.UserID
	Host       roamsign.HostID
	Hashes     []roamsign.Hash
	DataHeader string           // the host's document reference, shown in the message
	Channel    roamsign.Channel // preferred channel; empty: policy decides
	// HashesLater says Hashes stands in for documents named only when the
	// OTP is used (a late-bound challenge): the message states no number
	// of documents, since none is known yet.
	HashesLater bool
}

// Challenge is an issued, delivered challenge as the host sees it. It never
// holds the OTP.
type Challenge struct {
	ID               string
	User             roamsign.UserID
	Host             roamsign.HostID
	Nonce            []byte
	HashList         [32]byte // roamsign.HashListDigest of the bound hashes
	Count            int
	DataHeader       string
	VerificationCode string // 4 digits, see VerificationCode
	Channel          roamsign.Channel
	SentTo           string // masked destination
	CreatedAt        time.Time
	ExpiresAt        time.Time
	// HashesLater is IssueRequest.HashesLater: the documents are named
	// when the OTP is used.
	HashesLater bool
}

// Issue creates a challenge bound to the user, host, data header and the
// exact hashes, and delivers its OTP by the channel policy. The store gets
// only a MAC of the OTP. When no channel delivers, the challenge is marked
// undeliverable and the error matches both [ErrUndeliverable] and
// roamsign.ErrDelivery.
func (m *Manager) Issue(ctx context.Context, req IssueRequest) (*Challenge, error) {
	const op = "otp.Issue"
	if err := m.checkIssueRequest(op, req); err != nil {
		return nil, err
	}
	user, err := m.store.GetUser(ctx, req.User)
	if err != nil {
		return nil, storeErr(op, err, "user")
	}
	now := m.now()
	if err := m.issuable(ctx, op, user, req.Host, now); err != nil {
		return nil, err
	}
	rec, code, err := m.createChallenge(ctx, op, req, user.KeyRef, now)
	if err != nil {
		return nil, err
	}
	ch := &Challenge{
		ID: rec.ID, User: rec.User, Host: rec.Host, Nonce: slices.Clone(rec.Nonce),
		HashList: rec.HashList, Count: rec.Count, DataHeader: rec.DataHeader,
		VerificationCode: VerificationCode(rec.Nonce, rec.HashList),
		CreatedAt:        rec.CreatedAt, ExpiresAt: rec.ExpiresAt, HashesLater: req.HashesLater,
	}
	if err := m.deliver(ctx, op, user, ch, code, req.Channel); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "otp issued", "challenge", ch.ID, "user", req.User.Masked(), "host", req.Host,
		"channel", string(ch.Channel), "hashes", ch.Count, "expires", ch.ExpiresAt)
	return ch, nil
}

// checkIssueRequest checks the request's fields and that the manager can
// deliver at all.
func (m *Manager) checkIssueRequest(op string, req IssueRequest) error {
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "invalid user id")
	}
	if req.Host == "" || len(req.Host) > 256 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "host id missing or too long")
	}
	if err := roamsign.ValidateHashes(req.Hashes, m.maxHashes); err != nil {
		return err
	}
	if err := checkDataHeader(req.DataHeader); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "invalid data header")
	}
	if req.Channel != "" && !req.Channel.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel")
	}
	if m.delivery == nil {
		return roamsign.E(roamsign.ErrUnsupported, op, "no OTP delivery configured")
	}
	return nil
}

// issuable refuses an OTP for a user who is disabled, not enrolled for
// the host, or whose host is backing off at now.
func (m *Manager) issuable(ctx context.Context, op string, user *roamsign.UserRecord, host roamsign.HostID, now time.Time) error {
	if user.Disabled {
		return roamsign.E(roamsign.ErrForbidden, op, "user is disabled")
	}
	if !user.EnrolledFor(host) {
		return roamsign.E(roamsign.ErrForbidden, op, "user is not enrolled for this host")
	}
	return m.checkBackoff(ctx, op, user.ID, host, now)
}

// createChallenge draws the nonce and the OTP and stores the challenge
// (only the OTP's MAC), bound to the user's key keyRef, within the
// issuance limits, under a fresh random id (drawn again on the rare
// collision). It returns the stored record and the OTP to deliver.
func (m *Manager) createChallenge(ctx context.Context, op string, req IssueRequest, keyRef string, now time.Time) (*roamsign.ChallengeRecord, string, error) {
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(m.rand, nonce); err != nil {
		return nil, "", roamsign.Wrap(roamsign.ErrInternal, op, err, "reading randomness")
	}
	code, err := generateOTP(m.rand)
	if err != nil {
		return nil, "", roamsign.Wrap(roamsign.ErrInternal, op, err, "reading randomness")
	}
	digest := roamsign.HashListDigest(req.Hashes)
	rec := &roamsign.ChallengeRecord{
		User: req.User, Host: req.Host, KeyRef: keyRef, Nonce: nonce, HashList: digest,
		Count: len(req.Hashes), DataHeader: req.DataHeader,
		CreatedAt: now, ExpiresAt: now.Add(m.ttl), MaxTries: m.maxTries,
	}
	for attempt := 0; ; attempt++ {
		idb := make([]byte, 16)
		if _, err := io.ReadFull(m.rand, idb); err != nil {
			return nil, "", roamsign.Wrap(roamsign.ErrInternal, op, err, "reading randomness")
		}
		rec.ID = base64.RawURLEncoding.EncodeToString(idb)
		rec.MAC, err = m.mac(ctx, rec.ID, nonce, code, digest)
		if err != nil {
			return nil, "", roamsign.Wrap(roamsign.ErrUnavailable, op, err, "computing OTP MAC")
		}
		err = m.store.IssueChallenge(ctx, rec, m.limits)
		if err == nil {
			return rec, code, nil
		}
		if errors.Is(err, roamsign.ErrRateLimited) {
			m.log.WarnContext(ctx, "otp refused: rate limited", "user", req.User.Masked(), "host", req.Host)
			return nil, "", failWaiting(op, ErrRateLimited, err)
		}
		if !errors.Is(err, roamsign.ErrConflict) || attempt >= 2 {
			return nil, "", storeErr(op, err, "challenge")
		}
	}
}

// deliver sends the OTP of ch to the user by the channel policy and
// records the channel that delivered in the store and in ch. When no
// channel delivers, the challenge is marked undeliverable so that it can
// never be used.
func (m *Manager) deliver(ctx context.Context, op string, user *roamsign.UserRecord, ch *Challenge, code string, prefer roamsign.Channel) error {
	msg := &Message{
		ChallengeID: ch.ID, User: ch.User, Host: ch.Host, OTP: roamsign.Secret(code),
		VerificationCode: ch.VerificationCode, DataHeader: ch.DataHeader,
		Count: ch.Count, ExpiresAt: ch.ExpiresAt, HashesLater: ch.HashesLater,
	}
	if ch.HashesLater {
		msg.Count = 0
	}
	rcpt := Recipient{User: user.ID, Email: user.Email, Devices: slices.Clone(user.Devices)}
	used, sentTo, derr := m.delivery.Deliver(ctx, rcpt, msg, prefer)
	if derr != nil {
		// The challenge must never become usable: mark it with a context
		// that outlives a cancelled request.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		uerr := m.store.MarkUndeliverable(mctx, ch.ID)
		cancel()
		m.log.WarnContext(ctx, "otp delivery failed", "challenge", ch.ID, "user", ch.User.Masked(), "host", ch.Host, "error", derr)
		if uerr != nil {
			m.log.ErrorContext(ctx, "marking challenge undeliverable failed", "challenge", ch.ID, "error", uerr)
		}
		return &roamsign.Error{Kind: roamsign.ErrDelivery, Op: op, Err: errors.Join(ErrUndeliverable, derr)}
	}
	if err := m.store.MarkDelivered(ctx, ch.ID, used, sentTo); err != nil {
		return storeErr(op, err, "challenge")
	}
	ch.Channel, ch.SentTo = used, sentTo
	return nil
}

// VerifyRequest is what the signer (through the host) presents.
type VerifyRequest struct {
	ID     string
	Nonce  []byte
	OTP    roamsign.Secret
	Hashes []roamsign.Hash
}

// Verify checks req against its challenge and, when everything holds,
// consumes the challenge (single use, by the store's compare-and-set). Of
// many concurrent correct submissions exactly one succeeds; the others get
// [ErrAlreadyUsed]. It returns the consumed challenge's record.
//
// Refusals are distinct errors ([ErrWrongNonce], [ErrHashMismatch],
// [ErrWrongOTP], [ErrExpired], [ErrAlreadyUsed], [ErrTooManyTries],
// [ErrBackoff], [ErrUndeliverable]) that also match root kinds and never
// reveal anything about the OTP. Every attempt spends a try of the
// challenge; a wrong OTP also counts towards the back-off of the user
// from the challenge's host, and a right one clears that count.
func (m *Manager) Verify(ctx context.Context, req VerifyRequest) (*roamsign.ChallengeRecord, error) {
	const op = "otp.Verify"
	rec, err := m.check(ctx, op, req, true)
	if err != nil {
		return nil, err
	}
	if err := m.store.ConsumeChallenge(ctx, rec.ID, m.now()); err != nil {
		return nil, storeErr(op, err, "challenge")
	}
	rec.Consumed, rec.ConsumedAt = true, m.now()
	m.log.InfoContext(ctx, "otp verified", "challenge", rec.ID, "user", rec.User.Masked(), "host", rec.Host)
	return rec, nil
}

// Check verifies req like [Manager.Verify] (counting failures the same
// way) but does not consume the challenge. It is for a caller that consumes
// the challenge itself, atomically with other writes: Check, then the
// store's ConsumeChallenge inside the caller's database transaction. A
// Check success is not an authorisation on its own: only a successful
// consumption is.
func (m *Manager) Check(ctx context.Context, req VerifyRequest) (*roamsign.ChallengeRecord, error) {
	return m.check(ctx, "otp.Check", req, true)
}

// CheckTried is [Manager.Check] for a caller that has already taken this
// attempt's try of the challenge with the store's TakeTry, because its
// attempt can fail on more than the OTP and must spend exactly one try
// whichever part fails: the service takes the try before it compares the
// nonce, hashes, OTP and PIN. It refuses a challenge none of whose tries
// was taken.
func (m *Manager) CheckTried(ctx context.Context, req VerifyRequest) (*roamsign.ChallengeRecord, error) {
	return m.check(ctx, "otp.CheckTried", req, false)
}

// check verifies req against its challenge. With takeTry it first takes
// the attempt's try; without, the caller has taken it.
func (m *Manager) check(ctx context.Context, op string, req VerifyRequest, takeTry bool) (*roamsign.ChallengeRecord, error) {
	if req.ID == "" || len(req.ID) > 64 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "challenge id missing or too long")
	}
	if len(req.Nonce) == 0 || len(req.Nonce) > 64 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "nonce missing or too long")
	}
	if !validOTPFormat(req.OTP.Reveal()) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "OTP must be %d digits", OTPDigits)
	}
	if err := roamsign.ValidateHashes(req.Hashes, m.maxHashes); err != nil {
		return nil, err
	}
	rec, err := m.store.GetChallenge(ctx, req.ID)
	if err != nil {
		return nil, storeErr(op, err, "challenge")
	}
	now := m.now()
	switch {
	case rec.Undeliverable:
		return nil, fail(op, ErrUndeliverable)
	case rec.Consumed:
		return nil, fail(op, ErrAlreadyUsed)
	case !now.Before(rec.ExpiresAt):
		return nil, fail(op, ErrExpired)
	}
	tries, err := m.try(ctx, op, rec, takeTry)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(req.Nonce, rec.Nonce) != 1 {
		return nil, m.refuse(ctx, op, rec, tries, ErrWrongNonce)
	}
	digest := roamsign.HashListDigest(req.Hashes)
	if subtle.ConstantTimeCompare(digest[:], rec.HashList[:]) != 1 {
		return nil, m.refuse(ctx, op, rec, tries, ErrHashMismatch)
	}
	if err := m.compareOTP(ctx, op, rec, tries, req.Nonce, req.OTP.Reveal(), digest, now); err != nil {
		return nil, err
	}
	rec.Tries = tries
	return rec, nil
}

// compareOTP compares code with the challenge's MAC. The attempt is
// counted as a failure of the user from the challenge's host before it is
// compared (the store's AddOTPFailure, exact across replicas), so that
// parallel guesses never compare more OTPs than the back-off allows; a
// right OTP then clears the count. A pair that is backing off compares
// nothing: [ErrBackoff] with the wait. A wrong OTP that starts or
// lengthens a wait is recorded in the audit log.
func (m *Manager) compareOTP(ctx context.Context, op string, rec *roamsign.ChallengeRecord, tries int, nonce []byte, code string, digest [32]byte, now time.Time) error {
	count, err := m.store.AddOTPFailure(ctx, rec.User, rec.Host, now, m.backoff)
	if err != nil {
		if errors.Is(err, roamsign.ErrRateLimited) {
			return failWaiting(op, ErrBackoff, err)
		}
		return storeErr(op, err, "OTP failure count")
	}
	mac, err := m.mac(ctx, rec.ID, nonce, code, digest)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "computing OTP MAC")
	}
	if hmac.Equal(mac, rec.MAC) {
		if _, err := m.store.ResetOTPFailures(ctx, rec.User, rec.Host); err != nil {
			return storeErr(op, err, "OTP failure count")
		}
		return nil
	}
	if !count.Until.IsZero() {
		m.backoffStarted(ctx, rec, count, now)
	}
	return m.refuse(ctx, op, rec, tries, ErrWrongOTP, "failures", count.Failures)
}

// backoffStarted logs and audits a wrong OTP that made the user's host
// wait.
func (m *Manager) backoffStarted(ctx context.Context, rec *roamsign.ChallengeRecord, count *roamsign.OTPBackoffRecord, now time.Time) {
	wait := count.Until.Sub(now).Round(time.Second)
	m.log.WarnContext(ctx, "otp back-off", "user", rec.User.Masked(), "host", rec.Host, "failures", count.Failures, "wait", wait.String())
	a := &roamsign.AuditRecord{
		Time: now.UTC(), Event: roamsign.AuditOTPBackoff, User: rec.User, Host: rec.Host, DataHeader: rec.DataHeader,
		HashList: rec.HashList[:], Count: rec.Count, Channel: rec.Channel, Outcome: roamsign.ErrRateLimited.Code(),
		Detail: fmt.Sprintf("failures=%d wait=%s", count.Failures, wait),
	}
	if err := m.store.AppendAudit(ctx, a); err != nil {
		m.log.ErrorContext(ctx, "audit append failed", "event", string(a.Event), "kind", roamsign.KindOf(err).Code())
	}
}

// checkBackoff refuses a new OTP for a user whose host is backing off.
func (m *Manager) checkBackoff(ctx context.Context, op string, user roamsign.UserID, host roamsign.HostID, now time.Time) error {
	b, err := m.store.GetOTPBackoff(ctx, user, host)
	switch {
	case errors.Is(err, roamsign.ErrNotFound):
		return nil
	case err != nil:
		return storeErr(op, err, "OTP failure count")
	case now.Before(b.Until):
		m.log.WarnContext(ctx, "otp refused: backing off", "user", user.Masked(), "host", host)
		return roamsign.RetryAfter(fail(op, ErrBackoff), b.Until.Sub(now))
	}
	return nil
}

// try returns the number of this attempt among the challenge's tries.
// Every attempt takes its try (store's TakeTry) before anything is
// compared, so parallel guesses never compare more OTPs than MaxTries; the
// store refuses a try beyond them. Without take, the caller took it: at
// least one try must be taken and none beyond MaxTries.
func (m *Manager) try(ctx context.Context, op string, rec *roamsign.ChallengeRecord, take bool) (int, error) {
	if !take {
		if rec.Tries < 1 {
			return 0, roamsign.E(roamsign.ErrInternal, op, "no try of the challenge was taken for this attempt")
		}
		if rec.Tries > rec.MaxTries {
			return 0, fail(op, ErrTooManyTries)
		}
		return rec.Tries, nil
	}
	if rec.Tries >= rec.MaxTries {
		return 0, fail(op, ErrTooManyTries)
	}
	tries, err := m.store.TakeTry(ctx, rec.ID)
	if err != nil {
		return 0, storeErr(op, err, "challenge")
	}
	return tries, nil
}

// refuse logs a failed attempt and returns the refusal.
func (m *Manager) refuse(ctx context.Context, op string, rec *roamsign.ChallengeRecord, tries int, reason error, attrs ...any) error {
	attrs = append([]any{"challenge", rec.ID, "user", rec.User.Masked(), "host", rec.Host, "reason", reason.Error(), "tries", tries}, attrs...)
	m.log.InfoContext(ctx, "otp refused", attrs...)
	return fail(op, reason)
}

// mac computes the stored MAC: HMAC-SHA-256 under the server key over a
// domain label and the length-prefixed id, nonce and OTP, then the 32-byte
// hash-list digest.
func (m *Manager) mac(ctx context.Context, id string, nonce []byte, code string, digest [32]byte) ([]byte, error) {
	b := make([]byte, 0, 32+len(id)+len(nonce)+len(code)+6+32)
	b = append(b, "roamsign/otp-mac/v1\x00"...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	b = append(b, id...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(nonce)))
	b = append(b, nonce...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(code)))
	b = append(b, code...)
	b = append(b, digest[:]...)
	return m.key.MAC(ctx, b)
}

// generateOTP returns OTPDigits uniformly random decimal digits, by
// rejection sampling of 32-bit values from r.
func generateOTP(r io.Reader) (string, error) {
	const n = 1_000_000
	const limit = (1 << 32) - (1<<32)%n // largest multiple of n not above 2^32
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		v := binary.BigEndian.Uint32(b[:])
		if uint64(v) < limit {
			return formatDigits(v%n, OTPDigits), nil
		}
	}
}

func formatDigits(v uint32, digits int) string {
	b := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

func validOTPFormat(s string) bool {
	if len(s) != OTPDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// VerificationCode returns the 4-digit code derived from a challenge's
// nonce and hash-list digest. The host shows it on the signing screen and
// the OTP message repeats it, so the signer sees that both belong to the
// same signing. Anyone holding the nonce and hashes can recompute it; it
// is a visual binding, not a secret. The code is uniform over 0000–9999
// (rejection sampling over SHA-256 output).
func VerificationCode(nonce []byte, digest [32]byte) string {
	const n = 10_000
	const limit = (1 << 32) - (1<<32)%n
	for counter := uint32(0); ; counter++ {
		h := sha256.New()
		h.Write([]byte("roamsign/verification-code/v1\x00"))
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(nonce)))
		h.Write(l[:])
		h.Write(nonce)
		h.Write(digest[:])
		binary.BigEndian.PutUint32(l[:], counter)
		h.Write(l[:])
		sum := h.Sum(nil)
		for i := 0; i+4 <= len(sum); i += 4 {
			v := binary.BigEndian.Uint32(sum[i:])
			if uint64(v) < limit {
				return formatDigits(v%n, 4)
			}
		}
	}
}

func checkDataHeader(s string) error {
	if utf8.RuneCountInString(s) > MaxDataHeader {
		return errors.New("longer than 256 characters")
	}
	return roamsign.CheckDataHeader(s)
}

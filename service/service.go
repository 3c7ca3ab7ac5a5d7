package service

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"log/slog"
	"strconv"
	"time"

	"github.com/roamsign/roamsign"
)

// Config holds the service's policy. The zero value is usable: every zero
// field means the documented default.
type Config struct {
	// MaxPINFailures is the number of consecutive wrong PINs after which the
	// user is locked until an administrator resets the PIN. Default 5, at
	// most 10.
	MaxPINFailures int
	// PIN holds the Argon2id parameters for new verifiers. Verifiers carry
	// their own parameters, so changing them affects only new PINs.
	PIN PINParams
	// MaxHashes limits the batch size of RequestOTP and Sign. Default 1000.
	MaxHashes int
	// MaxDataHeader limits the length of the data header in bytes. Default 256.
	MaxDataHeader int
	// Retention is how long finished transactions stay visible to Status.
	// Default 30 days.
	Retention time.Duration
	// PendingTimeout is the age after which a transaction still pending is
	// reported as expired and failed by [Service.Sweep]. Default 5 minutes.
	PendingTimeout time.Duration
	// ReplayWait bounds how long a retried Sign waits for a first call with
	// the same request id that is still in progress. Default 10 seconds.
	ReplayWait time.Duration
	// ArgonConcurrency bounds concurrent Argon2id evaluations (each uses
	// PIN.MemoryKiB of memory). Default 4.
	ArgonConcurrency int
	// DefaultAlgorithm is the key algorithm for Enrol when the request
	// names none. Default RSA-2048.
	DefaultAlgorithm roamsign.KeyAlgorithm
	// LateBinding allows challenges that bind no hashes
	// ([Service.RequestOTPLateBound]): their Sign binds the hashes it
	// names, and the audit records say so. Default false: every OTP is
	// bound to the exact hashes it approves.
	LateBinding bool
	// UserAnchors are the trust anchors of the CAs that issue users'
	// certificates. When set, ImportChain stores only a chain that
	// verifies to one of them (see [Service.ImportChain]); empty: the chain
	// is only checked to be in order, for deployments that check it
	// before the call.
	UserAnchors []*x509.Certificate
}

func (c Config) withDefaults() (Config, error) {
	const op = "service.New"
	if c.MaxPINFailures == 0 {
		c.MaxPINFailures = 5
	}
	if c.MaxPINFailures < 1 || c.MaxPINFailures > 10 {
		return c, roamsign.E(roamsign.ErrInvalidInput, op, "MaxPINFailures must be between 1 and 10, got %d", c.MaxPINFailures)
	}
	p, err := c.PIN.withDefaults()
	if err != nil {
		return c, err
	}
	c.PIN = p
	if c.MaxHashes <= 0 {
		c.MaxHashes = 1000
	}
	if c.MaxDataHeader <= 0 {
		c.MaxDataHeader = 256
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.PendingTimeout <= 0 {
		c.PendingTimeout = 5 * time.Minute
	}
	if c.ReplayWait <= 0 {
		c.ReplayWait = 10 * time.Second
	}
	if c.ArgonConcurrency <= 0 {
		c.ArgonConcurrency = 4
	}
	if c.DefaultAlgorithm == "" {
		c.DefaultAlgorithm = roamsign.RSA2048
	}
	if !c.DefaultAlgorithm.Valid() {
		return c, roamsign.E(roamsign.ErrInvalidInput, op, "unknown default key algorithm %q", c.DefaultAlgorithm)
	}
	return c, nil
}

// Deps are the parts the service is assembled from. Store, Keys and
// Challenges are required.
type Deps struct {
	Store      Store
	Keys       KeyStore
	Challenges Challenger
	// Forms maps output forms to their signers. FormRaw defaults to
	// [RawSigner]; FormCMS must be supplied (signer/cms) to be offered.
	Forms map[roamsign.OutputForm]FormSigner
	// Pepper, when set, MACs PINs with an HSM-held key before Argon2id.
	Pepper Pepper
	// Directory, when set, answers Medium for users not enrolled here.
	Directory Directory
	// Metrics, when set, receives per-step counts and latencies.
	Metrics Metrics
	// Logger receives structured logs; default slog.Default(). No PIN, OTP
	// or key material is ever logged.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service is the server core: it implements [roamsign.API] and
// [roamsign.Admin] from the injected parts. It is safe for concurrent use;
// all shared state lives in the store.
type Service struct {
	cfg      Config
	store    Store
	keys     KeyStore
	chal     Challenger
	forms    map[roamsign.OutputForm]FormSigner
	pep      Pepper
	dir      Directory
	met      Metrics
	log      *slog.Logger
	now      func() time.Time
	argonSem chan struct{}
	userLock [userStripes]chan struct{}
}

// userStripes is the number of per-user activation locks; users hash onto
// them.
const userStripes = 1024

// lockUser serialises activations of one user in this process. The wait
// honours ctx.
func (s *Service) lockUser(ctx context.Context, id roamsign.UserID) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(id))
	l := s.userLock[h.Sum32()%userStripes]
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, "service.lockUser", ctx.Err(), "waiting for another attempt of this user")
	}
}

var (
	_ roamsign.API   = (*Service)(nil)
	_ roamsign.Admin = (*Service)(nil)
)

// New assembles a service. It validates cfg and the required deps.
func New(cfg Config, deps Deps) (*Service, error) {
	const op = "service.New"
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Keys == nil || deps.Challenges == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "Store, Keys and Challenges are required")
	}
	s := &Service{
		cfg:      cfg,
		store:    deps.Store,
		keys:     deps.Keys,
		chal:     deps.Challenges,
		forms:    map[roamsign.OutputForm]FormSigner{roamsign.FormRaw: RawSigner{}},
		pep:      deps.Pepper,
		dir:      deps.Directory,
		met:      deps.Metrics,
		log:      deps.Logger,
		now:      deps.Now,
		argonSem: make(chan struct{}, cfg.ArgonConcurrency),
	}
	for i := range s.userLock {
		s.userLock[i] = make(chan struct{}, 1)
	}
	for f, fs := range deps.Forms {
		if fs == nil {
			delete(s.forms, f)
			continue
		}
		s.forms[f] = fs
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Sweep applies the retention policy: pending transactions older than
// PendingTimeout become failed (no signature was returned for them) and
// finished ones older than Retention are deleted. Run it periodically.
func (s *Service) Sweep(ctx context.Context) (failed, deleted int, err error) {
	now := s.now()
	failed, deleted, err = s.store.ExpireTransactions(ctx, now.Add(-s.cfg.PendingTimeout), now.Add(-s.cfg.Retention))
	if err != nil {
		return 0, 0, wrapStore("service.Sweep", err)
	}
	return failed, deleted, nil
}

// observe reports a step to Metrics; errp is read when observe runs, so
// it can be deferred.
func (s *Service) observe(step string, start time.Time, errp *error) {
	if s.met == nil {
		return
	}
	outcome := "ok"
	if *errp != nil {
		outcome = kindOr(*errp, roamsign.ErrInternal).Code()
	}
	s.met.ObserveStep(step, outcome, time.Since(start))
}

// hostOf returns the authenticated host from ctx or ErrUnauthenticated.
func hostOf(ctx context.Context, op string) (roamsign.HostID, error) {
	h, ok := roamsign.HostFromContext(ctx)
	if !ok {
		return "", roamsign.E(roamsign.ErrUnauthenticated, op, "no authenticated host system")
	}
	return h, nil
}

// userForHost loads a user that host may act for. A user that does not
// exist and one not enrolled for host look the same (ErrNotFound), so a
// host cannot probe other hosts' users.
func (s *Service) userForHost(ctx context.Context, op string, id roamsign.UserID, host roamsign.HostID) (*roamsign.UserRecord, error) {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		if errors.Is(err, roamsign.ErrNotFound) {
			return nil, roamsign.E(roamsign.ErrNotFound, op, "user not enrolled for this host")
		}
		return nil, wrapStore(op, err)
	}
	if !u.EnrolledFor(host) {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "user not enrolled for this host")
	}
	return u, nil
}

// wrapStore keeps a store error's kind and adds the operation.
func wrapStore(op string, err error) error {
	return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "")
}

// newID returns 128 random bits as hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, "service.newID", err, "random source failed")
	}
	return hex.EncodeToString(b[:]), nil
}

// parseChain parses a DER chain, leaf first.
func parseChain(op string, ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "empty certificate chain")
	}
	if len(ders) > 10 {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "certificate chain of %d exceeds 10", len(ders))
	}
	out := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "certificate "+strconv.Itoa(i)+" does not parse")
		}
		out[i] = c
	}
	return out, nil
}

// kindOr returns err's kind, or def when it has none.
func kindOr(err error, def roamsign.Kind) roamsign.Kind {
	if k := roamsign.KindOf(err); k != roamsign.KindUnknown {
		return k
	}
	return def
}

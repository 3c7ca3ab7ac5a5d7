package medium

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"sync"

	"github.com/roamsign/roamsign"
)

// Answer says which signing media a user holds and which one to use with a
// host. Certificate summarises the roaming certificate when Use is a
// server-side medium and a chain is known.
type Answer struct {
	User        roamsign.UserID
	Media       []roamsign.MediumKind
	Use         roamsign.MediumKind
	Certificate *roamsign.CertificateSummary
}

// Response converts the answer to the API's response type.
func (a *Answer) Response() *roamsign.MediumResponse {
	return &roamsign.MediumResponse{User: a.User, Media: slices.Clone(a.Media), Use: a.Use, Certificate: cloneSummary(a.Certificate)}
}

func (a *Answer) clone() *Answer {
	if a == nil {
		return nil
	}
	return &Answer{User: a.User, Media: slices.Clone(a.Media), Use: a.Use, Certificate: cloneSummary(a.Certificate)}
}

func cloneSummary(c *roamsign.CertificateSummary) *roamsign.CertificateSummary {
	if c == nil {
		return nil
	}
	d := *c
	return &d
}

// Resolver answers which signing medium a user has. Implementations
// return errors matching roamsign.ErrInvalidInput for a malformed user id,
// [ErrNotFound] (roamsign.ErrNotFound) for an unknown user,
// roamsign.ErrForbidden when no medium is usable with the host, and
// [ErrUnavailable] (roamsign.ErrUnavailable) when the directory cannot be
// asked.
type Resolver interface {
	Resolve(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*Answer, error)
}

// Errors of the resolvers; each also matches the root kind named.
var (
	// ErrNotFound: the directory does not know the user (roamsign.ErrNotFound).
	ErrNotFound error = &roamsign.Error{Kind: roamsign.ErrNotFound, Msg: "unknown user"}
	// ErrUnavailable: the directory could not be asked or answered
	// nonsense (roamsign.ErrUnavailable).
	ErrUnavailable error = &roamsign.Error{Kind: roamsign.ErrUnavailable, Msg: "directory unavailable"}
)

// preference is the order in which media are chosen when the host has no
// preference of its own: the flow this SDK serves first.
var preference = []roamsign.MediumKind{roamsign.MediumRoamingOTP, roamsign.MediumRoaming, roamsign.MediumSoftcert, roamsign.MediumToken}

// Choose picks the medium to use from media: preferred when the user holds
// it, else the first of roaming+OTP, roaming, softcert, token that the user
// holds. It returns "" when media holds no valid kind.
func Choose(media []roamsign.MediumKind, preferred roamsign.MediumKind) roamsign.MediumKind {
	if preferred != "" && slices.Contains(media, preferred) {
		return preferred
	}
	for _, k := range preference {
		if slices.Contains(media, k) {
			return k
		}
	}
	return ""
}

// Entry describes one user for the static resolver.
type Entry struct {
	Media []roamsign.MediumKind
	// Hosts lists the host systems the user's server-side media are
	// enrolled for; empty means no host (the rule of
	// [roamsign.UserRecord.EnrolledFor]). Client-side media (token,
	// softcert) are usable with any host.
	Hosts []roamsign.HostID
	// Prefer names a medium per host, used when the user holds it.
	Prefer map[roamsign.HostID]roamsign.MediumKind
	// Chain is the roaming certificate chain, leaf first, DER.
	Chain [][]byte
	// Disabled removes the server-side media (roaming revoked).
	Disabled bool
}

// answer builds the answer for host from the user's data.
func answer(op string, user roamsign.UserID, host roamsign.HostID, e *Entry) (*Answer, error) {
	var media []roamsign.MediumKind
	for _, k := range e.Media {
		if k.Valid() && !slices.Contains(media, k) {
			media = append(media, k)
		}
	}
	usable := make([]roamsign.MediumKind, 0, len(media))
	enrolled := (&roamsign.UserRecord{Hosts: e.Hosts}).EnrolledFor(host)
	for _, k := range media {
		if k.ServerSide() && (e.Disabled || !enrolled) {
			continue
		}
		usable = append(usable, k)
	}
	use := Choose(usable, e.Prefer[host])
	if use == "" {
		return nil, roamsign.E(roamsign.ErrForbidden, op, "user has no signing medium usable with this host")
	}
	a := &Answer{User: user, Media: media, Use: use}
	if use.ServerSide() && len(e.Chain) > 0 {
		s, err := Summarize(e.Chain)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "roaming certificate")
		}
		a.Certificate = s
	}
	return a, nil
}

// MaxCertificateSize bounds a DER certificate given to [Summarize].
const MaxCertificateSize = 64 << 10

// Summarize parses the leaf (first) certificate of chain and returns what
// the signing screen shows: subject, issuer, serial number (lower-case
// hexadecimal of the serial's big-endian bytes, as in the audit log) and
// validity.
func Summarize(chain [][]byte) (*roamsign.CertificateSummary, error) {
	const op = "medium.Summarize"
	if len(chain) == 0 || len(chain[0]) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "empty certificate chain")
	}
	if len(chain[0]) > MaxCertificateSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "certificate larger than %d bytes", MaxCertificateSize)
	}
	c, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "parsing certificate")
	}
	return &roamsign.CertificateSummary{
		Subject: roamsign.FormatDN(c.RawSubject), Issuer: roamsign.FormatDN(c.RawIssuer), SerialNumber: hex.EncodeToString(c.SerialNumber.Bytes()),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
	}, nil
}

func checkUser(op string, user roamsign.UserID) error {
	if _, err := roamsign.ParseUserID(string(user)); err != nil || !user.Valid() {
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "invalid user id")
	}
	return nil
}

// Static is an in-memory resolver, for tests, examples and small fixed
// deployments. It is safe for concurrent use.
type Static struct {
	mu    sync.RWMutex
	users map[roamsign.UserID]*Entry
}

var _ Resolver = (*Static)(nil)

// NewStatic returns a resolver over a copy of users.
func NewStatic(users map[roamsign.UserID]Entry) (*Static, error) {
	s := &Static{users: map[roamsign.UserID]*Entry{}}
	for id, e := range users {
		if err := s.Set(id, e); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Set adds or replaces a user. The id must be a valid MyKad number and
// every medium a defined kind.
func (s *Static) Set(user roamsign.UserID, e Entry) error {
	const op = "medium.Static.Set"
	if err := checkUser(op, user); err != nil {
		return err
	}
	for _, k := range e.Media {
		if !k.Valid() {
			return roamsign.E(roamsign.ErrInvalidInput, op, "unknown signing medium %q", k)
		}
	}
	c := Entry{Media: slices.Clone(e.Media), Hosts: slices.Clone(e.Hosts), Chain: slices.Clone(e.Chain), Disabled: e.Disabled, Prefer: map[roamsign.HostID]roamsign.MediumKind{}}
	for h, k := range e.Prefer {
		c.Prefer[h] = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users == nil {
		s.users = map[roamsign.UserID]*Entry{}
	}
	s.users[user] = &c
	return nil
}

// Resolve implements Resolver.
func (s *Static) Resolve(_ context.Context, user roamsign.UserID, host roamsign.HostID) (*Answer, error) {
	const op = "medium.Static.Resolve"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	s.mu.RLock()
	e, ok := s.users[user]
	s.mu.RUnlock()
	if !ok {
		return nil, roamsign.Wrap(roamsign.ErrNotFound, op, ErrNotFound, "")
	}
	return answer(op, user, host, e)
}

// UserStore is the part of the store the store-backed resolver needs: a
// subset of the store contract.
type UserStore interface {
	GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error)
}

// StoreResolver answers from the service's user records.
type StoreResolver struct {
	store UserStore
}

var _ Resolver = (*StoreResolver)(nil)

// NewStoreResolver returns a resolver over st.
func NewStoreResolver(st UserStore) *StoreResolver { return &StoreResolver{store: st} }

// Resolve implements Resolver.
func (r *StoreResolver) Resolve(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*Answer, error) {
	const op = "medium.StoreResolver.Resolve"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	u, err := r.store.GetUser(ctx, user)
	if err != nil {
		if roamsign.KindOf(err) == roamsign.ErrNotFound {
			return nil, roamsign.Wrap(roamsign.ErrNotFound, op, ErrNotFound, "")
		}
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "user store unavailable")
	}
	media := u.Media
	if len(media) == 0 && len(u.Chain) > 0 {
		// An enrolled roaming user with no explicit media list.
		media = []roamsign.MediumKind{roamsign.MediumRoamingOTP}
	}
	return answer(op, user, host, &Entry{Media: media, Hosts: u.Hosts, Chain: u.Chain, Disabled: u.Disabled})
}

package servercert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// HSTSMinMaxAge is the smallest HSTS max-age (180 days, in seconds) that
// counts towards an A+.
const HSTSMinMaxAge = 15552000

// GradeRequest names the endpoint to grade and how to judge it.
type GradeRequest struct {
	// Address is host:port to connect to.
	Address string
	// ServerName is the host name sent in SNI and checked against the
	// certificate; empty means the host part of Address.
	ServerName string
	// Roots are the trust anchors; nil means the system roots.
	Roots *x509.CertPool
	// Intermediates are intermediate certificates known to the grader (as a
	// browser's cache would hold them). They are used only to tell a server
	// that forgot to send its intermediate (grade capped at B) from one whose
	// chain is untrusted (T).
	Intermediates *x509.CertPool
	// Now is the clock for validity checks; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each probe connection; zero means 5 seconds.
	Timeout time.Duration
	// SkipHTTP leaves out the HTTP request that reads the HSTS header (for
	// TLS services that are not HTTPS). The report then cannot reach A+.
	SkipHTTP bool
	// HTTPPath is the path requested for the HSTS check; empty means "/".
	HTTPPath string
	// Logger receives one debug record per probe; nil discards them.
	Logger *slog.Logger
}

// ProtocolResult says whether one protocol version was accepted.
type ProtocolResult struct {
	Name      string `json:"name"`
	Tested    bool   `json:"tested"`
	Supported bool   `json:"supported"`
	Note      string `json:"note,omitempty"`
}

// SuiteResult describes one cipher suite the server accepted.
type SuiteResult struct {
	Name           string `json:"name"`
	ID             uint16 `json:"id"`
	Protocol       string `json:"protocol"`
	Bits           int    `json:"bits"`
	ForwardSecrecy bool   `json:"forward_secrecy"`
	AEAD           bool   `json:"aead"`
	Weak           string `json:"weak,omitempty"` // why the suite is weak, "" if it is not
}

// Cap is one rule that limited the grade.
type Cap struct {
	Grade  string `json:"grade"`
	Reason string `json:"reason"`
}

// GradeReport is the outcome of [Grade].
type GradeReport struct {
	Address    string `json:"address"`
	ServerName string `json:"server_name"`
	// Grade is the final grade: A+, A, A-, B, C, D, E, F, or T (trust
	// problem: expired, untrusted, revoked) or M (name mismatch).
	Grade string `json:"grade"`
	// GradeIgnoringTrust is the grade the configuration earns if the
	// trust and name problems were fixed.
	GradeIgnoringTrust string `json:"grade_ignoring_trust"`
	Score              int    `json:"score"`
	ProtocolScore      int    `json:"protocol_score"`
	KeyExchangeScore   int    `json:"key_exchange_score"`
	CipherScore        int    `json:"cipher_score"`

	Protocols      []ProtocolResult `json:"protocols"`
	Suites         []SuiteResult    `json:"suites"`
	PreferredSuite string           `json:"preferred_suite"`

	Chain         []CertSummary `json:"chain"`
	ChainInOrder  bool          `json:"chain_in_order"`
	ChainComplete bool          `json:"chain_complete"`
	Trusted       bool          `json:"trusted"`
	NameMatches   bool          `json:"name_matches"`

	OCSPStapled bool   `json:"ocsp_stapled"`
	OCSPStatus  string `json:"ocsp_status,omitempty"`

	HSTS       string `json:"hsts,omitempty"`
	HSTSMaxAge int64  `json:"hsts_max_age"`

	Caps    []Cap    `json:"caps"`
	Reasons []string `json:"reasons"`
}

var grades = []string{"A+", "A", "A-", "B", "C", "D", "E", "F"}

func gradeRank(g string) int { return slices.Index(grades, g) }

// Grade connects to a live TLS endpoint, probes protocol versions and
// cipher suites one by one, checks the served chain, host name, OCSP
// stapling and the HSTS header, and grades it by the rules in the package
// documentation. Each probe is bounded by ctx and req.Timeout.
//
// An endpoint that cannot be reached, or with which no handshake succeeds,
// gets [roamsign.ErrUnavailable].
func Grade(ctx context.Context, req GradeRequest) (*GradeReport, error) {
	const op = "servercert.Grade"
	host, _, err := net.SplitHostPort(req.Address)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "address must be host:port")
	}
	p := &prober{req: req, serverName: req.ServerName}
	if p.serverName == "" {
		p.serverName = host
	}
	if p.req.Logger == nil {
		p.req.Logger = slog.New(slog.DiscardHandler)
	}
	if p.req.Timeout == 0 {
		p.req.Timeout = 5 * time.Second
	}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	rep := &GradeReport{Address: req.Address, ServerName: p.serverName, Caps: []Cap{}, Reasons: []string{}}

	// Reachability first, so that a dead endpoint is an error, not an F.
	conn, err := p.dial(ctx)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot connect to "+req.Address)
	}
	_ = conn.Close()
	supported, best, err := p.probeProtocols(ctx, rep)
	if err != nil {
		return nil, err
	}
	// The suite a default modern client gets.
	if st, err := p.handshake(ctx, p.config()); err == nil {
		rep.PreferredSuite = tls.CipherSuiteName(st.CipherSuite)
	}
	if err := p.probeSuites(ctx, rep, supported, best); err != nil {
		return nil, err
	}
	p.judgeChain(rep, best, now())
	p.judgeOCSP(rep, best)
	if !req.SkipHTTP {
		p.checkHSTS(ctx, rep)
	}
	scoreAndCap(rep, supported, best)
	return rep, nil
}

type prober struct {
	req        GradeRequest
	serverName string
}

func (p *prober) config() *tls.Config {
	cfg := &tls.Config{
		// The chain is verified separately, so that an untrusted or
		// mismatched certificate is reported rather than refused.
		InsecureSkipVerify: true, //nolint:gosec // verified in judgeChain
		MinVersion:         tls.VersionTLS12,
	}
	if net.ParseIP(p.serverName) == nil {
		cfg.ServerName = p.serverName
	}
	return cfg
}

func (p *prober) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: p.req.Timeout}
	return d.DialContext(ctx, "tcp", p.req.Address)
}

func (p *prober) handshake(ctx context.Context, cfg *tls.Config) (*tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, p.req.Timeout)
	defer cancel()
	raw, err := p.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		p.req.Logger.LogAttrs(ctx, slog.LevelDebug, "tls probe refused", slog.String("addr", p.req.Address),
			slog.String("max_version", tls.VersionName(cfg.MaxVersion)), slog.Int("suites", len(cfg.CipherSuites)), slog.String("error", err.Error()))
		return nil, err
	}
	st := c.ConnectionState()
	p.req.Logger.LogAttrs(ctx, slog.LevelDebug, "tls probe accepted", slog.String("addr", p.req.Address),
		slog.String("version", tls.VersionName(st.Version)), slog.String("suite", tls.CipherSuiteName(st.CipherSuite)))
	return &st, nil
}

// probeProtocols tries each protocol version, newest first, and returns
// the versions accepted and the first successful handshake, which gives
// the certificate. No successful handshake is ErrUnavailable.
func (p *prober) probeProtocols(ctx context.Context, rep *GradeReport) (map[uint16]bool, *tls.ConnectionState, error) {
	const op = "servercert.Grade"
	rep.Protocols = append(rep.Protocols,
		ProtocolResult{Name: "SSLv2", Note: "not tested: Go's TLS client cannot speak SSLv2"},
		ProtocolResult{Name: "SSLv3", Note: "not tested: Go's TLS client cannot speak SSLv3 (check with another tool if in doubt)"})
	versions := []uint16{tls.VersionTLS13, tls.VersionTLS12, tls.VersionTLS11, tls.VersionTLS10}
	supported := map[uint16]bool{}
	var best *tls.ConnectionState
	var lastErr error
	for _, v := range versions {
		cfg := p.config()
		cfg.MinVersion, cfg.MaxVersion = v, v
		if v != tls.VersionTLS13 {
			cfg.CipherSuites = allSuiteIDs()
		}
		st, err := p.handshake(ctx, cfg)
		if ctx.Err() != nil {
			return nil, nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "grading cancelled")
		}
		pr := ProtocolResult{Name: tls.VersionName(v), Tested: true, Supported: err == nil}
		if err == nil {
			supported[v] = true
			if best == nil {
				best = st
			}
		} else {
			lastErr = err
		}
		rep.Protocols = slices.Insert(rep.Protocols, 2, pr)
	}
	if best == nil {
		return nil, nil, roamsign.Wrap(roamsign.ErrUnavailable, op, lastErr, "no TLS handshake succeeded with "+p.req.Address)
	}
	return supported, best, nil
}

// probeSuites lists the accepted cipher suites: TLS 1.3 suites cannot be
// chosen by Go's client, so the negotiated one stands for them; TLS
// 1.0–1.2 suites are probed one by one at the highest such version
// offered.
func (p *prober) probeSuites(ctx context.Context, rep *GradeReport, supported map[uint16]bool, best *tls.ConnectionState) error {
	if supported[tls.VersionTLS13] {
		rep.Suites = append(rep.Suites, describeSuite(best.CipherSuite, tls.VersionTLS13))
	}
	var legacyMax, legacyMin uint16
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS11, tls.VersionTLS10} {
		if supported[v] {
			if legacyMax == 0 {
				legacyMax = v
			}
			legacyMin = v
		}
	}
	if legacyMax == 0 {
		return nil
	}
	for _, id := range allSuiteIDs() {
		s := suiteByID(id)
		if !slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool { return v >= legacyMin && v <= legacyMax }) {
			continue
		}
		cfg := p.config()
		cfg.MinVersion, cfg.MaxVersion = legacyMin, legacyMax
		cfg.CipherSuites = []uint16{id}
		st, err := p.handshake(ctx, cfg)
		if ctx.Err() != nil {
			return roamsign.Wrap(roamsign.ErrUnavailable, "servercert.Grade", ctx.Err(), "grading cancelled")
		}
		if err == nil {
			rep.Suites = append(rep.Suites, describeSuite(id, st.Version))
		}
	}
	return nil
}

func allSuiteIDs() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

func suiteByID(id uint16) *tls.CipherSuite {
	for _, s := range tls.CipherSuites() {
		if s.ID == id {
			return s
		}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.ID == id {
			return s
		}
	}
	return &tls.CipherSuite{ID: id, Name: tls.CipherSuiteName(id)}
}

func describeSuite(id, version uint16) SuiteResult {
	name := tls.CipherSuiteName(id)
	r := SuiteResult{Name: name, ID: id, Protocol: tls.VersionName(version)}
	r.ForwardSecrecy = version == tls.VersionTLS13 || strings.Contains(name, "_ECDHE_") || strings.Contains(name, "_DHE_")
	r.AEAD = strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")
	switch {
	case strings.Contains(name, "AES_128"):
		r.Bits = 128
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		r.Bits = 256
	case strings.Contains(name, "3DES"):
		r.Bits = 112
	case strings.Contains(name, "RC4"):
		r.Bits = 128
	}
	switch {
	case strings.Contains(name, "RC4"):
		r.Weak = "RC4 is broken"
	case strings.Contains(name, "3DES"):
		r.Weak = "3DES has a 64-bit block (Sweet32)"
	case !r.ForwardSecrecy:
		r.Weak = "RSA key exchange: no forward secrecy"
	case strings.HasSuffix(name, "_CBC_SHA"):
		r.Weak = "CBC mode with SHA-1 MAC"
	case strings.HasSuffix(name, "_CBC_SHA256"):
		r.Weak = "CBC mode (Lucky13-prone)"
	}
	return r
}

// Text renders the report for people.
func (r *GradeReport) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Grade %s for %s (%s)", r.Grade, r.ServerName, r.Address)
	if r.Grade != r.GradeIgnoringTrust {
		fmt.Fprintf(&b, " — %s if trust/name issues were fixed", r.GradeIgnoringTrust)
	}
	fmt.Fprintf(&b, "\nScore %d (protocol %d, key exchange %d, cipher %d)\n", r.Score, r.ProtocolScore, r.KeyExchangeScore, r.CipherScore)
	b.WriteString("Protocols:\n")
	for _, p := range r.Protocols {
		state := "no"
		switch {
		case !p.Tested:
			state = "not tested"
		case p.Supported:
			state = "yes"
		}
		fmt.Fprintf(&b, "  %-8s %s", p.Name, state)
		if p.Note != "" {
			fmt.Fprintf(&b, " (%s)", p.Note)
		}
		b.WriteString("\n")
	}
	b.WriteString("Cipher suites:\n")
	for _, s := range r.Suites {
		fmt.Fprintf(&b, "  %-8s %s", s.Protocol, s.Name)
		if s.Weak != "" {
			fmt.Fprintf(&b, "  WEAK: %s", s.Weak)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Chain: %d certificates served, in order: %v, complete: %v, trusted: %v, name matches: %v\n", len(r.Chain), r.ChainInOrder, r.ChainComplete, r.Trusted, r.NameMatches)
	fmt.Fprintf(&b, "OCSP stapling: %v %s\n", r.OCSPStapled, r.OCSPStatus)
	if r.HSTS != "" {
		fmt.Fprintf(&b, "HSTS: %s\n", r.HSTS)
	} else {
		b.WriteString("HSTS: none\n")
	}
	for _, x := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", x)
	}
	return b.String()
}

package servercert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/ocsp"
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

	// Protocols, newest first; the first success gives the certificate.
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
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "grading cancelled")
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
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, lastErr, "no TLS handshake succeeded with "+req.Address)
	}

	// The suite a default modern client gets.
	if st, err := p.handshake(ctx, p.config()); err == nil {
		rep.PreferredSuite = tls.CipherSuiteName(st.CipherSuite)
	}

	// Cipher suites: TLS 1.3 suites cannot be chosen by Go's client, so the
	// negotiated one stands for them; TLS 1.0–1.2 suites are probed one by
	// one at the highest such version offered.
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
	if legacyMax != 0 {
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
				return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "grading cancelled")
			}
			if err == nil {
				rep.Suites = append(rep.Suites, describeSuite(id, st.Version))
			}
		}
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

func (p *prober) judgeChain(rep *GradeReport, st *tls.ConnectionState, at time.Time) {
	certs := st.PeerCertificates
	leaf := certs[0]
	for i, c := range certs {
		role := "intermediate"
		if i == 0 {
			role = "leaf"
		} else if isSelfSigned(c) {
			role = "root"
		}
		rep.Chain = append(rep.Chain, summarize(role, c))
	}
	// Order: each certificate is issued by the next one.
	rep.ChainInOrder = true
	for i := 0; i+1 < len(certs); i++ {
		if !bytes.Equal(certs[i].RawIssuer, certs[i+1].RawSubject) || certs[i].CheckSignatureFrom(certs[i+1]) != nil {
			rep.ChainInOrder = false
		}
	}
	served := x509.NewCertPool()
	for _, c := range certs[1:] {
		served.AddCert(c)
	}
	roots := p.req.Roots
	if roots == nil {
		if sys, err := x509.SystemCertPool(); err == nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
	}
	// Trust is judged at a time when every served certificate is valid;
	// dates are judged separately below.
	vt := at
	for _, c := range certs {
		if c.NotBefore.After(vt) {
			vt = c.NotBefore.Add(time.Second)
		}
		if c.NotAfter.Before(vt) {
			vt = c.NotAfter.Add(-time.Second)
		}
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: served, CurrentTime: vt, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	chains, err := leaf.Verify(opts)
	switch {
	case err == nil:
		rep.Trusted, rep.ChainComplete = true, true
	case p.req.Intermediates != nil:
		extra := p.req.Intermediates.Clone()
		for _, c := range certs[1:] {
			extra.AddCert(c)
		}
		opts.Intermediates = extra
		chains, err = leaf.Verify(opts)
		if err == nil {
			rep.Trusted = true
			addCap(rep, "B", "chain incomplete: the server does not send its intermediate certificate")
		}
	}
	if !rep.Trusted {
		var ua x509.UnknownAuthorityError
		reason := "certificate is not trusted"
		switch {
		case errors.As(err, &ua) && len(certs) == 1 && isSelfSigned(leaf):
			reason = "self-signed certificate"
		case errors.As(err, &ua):
			reason = "chain does not lead to a trusted root (incomplete chain or unknown CA)"
		case err != nil:
			reason = "certificate is not trusted: " + err.Error()
		}
		addCap(rep, "T", reason)
	}
	if !rep.ChainInOrder {
		addCap(rep, "A-", "chain served out of order (or with unrelated certificates)")
	}
	for _, c := range certs {
		if at.After(c.NotAfter) {
			addCap(rep, "T", fmt.Sprintf("%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly)))
		} else if at.Before(c.NotBefore) {
			addCap(rep, "T", fmt.Sprintf("%q not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.DateOnly)))
		}
	}
	if len(chains) > 0 {
		for _, c := range chains[0][:len(chains[0])-1] {
			if weakSignature(c.SignatureAlgorithm) {
				addCap(rep, "T", fmt.Sprintf("%q is signed with %s", c.Subject.CommonName, c.SignatureAlgorithm))
			}
		}
	}
	rep.NameMatches = leaf.VerifyHostname(p.serverName) == nil
	if !rep.NameMatches {
		addCap(rep, "M", fmt.Sprintf("certificate names (%s) do not match %s", strings.Join(leaf.DNSNames, ", "), p.serverName))
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok {
		switch bits := k.N.BitLen(); {
		case bits < 1024:
			addCap(rep, "F", fmt.Sprintf("RSA key of %d bits", bits))
		case bits < 2048:
			addCap(rep, "B", fmt.Sprintf("RSA key of %d bits (2048 needed)", bits))
		}
	}
}

func (p *prober) judgeOCSP(rep *GradeReport, st *tls.ConnectionState) {
	if len(st.OCSPResponse) == 0 {
		rep.Reasons = append(rep.Reasons, "info: no OCSP response stapled")
		return
	}
	rep.OCSPStapled = true
	var issuer *x509.Certificate
	if len(st.PeerCertificates) > 1 {
		issuer = st.PeerCertificates[1]
	}
	resp, err := ocsp.ParseResponseForCert(st.OCSPResponse, st.PeerCertificates[0], issuer)
	if err != nil {
		rep.OCSPStatus = "invalid"
		rep.Reasons = append(rep.Reasons, "warning: stapled OCSP response does not parse or verify: "+err.Error())
		return
	}
	switch resp.Status {
	case ocsp.Good:
		rep.OCSPStatus = "good"
	case ocsp.Revoked:
		rep.OCSPStatus = "revoked"
		addCap(rep, "T", "stapled OCSP response says the certificate is revoked")
	default:
		rep.OCSPStatus = "unknown"
	}
}

func (p *prober) checkHSTS(ctx context.Context, rep *GradeReport) {
	path := p.req.HTTPPath
	if path == "" {
		path = "/"
	}
	ctx, cancel := context.WithTimeout(ctx, p.req.Timeout)
	defer cancel()
	cfg := p.config()
	cfg.MinVersion, cfg.CipherSuites = tls.VersionTLS10, allSuiteIDs() // reach any server that answered a probe
	tr := &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return p.dial(ctx)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	u := "https://" + net.JoinHostPort(p.serverName, portOf(p.req.Address)) + path
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		rep.Reasons = append(rep.Reasons, "warning: cannot build the HTTP request: "+err.Error())
		return
	}
	resp, err := client.Do(hreq)
	if err != nil {
		rep.Reasons = append(rep.Reasons, "warning: HTTP request over TLS failed, HSTS unknown: "+err.Error())
		return
	}
	_ = resp.Body.Close()
	rep.HSTS = resp.Header.Get("Strict-Transport-Security")
	rep.HSTSMaxAge = hstsMaxAge(rep.HSTS)
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// hstsMaxAge returns the max-age directive of an HSTS header, or -1 when
// the header is absent or malformed.
func hstsMaxAge(h string) int64 {
	if h == "" {
		return -1
	}
	for _, d := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "max-age") {
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
			if err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}

func addCap(rep *GradeReport, grade, reason string) {
	for _, c := range rep.Caps {
		if c.Grade == grade && c.Reason == reason {
			return
		}
	}
	rep.Caps = append(rep.Caps, Cap{Grade: grade, Reason: reason})
}

// strengthScore maps a key size in RSA-equivalent bits to the key-exchange
// score of the rating guide.
func strengthScore(bits int) int {
	switch {
	case bits < 512:
		return 20
	case bits < 1024:
		return 40
	case bits < 2048:
		return 80
	case bits < 4096:
		return 90
	}
	return 100
}

func cipherScore(bits int) int {
	switch {
	case bits == 0:
		return 0
	case bits < 128:
		return 20
	case bits < 256:
		return 80
	}
	return 100
}

func protocolScore(v uint16) int {
	switch v {
	case tls.VersionTLS10:
		return 90
	case tls.VersionTLS11:
		return 95
	}
	return 100
}

func scoreAndCap(rep *GradeReport, supported map[uint16]bool, best *tls.ConnectionState) {
	// Protocol score: average of the best and the worst version offered.
	var lo, hi uint16
	for v := range supported {
		if lo == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	rep.ProtocolScore = (protocolScore(lo) + protocolScore(hi)) / 2

	// Key exchange: the weakest exchange offered, in RSA-equivalent bits.
	// ECDHE over P-256/X25519 counts as 3072 bits, P-384 and hybrid
	// post-quantum groups as 7680.
	ecdhe := 3072
	switch best.CurveID {
	case tls.CurveP384, tls.CurveP521, tls.X25519MLKEM768:
		ecdhe = 7680
	}
	leafBits := 0
	switch k := best.PeerCertificates[0].PublicKey.(type) {
	case *rsa.PublicKey:
		leafBits = k.N.BitLen()
	case *ecdsa.PublicKey:
		leafBits = map[int]int{256: 3072, 384: 7680, 521: 15360}[k.Curve.Params().BitSize]
	}
	kx := 0
	minBits, maxBits := 0, 0
	var fs, aead, anyRC4, any3DES, anyCBCSHA1, anyRSAKex bool
	for _, s := range rep.Suites {
		b := ecdhe
		if !s.ForwardSecrecy {
			b = leafBits
			anyRSAKex = true
		}
		if kx == 0 || b < kx {
			kx = b
		}
		if minBits == 0 || s.Bits < minBits {
			minBits = s.Bits
		}
		if s.Bits > maxBits {
			maxBits = s.Bits
		}
		fs = fs || s.ForwardSecrecy
		aead = aead || s.AEAD
		anyRC4 = anyRC4 || strings.Contains(s.Name, "RC4")
		any3DES = any3DES || strings.Contains(s.Name, "3DES")
		anyCBCSHA1 = anyCBCSHA1 || strings.HasSuffix(s.Name, "_CBC_SHA")
	}
	if kx == 0 {
		kx = ecdhe
	}
	if leafBits > 0 && leafBits < kx {
		kx = leafBits // the certificate key authenticates every exchange
	}
	rep.KeyExchangeScore = strengthScore(kx)
	rep.CipherScore = (cipherScore(minBits) + cipherScore(maxBits)) / 2
	rep.Score = (30*rep.ProtocolScore + 30*rep.KeyExchangeScore + 40*rep.CipherScore) / 100

	// Cap rules (see the package documentation).
	if !supported[tls.VersionTLS12] && !supported[tls.VersionTLS13] {
		addCap(rep, "C", "neither TLS 1.2 nor TLS 1.3 is supported")
	}
	if supported[tls.VersionTLS10] || supported[tls.VersionTLS11] {
		addCap(rep, "B", "TLS 1.0 or TLS 1.1 is enabled")
	}
	if anyRC4 {
		addCap(rep, "C", "RC4 cipher suites are enabled")
	}
	if any3DES {
		addCap(rep, "C", "3DES cipher suites are enabled (Sweet32)")
	}
	if !fs {
		addCap(rep, "B", "no forward secrecy: no ECDHE suite and no TLS 1.3")
	}
	if !aead {
		addCap(rep, "B", "no AEAD cipher suite (GCM or ChaCha20-Poly1305)")
	}
	if fs && anyRSAKex {
		addCap(rep, "A-", "suites without forward secrecy (RSA key exchange) are enabled")
	}
	if anyCBCSHA1 {
		addCap(rep, "A-", "weak CBC suites with SHA-1 MAC are enabled")
	}

	base := "F"
	switch s := rep.Score; {
	case s >= 80:
		base = "A"
	case s >= 65:
		base = "B"
	case s >= 50:
		base = "C"
	case s >= 35:
		base = "D"
	case s >= 20:
		base = "E"
	}
	g := base
	for _, c := range rep.Caps {
		if r := gradeRank(c.Grade); r >= 0 && r > gradeRank(g) {
			g = c.Grade
		}
	}
	if g == "A" {
		switch {
		case rep.HSTSMaxAge >= HSTSMinMaxAge && supported[tls.VersionTLS13]:
			g = "A+"
		case rep.HSTSMaxAge >= HSTSMinMaxAge:
			rep.Reasons = append(rep.Reasons, "no A+: TLS 1.3 is not enabled")
		case rep.HSTSMaxAge >= 0:
			rep.Reasons = append(rep.Reasons, fmt.Sprintf("no A+: HSTS max-age %d is below %d (180 days)", rep.HSTSMaxAge, HSTSMinMaxAge))
		default:
			rep.Reasons = append(rep.Reasons, "no A+: no Strict-Transport-Security (HSTS) header")
		}
	}
	rep.GradeIgnoringTrust = g
	rep.Grade = g
	var trust, mismatch bool
	for _, c := range rep.Caps {
		trust = trust || c.Grade == "T"
		mismatch = mismatch || c.Grade == "M"
	}
	switch {
	case trust:
		rep.Grade = "T"
	case mismatch:
		rep.Grade = "M"
	}
	reasons := make([]string, 0, len(rep.Caps)+len(rep.Reasons))
	for _, c := range rep.Caps {
		reasons = append(reasons, "cap "+c.Grade+": "+c.Reason)
	}
	rep.Reasons = append(reasons, rep.Reasons...)
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

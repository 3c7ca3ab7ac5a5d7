package verify

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// RevocationPolicy selects the revocation sources.
type RevocationPolicy int

// Revocation policies. The zero value checks CRLs only.
const (
	// RevocationCRL decides from CRLs only.
	RevocationCRL RevocationPolicy = iota
	// RevocationOCSP decides from OCSP only (Config.OCSP required).
	RevocationOCSP
	// RevocationCRLOrOCSP tries CRLs and falls back to OCSP when the CRL
	// cannot decide; a "revoked" from either source wins.
	RevocationCRLOrOCSP
)

// Extended key usages accepted by default on a signing certificate that
// carries an EKU extension.
var (
	OIDEKUEmailProtection    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
	OIDEKUDocumentSigning    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	OIDEKUMSDocumentSigning  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 12}
	OIDEKUAdobeAuthenticDocs = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}
	OIDEKUTimeStamping       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidEKUAny                = asn1.ObjectIdentifier{2, 5, 29, 37, 0}
)

// Config configures a [Verifier]. The zero values of the optional fields are
// the safe defaults documented on each.
type Config struct {
	// Anchors are the only trust anchors. Certificates carried in a
	// signature are used as intermediates, never as anchors. Required.
	Anchors []*x509.Certificate
	// TSAAnchors are the anchors for timestamp authorities; nil uses Anchors.
	TSAAnchors []*x509.Certificate
	// KeyUsage lists the key usage bits of which the signing certificate must
	// have at least one; zero means digitalSignature | nonRepudiation. A
	// certificate without a key usage extension is refused.
	KeyUsage x509.KeyUsage
	// AllowedEKUs applies when the signing certificate has an EKU extension:
	// one of its purposes must be listed. Nil means emailProtection,
	// documentSigning (RFC 9336), Microsoft document signing and Adobe
	// authentic documents. A certificate without EKU extension passes.
	AllowedEKUs []asn1.ObjectIdentifier
	// AllowAnyEKU accepts anyExtendedKeyUsage on the signing certificate.
	// Off by default.
	AllowAnyEKU bool
	// Revocation selects the revocation sources (default CRL only).
	Revocation RevocationPolicy
	// Fetcher downloads CRLs; nil is an [HTTPFetcher] (http only, 10 s).
	Fetcher Fetcher
	// Cache is the CRL cache; nil gives the verifier a private one. Share one
	// cache between verifiers of the same process.
	Cache *CRLCache
	// MaxCRLSize caps a CRL download; zero means DefaultMaxCRLSize.
	MaxCRLSize int64
	// CRLMaxAge, when positive, refetches a cached CRL older than this even
	// before its nextUpdate.
	CRLMaxAge time.Duration
	// IgnoreDeltaCRLs skips delta CRLs advertised by certificates or CRLs.
	// Off by default: an advertised delta CRL must be obtained.
	IgnoreDeltaCRLs bool
	// OCSP is the OCSP client used by the OCSP policies.
	OCSP *OCSPClient
	// RejectRevokedAfterSigning makes a revocation after a trusted
	// (timestamped) signing time invalid too. By default such a signature is
	// valid and the revocation is reported with AfterSigningTime.
	RejectRevokedAfterSigning bool
	// MaxPDFSize caps a PDF document; zero means DefaultMaxPDFSize.
	MaxPDFSize int64
	// MaxSignatureSize caps a CMS signature; zero means 4 MiB.
	MaxSignatureSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Verifier verifies signatures against a fixed set of trust anchors. It is
// safe for concurrent use.
type Verifier struct {
	cfg        Config
	roots      *x509.CertPool
	tsaRoots   *x509.CertPool
	fetcher    Fetcher
	cache      *CRLCache
	maxCRLSize int64
	maxSig     int
	now        func() time.Time
	log        *slog.Logger
	ekus       []asn1.ObjectIdentifier
	keyUsage   x509.KeyUsage

	chainMu sync.Mutex
	chains  map[chainKey][][]*x509.Certificate
	certMu  sync.Mutex
	certs   map[string]*x509.Certificate
	infos   map[*x509.Certificate]CertInfo
	hashes  map[certHashKey][]byte
}

// New builds a verifier from cfg.
func New(cfg Config) (*Verifier, error) {
	const op = "verify.New"
	if len(cfg.Anchors) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "at least one trust anchor is required")
	}
	if (cfg.Revocation == RevocationOCSP || cfg.Revocation == RevocationCRLOrOCSP) && cfg.OCSP == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the OCSP revocation policy needs Config.OCSP")
	}
	v := &Verifier{
		cfg:        cfg,
		roots:      x509.NewCertPool(),
		tsaRoots:   x509.NewCertPool(),
		fetcher:    cfg.Fetcher,
		cache:      cfg.Cache,
		maxCRLSize: cfg.MaxCRLSize,
		maxSig:     cfg.MaxSignatureSize,
		now:        cfg.Now,
		log:        cfg.Logger,
		ekus:       cfg.AllowedEKUs,
		keyUsage:   cfg.KeyUsage,
		chains:     map[chainKey][][]*x509.Certificate{},
		certs:      map[string]*x509.Certificate{},
		infos:      map[*x509.Certificate]CertInfo{},
		hashes:     map[certHashKey][]byte{},
	}
	for _, a := range cfg.Anchors {
		if a == nil {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "nil trust anchor")
		}
		v.roots.AddCert(a)
	}
	tsa := cfg.TSAAnchors
	if tsa == nil {
		tsa = cfg.Anchors
	}
	for _, a := range tsa {
		v.tsaRoots.AddCert(a)
	}
	if v.fetcher == nil {
		v.fetcher = &HTTPFetcher{}
	}
	if v.cache == nil {
		v.cache = NewCRLCache()
	}
	if v.maxCRLSize <= 0 {
		v.maxCRLSize = DefaultMaxCRLSize
	}
	if v.maxSig <= 0 {
		v.maxSig = 4 << 20
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.ekus == nil {
		v.ekus = []asn1.ObjectIdentifier{OIDEKUEmailProtection, OIDEKUDocumentSigning, OIDEKUMSDocumentSigning, OIDEKUAdobeAuthenticDocs}
	}
	if v.keyUsage == 0 {
		v.keyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	return v, nil
}

// ChainRequest asks for a certificate to be validated.
type ChainRequest struct {
	// Leaf is the signing certificate.
	Leaf *x509.Certificate
	// Intermediates are candidate intermediates (for example those carried
	// in a signature). They are never trust anchors.
	Intermediates []*x509.Certificate
	// At is the trusted time to validate at; zero means the verifier's Now.
	At time.Time
	// Timestamped says At comes from a verified timestamp, which allows a
	// later revocation to be reported as "after signing".
	Timestamped bool
}

// VerifyChain validates a signing certificate: path to an anchor at the
// trusted time, key usage, and revocation of every certificate below the
// anchor. It never returns nil.
func (v *Verifier) VerifyChain(ctx context.Context, req ChainRequest) *Result {
	r := &Result{}
	now := v.now()
	at := req.At
	r.TimeSource = "timestamp"
	if at.IsZero() || !req.Timestamped {
		r.TimeSource = "verification-time"
	}
	if at.IsZero() {
		at = now
	}
	r.TrustedTime = at
	if req.Leaf == nil {
		r.add(CheckChain, Invalid, "no signing certificate")
		return r
	}
	v.checkCert(ctx, r, req.Leaf, req.Intermediates, revocationCtx{now: now, trusted: at, timestamped: req.Timestamped})
	return r
}

// checkCert adds the key-usage, chain and revocation checks for leaf.
func (v *Verifier) checkCert(ctx context.Context, r *Result, leaf *x509.Certificate, inter []*x509.Certificate, rc revocationCtx) {
	ci := v.info(leaf)
	r.Signer = &ci
	kv, kr := v.keyUsageVerdict(leaf)
	r.add(CheckKeyUsage, kv, kr)
	chains, err := v.buildChains(leaf, inter, rc.trusted, v.roots, nil)
	if err != nil {
		r.add(CheckChain, Invalid, err.Error())
		return
	}
	// Prefer the first chain whose revocation status is good.
	var best []RevocationInfo
	var bestV Verdict
	var bestChain []*x509.Certificate
	var bestReason string
	for _, ch := range chains {
		infos, verdict, reason := v.chainRevocation(ctx, ch, rc)
		if bestChain == nil || verdict.rank() < bestV.rank() {
			best, bestV, bestChain, bestReason = infos, verdict, ch, reason
		}
		if verdict == Valid {
			break
		}
	}
	r.Chain = make([]CertInfo, 0, len(bestChain))
	for _, c := range bestChain {
		r.Chain = append(r.Chain, v.info(c))
	}
	r.add(CheckChain, Valid, "chains to "+v.info(bestChain[len(bestChain)-1]).Subject)
	r.Revocation = best
	r.add(CheckRevocation, bestV, bestReason)
}

func (v *Verifier) keyUsageVerdict(leaf *x509.Certificate) (Verdict, string) {
	if leaf.KeyUsage&v.keyUsage == 0 {
		return Invalid, "certificate key usage does not allow signing"
	}
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return Valid, ""
	}
	var purposes []asn1.ObjectIdentifier
	for _, e := range leaf.ExtKeyUsage {
		if oid, ok := ekuOID(e); ok {
			purposes = append(purposes, oid)
		}
	}
	purposes = append(purposes, leaf.UnknownExtKeyUsage...)
	for _, p := range purposes {
		if p.Equal(oidEKUAny) && v.cfg.AllowAnyEKU {
			return Valid, "anyExtendedKeyUsage accepted by configuration"
		}
		for _, a := range v.ekus {
			if p.Equal(a) {
				return Valid, ""
			}
		}
	}
	return Invalid, "certificate extended key usage does not allow document signing"
}

func ekuOID(e x509.ExtKeyUsage) (asn1.ObjectIdentifier, bool) {
	switch e {
	case x509.ExtKeyUsageAny:
		return oidEKUAny, true
	case x509.ExtKeyUsageEmailProtection:
		return OIDEKUEmailProtection, true
	case x509.ExtKeyUsageTimeStamping:
		return OIDEKUTimeStamping, true
	case x509.ExtKeyUsageServerAuth:
		return asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}, true
	case x509.ExtKeyUsageClientAuth:
		return asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}, true
	case x509.ExtKeyUsageCodeSigning:
		return asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}, true
	case x509.ExtKeyUsageOCSPSigning:
		return asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}, true
	}
	return nil, false
}

// chainKey identifies a path-building request by the certificates offered
// (by identity: they come from the parse cache) and the anchor set.
type chainKey struct {
	leaf  *x509.Certificate
	tsa   bool
	n     int
	inter [8]*x509.Certificate
}

// buildChains finds paths from leaf to roots valid at t, using a cache of
// earlier results keyed by the certificates offered.
func (v *Verifier) buildChains(leaf *x509.Certificate, inter []*x509.Certificate, t time.Time, roots *x509.CertPool, ekus []x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	key := chainKey{leaf: leaf, tsa: roots == v.tsaRoots, n: len(inter)}
	cacheable := len(inter) <= len(key.inter)
	if cacheable {
		copy(key.inter[:], inter)
	}
	var cached [][]*x509.Certificate
	if cacheable {
		v.chainMu.Lock()
		cached = v.chains[key]
		v.chainMu.Unlock()
	}
	var out [][]*x509.Certificate
	for _, ch := range cached {
		if validAt(ch, t) {
			out = append(out, ch)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	pool := x509.NewCertPool()
	for _, c := range inter {
		pool.AddCert(c)
	}
	if ekus == nil {
		ekus = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: t, KeyUsages: ekus})
	if err != nil {
		return nil, fmt.Errorf("no path to a trust anchor at %s: %v", t.UTC().Format(time.RFC3339), err)
	}
	if cacheable {
		v.chainMu.Lock()
		if len(v.chains) > 4096 {
			v.chains = map[chainKey][][]*x509.Certificate{}
		}
		merged := slices.Clone(cached)
		merged = append(merged, chains...)
		v.chains[key] = merged
		v.chainMu.Unlock()
	}
	return chains, nil
}

func validAt(ch []*x509.Certificate, t time.Time) bool {
	for _, c := range ch {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return false
		}
	}
	return true
}

// chainRevocation checks every certificate of ch except the anchor.
func (v *Verifier) chainRevocation(ctx context.Context, ch []*x509.Certificate, rc revocationCtx) ([]RevocationInfo, Verdict, string) {
	verdict := Valid
	var reasons []string
	infos := make([]RevocationInfo, 0, len(ch))
	for i := 0; i+1 < len(ch); i++ {
		info := v.status(ctx, ch[i], ch[i+1], rc)
		infos = append(infos, info)
		switch info.Status {
		case RevGood:
		case RevRevoked:
			if info.AfterSigningTime && !v.cfg.RejectRevokedAfterSigning {
				reasons = append(reasons, fmt.Sprintf("%s revoked (%s) at %s, after the trusted signing time", info.Subject, info.Reason, info.RevokedAt.Format(time.RFC3339)))
				continue
			}
			verdict = worst(verdict, Invalid)
			reasons = append(reasons, fmt.Sprintf("%s revoked (%s) at %s", info.Subject, info.Reason, info.RevokedAt.Format(time.RFC3339)))
		default:
			verdict = worst(verdict, Indeterminate)
			reasons = append(reasons, fmt.Sprintf("%s: revocation status unknown: %s", info.Subject, info.Detail))
		}
	}
	return infos, verdict, strings.Join(reasons, "; ")
}

// status applies the revocation policy to one certificate.
func (v *Verifier) status(ctx context.Context, cert, issuer *x509.Certificate, rc revocationCtx) RevocationInfo {
	switch v.cfg.Revocation {
	case RevocationOCSP:
		return v.ocspStatus(ctx, cert, issuer, rc)
	case RevocationCRLOrOCSP:
		info := v.crlStatus(ctx, cert, issuer, rc)
		if info.Status != RevUnknown {
			return info
		}
		o := v.ocspStatus(ctx, cert, issuer, rc)
		if o.Status == RevUnknown {
			o.Detail = "CRL: " + info.Detail + "; OCSP: " + o.Detail
		}
		return o
	default:
		return v.crlStatus(ctx, cert, issuer, rc)
	}
}

// info returns the display form of c, cached: formatting names is costly.
func (v *Verifier) info(c *x509.Certificate) CertInfo {
	v.certMu.Lock()
	ci, ok := v.infos[c]
	v.certMu.Unlock()
	if ok {
		return ci
	}
	ci = certInfo(c)
	v.certMu.Lock()
	if len(v.infos) > 4096 {
		v.infos = map[*x509.Certificate]CertInfo{}
	}
	v.infos[c] = ci
	v.certMu.Unlock()
	return ci
}

func certInfo(c *x509.Certificate) CertInfo {
	return CertInfo{Subject: roamsign.FormatDN(c.RawSubject), Issuer: roamsign.FormatDN(c.RawIssuer), Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// parseCert parses a DER certificate through a small cache keyed by the
// DER bytes themselves.
func (v *Verifier) parseCert(der []byte) (*x509.Certificate, error) {
	v.certMu.Lock()
	c, ok := v.certs[string(der)]
	v.certMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	v.certMu.Lock()
	if len(v.certs) > 4096 {
		v.certs = map[string]*x509.Certificate{}
	}
	v.certs[string(der)] = c
	v.certMu.Unlock()
	return c, nil
}

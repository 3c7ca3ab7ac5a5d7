package verify

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"strings"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	imemo "github.com/roamsign/roamsign/internal/memo"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// RevocationPolicy selects the revocation sources.
type RevocationPolicy int

// Revocation policies. The zero value checks CRLs, falling back to OCSP
// responses that are supplied or embedded (never querying a responder).
const (
	// RevocationCRL decides from CRLs; when no CRL decides, OCSP responses
	// supplied by the caller or embedded in the signature are used.
	RevocationCRL RevocationPolicy = iota
	// RevocationOCSP decides from OCSP only: supplied and embedded
	// responses, then the responder (Config.OCSP required).
	RevocationOCSP
	// RevocationCRLOrOCSP tries CRLs and falls back to OCSP (supplied,
	// embedded, then the responder) when no CRL decides.
	RevocationCRLOrOCSP
	// RevocationOff checks no revocation at all. Only an explicit choice
	// turns checking off, and then every result says "revocation not
	// checked" and is never Valid (indeterminate, revocation_not_checked).
	RevocationOff
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
	// A Fetcher that also implements [DistributionPointFetcher] is told
	// which certificate each CRL is for.
	Fetcher Fetcher
	// Offline forbids every network access: no CRL download, no OCSP
	// query. Only supplied, embedded and CRLSources material decides.
	Offline bool
	// CRLs and OCSPResponses are DER revocation material supplied for
	// every verification (New parses them and refuses malformed ones).
	// Certificates are extra candidate intermediates and CRL signers.
	Supplied ValidationData
	// CRLSources are further local CRL sources, such as a [CRLDirectory].
	CRLSources []CRLSource
	// MaxRevocationFreshness is the maximum accepted revocation freshness
	// of ETSI EN 319 102-1 (clause 5.2.5): a CRL or OCSP response is fresh
	// for a validation time t when it was issued no longer than this before
	// t. Zero uses the evidence's own interval: it is fresh while t is
	// before its nextUpdate. See the package doc, "Time".
	MaxRevocationFreshness time.Duration
	// RevocationGracePeriod, for a signature whose time is proven by a
	// timestamp, requires revocation evidence issued at least this long
	// after that time (the grace or cautionary period of RFC 5126 and
	// CAdES): a compromise reported shortly after signing is then seen.
	// Zero means none.
	RevocationGracePeriod time.Duration
	// Policy holds the certificate policy inputs of RFC 5280 section 6.1.1
	// for the signer's path (zero: any policy, none required).
	Policy PolicyConfig
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

	certs  memo[string, *x509.Certificate]
	infos  memo[*x509.Certificate, CertInfo]
	hashes memo[certHashKey, []byte]
	extras memo[*x509.Certificate, *parsedCert]
	// sigChecks memoises signature checks of certificates.
	sigChecks memo[[2]*x509.Certificate, sigResult]
	// crls remembers CRLs that documents and signatures carry (see
	// parseCarriedCRL): at most 4, of at most 4 MiB each (a parsed CRL
	// keeps about 4 times its size).
	crls imemo.ByContent[*CRL]

	anchors    []*x509.Certificate
	tsaAnchors []*x509.Certificate
	supplied   *evidence
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
		crls:       imemo.ByContent[*CRL]{Max: 4, MaxSize: 4 << 20},
		log:        cfg.Logger,
		ekus:       cfg.AllowedEKUs,
		keyUsage:   cfg.KeyUsage,
	}
	for _, a := range cfg.Anchors {
		if a == nil {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "nil trust anchor")
		}
		v.roots.AddCert(a)
		v.anchors = append(v.anchors, a)
	}
	tsa := cfg.TSAAnchors
	if tsa == nil {
		tsa = cfg.Anchors
	}
	for _, a := range tsa {
		if a == nil {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "nil TSA anchor")
		}
		v.tsaRoots.AddCert(a)
		v.tsaAnchors = append(v.tsaAnchors, a)
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
	v.supplied = &evidence{}
	if err := v.addData(v.supplied, cfg.Supplied, OriginSupplied); err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "Config.Supplied")
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
	// At is the validation time, used alike for the path, the validity
	// periods and the freshness of revocation evidence; zero means the
	// verifier's Now.
	At time.Time
	// Timestamped says At comes from a verified timestamp (a proof of
	// existence of the signature), which allows a later revocation to be
	// reported as "after signing".
	Timestamped bool
	// Supplied is validation material for this request only.
	Supplied ValidationData
}

// VerifyChain validates a signing certificate: path to an anchor at the
// validation time (RFC 5280 section 6.1), key usage, and revocation of
// every certificate below the anchor. It never returns nil.
func (v *Verifier) VerifyChain(ctx context.Context, req ChainRequest) *Result {
	r := &Result{}
	now := v.now()
	at := req.At
	r.TimeSource = TimeSourceTimestamp
	if at.IsZero() || !req.Timestamped {
		r.TimeSource = TimeSourceVerificationTime
	}
	if at.IsZero() {
		at = now
	}
	r.TrustedTime = at
	if req.Leaf == nil {
		r.addSub(CheckChain, Invalid, SubNoSigningCertificateFound, "no signing certificate")
		return r
	}
	ev := &evidence{}
	if err := v.addData(ev, req.Supplied, OriginSupplied, true); err != nil {
		r.addSub(CheckFormat, Invalid, SubFormatFailure, err.Error())
		return r
	}
	rc := revocationCtx{now: now, at: at, timestamped: req.Timestamped, ev: ev}
	inter := make([]*x509.Certificate, len(req.Intermediates))
	for i, c := range req.Intermediates {
		inter[i] = v.shared(c)
	}
	v.checkCert(ctx, r, v.shared(req.Leaf), inter, rc)
	return r
}

// shared returns the parse cache's certificate of c's DER, c itself when
// it has none: a caller's certificates parsed anew for each request (a
// batch of signatures by one signer) then meet the memoised signature
// checks of the same certificates, which are keyed by pointer.
func (v *Verifier) shared(c *x509.Certificate) *x509.Certificate {
	if c == nil {
		return nil
	}
	if p, err := v.parseCert(c.Raw); err == nil {
		return p
	}
	return c
}

// checkCert adds the key-usage, chain and revocation checks for leaf.
func (v *Verifier) checkCert(ctx context.Context, r *Result, leaf *x509.Certificate, inter []*x509.Certificate, rc revocationCtx) {
	ci := v.info(leaf)
	r.Signer = &ci
	kv, kr := v.keyUsageVerdict(leaf)
	r.add(CheckKeyUsage, kv, kr)
	v.checkPath(ctx, r, leaf, inter, rc, v.anchors, v.cfg.Policy)
}

// checkPath adds the chain and revocation checks of target against
// anchors, and the validated path and evidence to r.
func (v *Verifier) checkPath(ctx context.Context, r *Result, target *x509.Certificate, inter []*x509.Certificate, rc revocationCtx, anchors []*x509.Certificate, policy PolicyConfig) bool {
	rc.ev = v.supplied.merge(rc.ev)
	pool := append(append([]*x509.Certificate(nil), inter...), rc.ev.certs...)
	rc.ev.certs = append(append([]*x509.Certificate(nil), pool...), anchors...)
	b := newPathBuilder(v, pathInput{at: rc.at, timestamped: rc.timestamped && !rc.timeUndecided, anchors: anchors, pool: pool, policy: policy})
	b.target = target
	paths := b.paths(target)
	if len(paths) == 0 {
		r.addSub(CheckChain, Invalid, SubNoCertificateChainFound, fmt.Sprintf("no path to a trust anchor at %s", rc.at.UTC().Format(time.RFC3339)))
		return false
	}
	var firstErr *pathError
	var bestInfos []RevocationInfo
	var bestV Verdict
	var best []*x509.Certificate
	var bestReason string
	var bestPolicies []string
	for _, p := range paths {
		policies, perr := b.validate(p)
		if perr != nil {
			if firstErr == nil {
				firstErr = perr
			}
			continue
		}
		prc := rc
		prc.anchor = p[len(p)-1]
		infos, verdict, reason := v.chainRevocation(ctx, p, prc)
		if best == nil || verdict.rank() < bestV.rank() {
			bestInfos, bestV, best, bestReason, bestPolicies = infos, verdict, p, reason, policies
		}
		if verdict == Valid {
			break
		}
	}
	if best == nil {
		verdict := Invalid
		if firstErr.sub == SubOutOfBoundsNoPOE && rc.timeUndecided {
			verdict = Indeterminate
		}
		r.addSub(CheckChain, verdict, firstErr.sub, "no valid path to a trust anchor: "+firstErr.reason)
		return false
	}
	r.Chain = make([]CertInfo, 0, len(best))
	r.Validation = &ValidationData{}
	for _, c := range best {
		r.Chain = append(r.Chain, v.info(c))
		r.Validation.Certificates = addUnique(r.Validation.Certificates, c.Raw)
	}
	r.Policies = bestPolicies
	r.add(CheckChain, Valid, "chains to "+v.info(best[len(best)-1]).Subject)
	r.Revocation = bestInfos
	for _, in := range bestInfos {
		for _, der := range in.evidence {
			if in.Source == "ocsp" {
				r.Validation.OCSPResponses = addUnique(r.Validation.OCSPResponses, der)
			} else {
				r.Validation.CRLs = addUnique(r.Validation.CRLs, der)
			}
		}
	}
	r.addSub(CheckRevocation, bestV, revocationSub(bestInfos, bestV, rc), bestReason)
	return bestV == Valid
}

// revocationSub classifies a revocation check that did not pass.
func revocationSub(infos []RevocationInfo, v Verdict, rc revocationCtx) SubIndication {
	for i, in := range infos {
		switch {
		case in.Status == RevNotChecked:
			return SubRevocationNotChecked
		case in.Status == RevRevoked && !in.AfterSigningTime && i > 0:
			return SubRevokedCANoPOE
		case in.Status == RevRevoked && !in.AfterSigningTime && rc.timestamped:
			return SubRevoked
		case in.Status == RevRevoked && !in.AfterSigningTime:
			return SubRevokedNoPOE
		}
	}
	if v == Invalid {
		return SubRevokedNoPOE
	}
	return SubTryLater
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
		case RevNotChecked:
			verdict = worst(verdict, Indeterminate)
			reasons = append(reasons, fmt.Sprintf("%s: revocation not checked", info.Subject))
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
	case RevocationOff:
		ci := v.info(cert)
		return RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevNotChecked, Detail: "revocation checking is turned off"}
	case RevocationOCSP:
		return v.ocspStatus(ctx, cert, issuer, rc, true)
	}
	info := v.crlStatus(ctx, cert, issuer, rc)
	if info.Status != RevUnknown {
		return info
	}
	o := v.ocspStatus(ctx, cert, issuer, rc, v.cfg.Revocation == RevocationCRLOrOCSP)
	if o.Status == RevUnknown {
		o.Detail = "CRL: " + info.Detail + "; OCSP: " + o.Detail
		o.Source, o.Origin, o.URL = "", "", ""
	}
	return o
}

// info returns the display form of c, cached: formatting names is costly.
func (v *Verifier) info(c *x509.Certificate) CertInfo {
	return v.infos.value(c, func() CertInfo { return certInfo(c) })
}

func certInfo(c *x509.Certificate) CertInfo {
	return CertInfo{Subject: roamsign.FormatDN(c.RawSubject), Issuer: roamsign.FormatDN(c.RawIssuer), Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// parseCert parses a DER certificate through a small cache keyed by the
// DER bytes themselves.
func (v *Verifier) parseCert(der []byte) (*x509.Certificate, error) {
	if len(der) > icms.MaxMemoCertSize {
		// Not kept: the cache's memory stays bounded whatever the
		// certificates a document or a caller brings.
		return ParseCertificate(der)
	}
	return v.certs.get(string(der), func() (*x509.Certificate, error) { return ParseCertificate(der) })
}

var errMalformed = errors.New("malformed DER")

// MaxCertificateSize caps a certificate given to [ParseCertificate].
const MaxCertificateSize = 1 << 20

// ParseCertificate parses a DER certificate like [x509.ParseCertificate],
// with typed errors: ErrTooLarge beyond MaxCertificateSize, ErrUnsupported
// for what crypto/x509 cannot use (DSA keys with inherited parameters,
// unknown key types), ErrInvalidInput for the rest.
//
// Two forms that RFC 5280 allows and crypto/x509 refuses are accepted: a
// distribution point named relative to the CRL issuer, and a negative
// serial number (which RFC 5280 says users should handle gracefully). The
// certificate is then parsed without that field and the field is put
// back: Raw, RawTBSCertificate and Signature are the original bytes, so
// every signature check is over what the issuer signed.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	const op = "verify.ParseCertificate"
	if len(der) > MaxCertificateSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "certificate of %d bytes exceeds the %d byte limit", len(der), MaxCertificateSize)
	}
	c, err := x509.ParseCertificate(der)
	if err == nil {
		return c, nil
	}
	msg := err.Error()
	if strings.Contains(msg, "negative serial") || strings.Contains(msg, "CRL distribution point") {
		if c, terr := tolerantParse(der); terr == nil {
			return c, nil
		}
	}
	for _, s := range []string{"DSA", "unsupported", "unknown public key"} {
		if strings.Contains(msg, s) {
			return nil, roamsign.Wrap(roamsign.ErrUnsupported, op, err, "certificate not supported by crypto/x509")
		}
	}
	return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed certificate")
}

// tolerantParse parses a certificate whose serial is negative or whose
// cRLDistributionPoints crypto/x509 cannot read: a copy with a positive
// serial and without that extension is parsed, then the original serial,
// extension and encodings are restored.
func tolerantParse(der []byte) (*x509.Certificate, error) {
	in := cryptobyte.String(der)
	var cert, tbs, sigAlg, sig cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!cert.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&sig, cbasn1.BIT_STRING) || !cert.Empty() {
		return nil, errMalformed
	}
	origTBS := tbs
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, errMalformed
	}
	var version, serial cryptobyte.String
	var hasVersion bool
	if !body.ReadOptionalASN1(&version, &hasVersion, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errMalformed
	}
	n := new(big.Int)
	if !body.ReadASN1Element(&serial, cbasn1.INTEGER) {
		return nil, errMalformed
	}
	if sv := serial; !sv.ReadASN1Integer(n) {
		return nil, errMalformed
	}
	var rest [][]byte
	var removed *pkix.Extension
	for !body.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&el, &tag) {
			return nil, errMalformed
		}
		if tag == cbasn1.Tag(3).Constructed().ContextSpecific() {
			kept, ext, ok := withoutCRLDP(el)
			if !ok {
				return nil, errMalformed
			}
			el, removed = kept, ext
		}
		rest = append(rest, el)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if hasVersion {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(version) })
			}
			b.AddASN1BigInt(new(big.Int).Abs(n))
			for _, r := range rest {
				b.AddBytes(r)
			}
		})
		b.AddBytes(sigAlg)
		b.AddBytes(sig)
	})
	copyDER, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(copyDER)
	if err != nil {
		return nil, err
	}
	c.Raw, c.RawTBSCertificate, c.SerialNumber = der, origTBS, n
	if removed != nil {
		c.Extensions = append(c.Extensions, *removed)
	}
	return c, nil
}

// withoutCRLDP returns the [3] extensions element without the
// cRLDistributionPoints extension, and that extension.
func withoutCRLDP(el cryptobyte.String) ([]byte, *pkix.Extension, bool) {
	var wrap, exts cryptobyte.String
	if !el.ReadASN1(&wrap, cbasn1.Tag(3).Constructed().ContextSpecific()) || !wrap.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return nil, nil, false
	}
	var kept [][]byte
	var removed *pkix.Extension
	for !exts.Empty() {
		var e cryptobyte.String
		if !exts.ReadASN1Element(&e, cbasn1.SEQUENCE) {
			return nil, nil, false
		}
		var x pkix.Extension
		if rest, err := asn1.Unmarshal(e, &x); err != nil || len(rest) > 0 {
			return nil, nil, false
		}
		if x.Id.Equal(oidExtCRLDP) {
			removed = &x
			continue
		}
		kept = append(kept, e)
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, k := range kept {
				b.AddBytes(k)
			}
		})
	})
	return b.BytesOrPanic(), removed, true
}

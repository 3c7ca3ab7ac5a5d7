package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CMSRequest asks for a CMS SignedData signature to be verified.
type CMSRequest struct {
	// Signature is the DER ContentInfo (BER indefinite lengths are refused).
	Signature []byte
	// Content is the signed content of a detached signature; nil for an
	// attached one (when both are present they must be identical).
	Content []byte
	// Intermediates are extra candidate intermediates known to the host.
	Intermediates []*x509.Certificate
}

// VerifyCMS verifies every SignerInfo of a CMS SignedData: one content-type
// (id-data) and one message-digest attribute, the digest, ESS
// signing-certificate(-v2) and CMSAlgorithmProtection when present, the
// signature, an RFC 3161 timestamp token when present, then chain, key usage
// and revocation at the trusted time. It returns one result per signer, or a
// typed error (ErrInvalidInput, ErrTooLarge) when the input does not parse.
func (v *Verifier) VerifyCMS(ctx context.Context, req CMSRequest) ([]*Result, error) {
	const op = "verify.VerifyCMS"
	sd, err := parseSignedData(req.Signature, v.maxSig)
	if err != nil {
		return nil, err
	}
	content := sd.eContent
	switch {
	case sd.hasEContent && req.Content != nil && !bytes.Equal(req.Content, sd.eContent):
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "content given for an attached signature differs from the encapsulated content")
	case !sd.hasEContent && req.Content == nil:
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "detached signature: the content is required")
	case !sd.hasEContent:
		content = req.Content
	}
	return v.verifySignedData(ctx, sd, bytesDigester(content), req.Intermediates)
}

// digester returns the digest of the signed content with h.
type digester func(h crypto.Hash) ([]byte, error)

func bytesDigester(b []byte) digester {
	return func(h crypto.Hash) ([]byte, error) {
		hh := h.New()
		hh.Write(b)
		return hh.Sum(nil), nil
	}
}

// verifySignedData verifies every signer of a parsed SignedData whose
// content digest dig provides.
func (v *Verifier) verifySignedData(ctx context.Context, sd *signedData, dig digester, extra []*x509.Certificate) ([]*Result, error) {
	certs := make([]*x509.Certificate, 0, len(sd.certs)+len(extra))
	for _, der := range sd.certs {
		c, err := v.parseCert(der)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, "verify.CMS", err, "malformed certificate in the signature")
		}
		certs = append(certs, c)
	}
	certs = append(certs, extra...)
	now := v.now()
	out := make([]*Result, 0, len(sd.signers))
	for i := range sd.signers {
		out = append(out, v.verifySigner(ctx, sd, &sd.signers[i], dig, certs, now))
	}
	return out, nil
}

func (v *Verifier) verifySigner(ctx context.Context, sd *signedData, si *signerInfo, dig digester, certs []*x509.Certificate, now time.Time) *Result {
	r := &Result{TrustedTime: now, TimeSource: "verification-time", Checks: make([]Check, 0, 10)}
	cert := v.checkSigner(r, sd, si, dig, certs, oidData, false)
	if cert == nil {
		return r
	}
	rc := revocationCtx{now: now, trusted: now}
	if ts := attr(si.unsignedAttrs, rawOidAttrTimestampToken); ts != nil {
		r.TimestampPresent = true
		if len(ts.values) != 1 {
			r.add(CheckTimestamp, Indeterminate, "more than one timestamp token")
		} else if gen, verdict, reason := v.verifyTimestamp(ctx, ts.values[0], bytesDigester(si.signature), now); verdict != Valid {
			r.add(CheckTimestamp, verdict, reason)
		} else {
			r.add(CheckTimestamp, Valid, "genTime "+gen.UTC().Format(time.RFC3339))
			rc.trusted, rc.timestamped = gen, true
			r.TrustedTime, r.TimeSource = gen, "timestamp"
		}
	}
	inter := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c != cert {
			inter = append(inter, c)
		}
	}
	v.checkCert(ctx, r, cert, inter, rc)
	return r
}

// checkSigner adds the format, attribute, digest and signature checks of one
// SignerInfo and returns the signer certificate when all of them passed.
func (v *Verifier) checkSigner(r *Result, sd *signedData, si *signerInfo, dig digester, certs []*x509.Certificate, wantCT asn1.ObjectIdentifier, requireESS bool) *x509.Certificate {
	var cert *x509.Certificate
	for _, c := range certs {
		if si.ski != nil {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.ski) {
				cert = c
				break
			}
		} else if bytes.Equal(c.RawIssuer, si.issuer) && bytes.Equal(serialKey(c.SerialNumber), si.serial) {
			cert = c
			break
		}
	}
	if cert == nil {
		r.add(CheckFormat, Invalid, "the signer's certificate is not in the signature")
		return nil
	}
	ci := v.info(cert)
	r.Signer = &ci
	r.add(CheckFormat, Valid, "")
	h, ok := digestAlgorithm(si.digestAlg)
	if !ok {
		r.add(CheckAttributes, Invalid, "digest algorithm not accepted (SHA-256, SHA-384 or SHA-512 required)")
		return nil
	}
	if reason := v.checkAttributes(r, sd, si, cert, h, wantCT, requireESS); reason != "" {
		r.add(CheckAttributes, Invalid, reason)
		return nil
	}
	r.add(CheckAttributes, Valid, "")
	md := attr(si.attrs, rawOidAttrMessageDigest).values[0]
	var want cryptobyte.String
	md.ReadASN1(&want, cbasn1.OCTET_STRING)
	got, err := dig(h)
	if err != nil {
		r.add(CheckDigest, Indeterminate, "the signed content could not be read: "+err.Error())
		return nil
	}
	if !bytes.Equal(got, want) {
		r.add(CheckDigest, Invalid, "the content digest does not match the message-digest attribute")
		return nil
	}
	r.add(CheckDigest, Valid, "")
	if err := verifySignerSignature(si, cert, h); err != nil {
		r.add(CheckSignature, Invalid, err.Error())
		return nil
	}
	r.add(CheckSignature, Valid, "")
	return cert
}

// checkAttributes returns "" when the signed attributes are acceptable.
func (v *Verifier) checkAttributes(r *Result, sd *signedData, si *signerInfo, cert *x509.Certificate, h crypto.Hash, wantCT asn1.ObjectIdentifier, requireESS bool) string {
	if si.signedAttrs == nil {
		return "signed attributes are missing"
	}
	if !sd.eContentType.Equal(wantCT) {
		return fmt.Sprintf("encapsulated content type %v is not %v", sd.eContentType, wantCT)
	}
	ct := attr(si.attrs, rawOidAttrContentType)
	if ct == nil || len(ct.values) != 1 {
		return "exactly one content-type attribute value is required"
	}
	var got asn1.ObjectIdentifier
	val := ct.values[0]
	if !val.ReadASN1ObjectIdentifier(&got) || !val.Empty() || !got.Equal(wantCT) {
		return "content-type attribute does not match the encapsulated content type"
	}
	md := attr(si.attrs, rawOidAttrMessageDigest)
	if md == nil || len(md.values) != 1 {
		return "exactly one message-digest attribute value is required"
	}
	mv := md.values[0]
	var digest cryptobyte.String
	if !mv.ReadASN1(&digest, cbasn1.OCTET_STRING) || !mv.Empty() || len(digest) != h.Size() {
		return "message-digest attribute is not an OCTET STRING of the digest size"
	}
	if st := attr(si.attrs, rawOidAttrSigningTime); st != nil {
		if len(st.values) != 1 {
			return "signing-time attribute must have one value"
		}
		sv := st.values[0]
		t, ok := readTime(&sv)
		if !ok || !sv.Empty() {
			return "signing-time attribute is malformed"
		}
		r.ClaimedSigningTime = &t
	}
	v1, v2 := attr(si.attrs, rawOidAttrSigningCert), attr(si.attrs, rawOidAttrSigningCertV2)
	if requireESS && v1 == nil && v2 == nil {
		return "ESS signing-certificate attribute is required"
	}
	if v1 != nil {
		if reason := checkESS(v1, cert, false, v.certHash); reason != "" {
			return reason
		}
	}
	if v2 != nil {
		if reason := checkESS(v2, cert, true, v.certHash); reason != "" {
			return reason
		}
	}
	if ap := attr(si.attrs, rawOidAttrAlgProtection); ap != nil {
		if reason := checkAlgProtection(ap, si); reason != "" {
			return reason
		}
	}
	return ""
}

// checkESS checks that the first ESSCertID(v2) names cert.
func checkESS(a *attribute, cert *x509.Certificate, v2 bool, hashOf func(*x509.Certificate, crypto.Hash) []byte) string {
	name := "signing-certificate"
	if v2 {
		name = "signing-certificate-v2"
	}
	if len(a.values) != 1 {
		return name + " attribute must have one value"
	}
	val := a.values[0]
	var sc, ids, id cryptobyte.String
	if !val.ReadASN1(&sc, cbasn1.SEQUENCE) || !val.Empty() || !sc.ReadASN1(&ids, cbasn1.SEQUENCE) || !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
		return name + " attribute is malformed"
	}
	h := crypto.SHA256
	if v2 {
		if id.PeekASN1Tag(cbasn1.SEQUENCE) {
			alg, ok := readAlgorithm(&id)
			if !ok {
				return name + " hash algorithm is malformed"
			}
			if h, ok = digestAlgorithm(alg); !ok {
				return name + " hash algorithm not accepted"
			}
		}
	}
	var certHash cryptobyte.String
	if !id.ReadASN1(&certHash, cbasn1.OCTET_STRING) {
		return name + " certHash is malformed"
	}
	var sum []byte
	if v2 {
		sum = hashOf(cert, h)
	} else {
		s := sha1.Sum(cert.Raw) // identification only, as RFC 2634 defines it
		sum = s[:]
	}
	if !bytes.Equal(sum, certHash) {
		return name + " attribute names another certificate"
	}
	if !id.Empty() {
		var is, gns cryptobyte.String
		if !id.ReadASN1(&is, cbasn1.SEQUENCE) || !id.Empty() || !is.ReadASN1(&gns, cbasn1.SEQUENCE) {
			return name + " issuerSerial is malformed"
		}
		serial, ok := readIntegerBytes(&is)
		if !ok || !is.Empty() || !bytes.Equal(serial, serialKey(cert.SerialNumber)) {
			return name + " issuerSerial names another certificate"
		}
		var dn cryptobyte.String
		if !gns.ReadASN1(&dn, cbasn1.Tag(4).Constructed().ContextSpecific()) || !bytes.Equal(dn, cert.RawIssuer) {
			return name + " issuerSerial names another issuer"
		}
	}
	return ""
}

func sameAlgorithm(a, b algorithmIdentifier) bool {
	if !bytes.Equal(a.oid, b.oid) {
		return false
	}
	if a.nullOrAbsent() && b.nullOrAbsent() {
		return true
	}
	return bytes.Equal(a.params, b.params)
}

// checkAlgProtection applies RFC 6211.
func checkAlgProtection(a *attribute, si *signerInfo) string {
	if len(a.values) != 1 {
		return "CMSAlgorithmProtection attribute must have one value"
	}
	val := a.values[0]
	var seq cryptobyte.String
	if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !val.Empty() {
		return "CMSAlgorithmProtection is malformed"
	}
	dig, ok := readAlgorithm(&seq)
	if !ok {
		return "CMSAlgorithmProtection digest algorithm is malformed"
	}
	if !sameAlgorithm(dig, si.digestAlg) {
		return "CMSAlgorithmProtection digest algorithm differs from the signer's"
	}
	var sigBody cryptobyte.String
	var has bool
	if !seq.ReadOptionalASN1(&sigBody, &has, cbasn1.Tag(1).Constructed().ContextSpecific()) || !has || !seq.Empty() {
		return "CMSAlgorithmProtection must name the signature algorithm and no MAC algorithm"
	}
	var sa algorithmIdentifier
	if !readRawOID(&sigBody, &sa.oid) {
		return "CMSAlgorithmProtection signature algorithm is malformed"
	}
	if !sigBody.Empty() {
		var tag cbasn1.Tag
		if !sigBody.ReadAnyASN1Element(&sa.params, &tag) || !sigBody.Empty() {
			return "CMSAlgorithmProtection signature algorithm is malformed"
		}
	}
	if !sameAlgorithm(sa, si.sigAlg) {
		return "CMSAlgorithmProtection signature algorithm differs from the signer's"
	}
	return ""
}

// verifySignerSignature verifies the signature over the DER SET OF signed
// attributes.
func verifySignerSignature(si *signerInfo, cert *x509.Certificate, h crypto.Hash) error {
	const op = "verify.CMS"
	pss := false
	a := si.sigAlg
	var sigHash crypto.Hash
	switch {
	case bytes.Equal(a.oid, rawOidRSAEncryption) && a.nullOrAbsent():
		sigHash = h
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return roamsign.E(roamsign.ErrInvalidSignature, op, "RSA signature algorithm with a non-RSA key")
		}
	default:
		alg, ok := signatureAlgorithm(a)
		if !ok {
			return roamsign.E(roamsign.ErrUnsupported, op, "signature algorithm %v not accepted", a.oid)
		}
		switch alg {
		case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256:
			sigHash = crypto.SHA256
		case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
			sigHash = crypto.SHA384
		case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
			sigHash = crypto.SHA512
		default:
			return roamsign.E(roamsign.ErrUnsupported, op, "signature algorithm %v not supported in CMS", alg)
		}
		switch alg {
		case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
			pss = true
			fallthrough
		case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA:
			if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
				return roamsign.E(roamsign.ErrInvalidSignature, op, "RSA signature algorithm with a non-RSA key")
			}
		default:
			if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok {
				return roamsign.E(roamsign.ErrInvalidSignature, op, "ECDSA signature algorithm with a non-ECDSA key")
			}
		}
	}
	if sigHash != h {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "signature and digest algorithms use different hashes")
	}
	// The signature covers the DER encoding with the EXPLICIT SET OF tag.
	hh := h.New()
	hh.Write([]byte{0x31})
	hh.Write(si.signedAttrs[1:])
	return VerifyDigestSignature(cert.PublicKey, h, hh.Sum(nil), si.signature, pss)
}

// verifyTimestamp verifies an RFC 3161 token whose message imprint must be
// imprintOf(hash) and returns its genTime when valid.
func (v *Verifier) verifyTimestamp(ctx context.Context, token []byte, imprintOf digester, now time.Time) (time.Time, Verdict, string) {
	sd, err := parseSignedData(token, v.maxSig)
	if err != nil {
		return time.Time{}, Invalid, "timestamp token: " + err.Error()
	}
	if !sd.hasEContent || len(sd.signers) != 1 {
		return time.Time{}, Invalid, "timestamp token must carry TSTInfo and one signer"
	}
	var certs []*x509.Certificate
	for _, der := range sd.certs {
		c, err := v.parseCert(der)
		if err != nil {
			return time.Time{}, Invalid, "timestamp token: malformed certificate"
		}
		certs = append(certs, c)
	}
	tr := &Result{}
	cert := v.checkSigner(tr, sd, &sd.signers[0], bytesDigester(sd.eContent), certs, oidTSTInfo, true)
	if cert == nil {
		f := tr.Failed()
		return time.Time{}, Invalid, "timestamp token: " + f.Name + ": " + f.Reason
	}
	gen, imprintHash, imprint, err := parseTSTInfo(sd.eContent)
	if err != nil {
		return time.Time{}, Invalid, "timestamp token: " + err.Error()
	}
	want, err := imprintOf(imprintHash)
	if err != nil {
		return time.Time{}, Indeterminate, "timestamped data could not be read: " + err.Error()
	}
	if !bytes.Equal(want, imprint) {
		return time.Time{}, Invalid, "timestamp token covers another signature"
	}
	if gen.After(now.Add(time.Minute)) {
		return time.Time{}, Invalid, "timestamp genTime is in the future"
	}
	var inter []*x509.Certificate
	for _, c := range certs {
		if c != cert {
			inter = append(inter, c)
		}
	}
	chains, err := v.buildChains(cert, inter, gen, v.tsaRoots, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
	if err != nil {
		return time.Time{}, Invalid, "timestamp authority: " + err.Error()
	}
	var reason string
	verdict := Invalid
	for _, ch := range chains {
		_, verdict, reason = v.chainRevocation(ctx, ch, revocationCtx{now: now, trusted: now})
		if verdict == Valid {
			return gen, Valid, ""
		}
	}
	return time.Time{}, verdict, "timestamp authority: " + reason
}

// parseTSTInfo returns genTime and the message imprint of a TSTInfo.
func parseTSTInfo(der []byte) (time.Time, crypto.Hash, []byte, error) {
	s := cryptobyte.String(der)
	var seq, mi, hashed cryptobyte.String
	var version int64
	var policy asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 1 ||
		!seq.ReadASN1ObjectIdentifier(&policy) || !seq.ReadASN1(&mi, cbasn1.SEQUENCE) {
		return time.Time{}, 0, nil, fmt.Errorf("malformed TSTInfo")
	}
	alg, ok := readAlgorithm(&mi)
	if !ok || !mi.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !mi.Empty() {
		return time.Time{}, 0, nil, fmt.Errorf("malformed messageImprint")
	}
	h, ok := digestAlgorithm(alg)
	if !ok || len(hashed) != h.Size() {
		return time.Time{}, 0, nil, fmt.Errorf("messageImprint hash not accepted")
	}
	if _, ok := readIntegerBytes(&seq); !ok {
		return time.Time{}, 0, nil, fmt.Errorf("malformed TSTInfo serial")
	}
	var gt cryptobyte.String
	if !seq.ReadASN1(&gt, cbasn1.GeneralizedTime) {
		return time.Time{}, 0, nil, fmt.Errorf("malformed genTime")
	}
	gen, ok := parseGenTime(gt)
	if !ok {
		return time.Time{}, 0, nil, fmt.Errorf("malformed genTime")
	}
	return gen, h, hashed, nil
}

// parseGenTime parses YYYYMMDDhhmmss[.f+]Z.
func parseGenTime(b []byte) (time.Time, bool) {
	if len(b) < 15 || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	year, ok := digits(b[0:4])
	if !ok {
		return time.Time{}, false
	}
	t, ok := clock(year, b[4:14])
	if !ok {
		return time.Time{}, false
	}
	frac := b[14 : len(b)-1]
	if len(frac) == 0 {
		return t, true
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || frac[len(frac)-1] == '0' {
		return time.Time{}, false
	}
	n, ok := digits(frac[1:])
	if !ok {
		return time.Time{}, false
	}
	for i := len(frac) - 1; i < 9; i++ {
		n *= 10
	}
	return t.Add(time.Duration(n)), true
}

type certHashKey struct {
	cert *x509.Certificate
	h    crypto.Hash
}

// certHash returns h(cert.Raw), memoised per certificate.
func (v *Verifier) certHash(cert *x509.Certificate, h crypto.Hash) []byte {
	k := certHashKey{cert, h}
	v.certMu.Lock()
	sum, ok := v.hashes[k]
	v.certMu.Unlock()
	if ok {
		return sum
	}
	hh := h.New()
	hh.Write(cert.Raw)
	sum = hh.Sum(nil)
	v.certMu.Lock()
	if len(v.hashes) > 4096 {
		v.hashes = map[certHashKey][]byte{}
	}
	v.hashes[k] = sum
	v.certMu.Unlock()
	return sum
}

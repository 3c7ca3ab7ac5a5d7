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
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CMSRequest asks for a CMS SignedData signature to be verified.
type CMSRequest struct {
	// Signature is the ContentInfo, DER or BER.
	Signature []byte
	// Content is the signed content of a detached signature; nil for an
	// attached one (when both are present they must be identical).
	Content []byte
	// Intermediates are extra candidate intermediates known to the host.
	Intermediates []*x509.Certificate
	// Supplied is validation material for this request only.
	Supplied ValidationData
}

// parseSignedData parses a CMS ContentInfo of at most max bytes.
func parseSignedData(der []byte, max int) (*icms.SignedData, error) {
	return icms.ParseSignedData("verify.parseCMS", der, max)
}

// VerifyCMS verifies every SignerInfo of a CMS SignedData (DER or BER):
// one content-type and one message-digest attribute, the digest, ESS
// signing-certificate(-v2) and CMSAlgorithmProtection when present, the
// signature over the DER signed attributes (or, for a SignerInfo without
// signed attributes, over the content of an id-data signature), an RFC
// 3161 timestamp token when present, then chain, key usage and revocation
// at the trusted time. It returns one result per signer, or a typed error
// (ErrInvalidInput, ErrTooLarge) when the input does not parse.
func (v *Verifier) VerifyCMS(ctx context.Context, req CMSRequest) ([]*Result, error) {
	const op = "verify.VerifyCMS"
	sd, err := parseSignedData(req.Signature, v.maxSig)
	if err != nil {
		return nil, err
	}
	content := sd.EContent
	switch {
	case sd.HasEContent && req.Content != nil && !bytes.Equal(req.Content, sd.EContent):
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "content given for an attached signature differs from the encapsulated content")
	case !sd.HasEContent && req.Content == nil:
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "detached signature: the content is required")
	case !sd.HasEContent:
		content = req.Content
	}
	ev := &evidence{}
	if err := v.addData(ev, req.Supplied, OriginSupplied, true); err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "CMSRequest.Supplied")
	}
	return v.verifySignedData(ctx, sd, bytesDigester(content), signedDataCtx{extra: req.Intermediates, ev: ev, cades: true})
}

// embedded returns the validation material a SignedData carries: its
// certificates, its crls field (CRLs and RFC 5940 OCSP responses) and the
// adbe-revocationInfoArchival signed attribute of each signer. Material
// that does not parse is skipped: it can only fail to decide. own is the
// DER of every certificate, CRL and OCSP response carried.
func (v *Verifier) embedded(sd *icms.SignedData) (ev *evidence, own *derSet) {
	d := ValidationData{CRLs: sd.CRLs, OCSPResponses: sd.OCSPResponses}
	for _, si := range sd.SignerInfos {
		if a := icms.Attr(si.SignedAttrs, icms.RawAttrAdobeRevocation); a != nil && len(a.Values) == 1 {
			if ra, err := icms.ParseRevocationArchival(a.Values[0]); err == nil {
				d.CRLs = append(d.CRLs, ra.CRLs...)
				d.OCSPResponses = append(d.OCSPResponses, ra.OCSPResponses...)
			}
		}
	}
	ev = &evidence{}
	for _, der := range d.CRLs {
		if c, err := v.parseCarriedCRL(der); err == nil {
			ev.crls = append(ev.crls, crlCand{crl: c, origin: OriginSignature})
		}
	}
	for _, der := range d.OCSPResponses {
		ev.ocsps = append(ev.ocsps, ocspCand{der: der, origin: OriginSignature})
	}
	own = &derSet{}
	own.add(sd.Certificates, d.CRLs, d.OCSPResponses)
	return ev, own
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

// signedDataCtx is what a verification of SignedData knows beyond it.
type signedDataCtx struct {
	// extra are further candidate intermediates.
	extra []*x509.Certificate
	// ev is further local material (supplied, or a PDF's DSS).
	ev *evidence
	// poe is the earliest genTime of a valid document timestamp that
	// covers the signature (PDF); zero when none does.
	poe time.Time
	// dss is the DER of what a PDF's /DSS holds, for the level rules.
	dss *derSet
	// cades says the SignedData is a CMS signature of its own (not a
	// PDF's), held to the CAdES baseline for its level.
	cades bool
}

// verifySignedData verifies every signer of a parsed SignedData whose
// content digest dig provides.
func (v *Verifier) verifySignedData(ctx context.Context, sd *icms.SignedData, dig digester, sc signedDataCtx) ([]*Result, error) {
	certs := make([]*x509.Certificate, 0, len(sd.Certificates)+len(sc.extra))
	for _, der := range sd.Certificates {
		c, err := v.parseCert(der)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, "verify.CMS", err, "malformed certificate in the signature")
		}
		certs = append(certs, c)
	}
	certs = append(certs, sc.extra...)
	all, own := v.embedded(sd)
	all = all.merge(sc.ev)
	now := v.now()
	out := make([]*Result, 0, len(sd.SignerInfos))
	for i := range sd.SignerInfos {
		out = append(out, v.verifySigner(ctx, sd, &sd.SignerInfos[i], dig, certs, now, all, own, sc))
	}
	return out, nil
}

func (v *Verifier) verifySigner(ctx context.Context, sd *icms.SignedData, si *icms.SignerInfo, dig digester, certs []*x509.Certificate, now time.Time, ev *evidence, own *derSet, sc signedDataCtx) *Result {
	r := &Result{TrustedTime: now, TimeSource: TimeSourceVerificationTime, Checks: make([]Check, 0, 10)}
	cert := v.checkSigner(r, sd, si, dig, certs, icms.OIDData, false)
	if cert == nil {
		return r
	}
	rc := revocationCtx{now: now, at: now, ev: ev}
	var token *tokenResult
	if ts := icms.Attr(si.UnsignedAttrs, icms.RawAttrTimestampToken); ts != nil {
		r.TimestampPresent = true
		if len(ts.Values) != 1 {
			r.add(CheckTimestamp, Indeterminate, "more than one timestamp token")
		} else if tr := v.verifyTimestamp(ctx, ts.Values[0], bytesDigester(si.Signature), now, tokenProof{poe: sc.poe}, ev); tr.verdict != Valid {
			r.addSub(CheckTimestamp, tr.verdict, tr.sub, tr.reason)
			// The signature's time is not proven: an expiry of the signer
			// cannot be judged either way.
			rc.timeUndecided = tr.verdict == Indeterminate
		} else {
			r.add(CheckTimestamp, Valid, tr.check())
			rc.at, rc.timestamped = tr.gen, true
			r.TrustedTime, r.TimeSource = tr.gen, TimeSourceTimestamp
			token = tr
		}
	}
	if !rc.timestamped && !sc.poe.IsZero() {
		// A document timestamp covering the signature proves it existed
		// then, not that it was made then.
		rc.at, rc.timestamped, rc.timeUndecided = sc.poe, true, true
		r.TrustedTime, r.TimeSource = sc.poe, TimeSourceTimestamp
	}
	inter := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c != cert {
			inter = append(inter, c)
		}
	}
	v.checkCert(ctx, r, cert, inter, rc)
	if sc.cades && r.Level == LevelBB && r.ClaimedSigningTime == nil {
		// EN 319 122-1 clause 6.3: a CAdES baseline signature has a
		// signing-time attribute (a PAdES one has none: /M says it).
		r.Level = LevelCMS
	}
	r.lt = newLTInfo(r, own, token)
	r.Level, _ = r.lt.reach(r, token, sc.dss)
	return r
}

// checkSigner adds the format, attribute, digest and signature checks of one
// SignerInfo and returns the signer certificate when all of them passed.
func (v *Verifier) checkSigner(r *Result, sd *icms.SignedData, si *icms.SignerInfo, dig digester, certs []*x509.Certificate, wantCT asn1.ObjectIdentifier, requireESS bool) *x509.Certificate {
	cert := si.FindCertificate(certs)
	if cert == nil {
		r.addSub(CheckFormat, Invalid, SubNoSigningCertificateFound, "the signer's certificate is not in the signature")
		return nil
	}
	ci := v.info(cert)
	r.Signer = &ci
	r.add(CheckFormat, Valid, "")
	h, ok := icms.DigestAlgorithm(si.DigestAlgorithm)
	if !ok {
		r.addSub(CheckAttributes, Invalid, SubCryptoConstraintsFailure, "digest algorithm not accepted (SHA-256, SHA-384 or SHA-512 required)")
		return nil
	}
	if !sd.EContentType.Equal(wantCT) {
		r.add(CheckAttributes, Invalid, fmt.Sprintf("encapsulated content type %v is not %v", sd.EContentType, wantCT))
		return nil
	}
	got, err := dig(h)
	if err != nil {
		r.add(CheckDigest, Indeterminate, "the signed content could not be read: "+err.Error())
		return nil
	}
	if si.SignedAttrsDER == nil {
		// RFC 5652 section 5.4: without signed attributes the signature is
		// over the content digest itself, which only id-data allows.
		if requireESS || !wantCT.Equal(icms.OIDData) {
			r.add(CheckAttributes, Invalid, "signed attributes are missing")
			return nil
		}
		r.add(CheckAttributes, Valid, "no signed attributes (PKCS #7 style, not a CAdES or PAdES baseline signature)")
		r.Level = LevelPKCS7
		if err := verifySignerSignature(si, cert, h, got); err != nil {
			r.addSub(CheckSignature, Invalid, signatureSub(err), err.Error())
			return nil
		}
		r.add(CheckDigest, Valid, "covered by the signature (no signed attributes)")
		r.add(CheckSignature, Valid, "")
		return cert
	}
	if reason, sub := v.checkAttributes(r, si, cert, h, wantCT, requireESS); reason != "" {
		r.addSub(CheckAttributes, Invalid, sub, reason)
		return nil
	}
	r.add(CheckAttributes, Valid, "")
	md := icms.Attr(si.SignedAttrs, icms.RawAttrMessageDigest).Values[0]
	var want cryptobyte.String
	md.ReadASN1(&want, cbasn1.OCTET_STRING)
	if !bytes.Equal(got, want) {
		r.add(CheckDigest, Invalid, "the content digest does not match the message-digest attribute")
		return nil
	}
	r.add(CheckDigest, Valid, "")
	// The signature covers the DER encoding with the EXPLICIT SET OF tag.
	hh := h.New()
	hh.Write(si.SignedAttrsDER)
	if err := verifySignerSignature(si, cert, h, hh.Sum(nil)); err != nil {
		r.addSub(CheckSignature, Invalid, signatureSub(err), err.Error())
		return nil
	}
	r.add(CheckSignature, Valid, "")
	return cert
}

// signatureSub maps a signature error to its sub-indication.
func signatureSub(err error) SubIndication {
	if roamsign.KindOf(err) == roamsign.ErrUnsupported {
		return SubCryptoConstraintsFailure
	}
	return SubSigCryptoFailure
}

// checkAttributes returns "" when the signed attributes are acceptable, or
// the reason and sub-indication.
func (v *Verifier) checkAttributes(r *Result, si *icms.SignerInfo, cert *x509.Certificate, h crypto.Hash, wantCT asn1.ObjectIdentifier, requireESS bool) (string, SubIndication) {
	ct := icms.Attr(si.SignedAttrs, icms.RawAttrContentType)
	if ct == nil || len(ct.Values) != 1 {
		return "exactly one content-type attribute value is required", SubFormatFailure
	}
	var got asn1.ObjectIdentifier
	val := ct.Values[0]
	if !val.ReadASN1ObjectIdentifier(&got) || !val.Empty() || !got.Equal(wantCT) {
		return "content-type attribute does not match the encapsulated content type", SubFormatFailure
	}
	md := icms.Attr(si.SignedAttrs, icms.RawAttrMessageDigest)
	if md == nil || len(md.Values) != 1 {
		return "exactly one message-digest attribute value is required", SubFormatFailure
	}
	mv := md.Values[0]
	var digest cryptobyte.String
	if !mv.ReadASN1(&digest, cbasn1.OCTET_STRING) || !mv.Empty() || len(digest) != h.Size() {
		return "message-digest attribute is not an OCTET STRING of the digest size", SubFormatFailure
	}
	if st := icms.Attr(si.SignedAttrs, icms.RawAttrSigningTime); st != nil {
		if len(st.Values) != 1 {
			return "signing-time attribute must have one value", SubFormatFailure
		}
		sv := st.Values[0]
		t, ok := icms.ReadTime(&sv)
		if !ok || !sv.Empty() {
			return "signing-time attribute is malformed", SubFormatFailure
		}
		r.ClaimedSigningTime = &t
	}
	v1, v2 := icms.Attr(si.SignedAttrs, icms.RawAttrSigningCert), icms.Attr(si.SignedAttrs, icms.RawAttrSigningCertV2)
	if requireESS && v1 == nil && v2 == nil {
		return "ESS signing-certificate attribute is required", SubFormatFailure
	}
	r.Level = LevelCMS
	if v1 != nil {
		if reason := checkESS(v1, cert, false, v.certHash); reason != "" {
			return reason, SubNoSigningCertificateFound
		}
		r.Level = LevelBB
	}
	if v2 != nil {
		if reason := checkESS(v2, cert, true, v.certHash); reason != "" {
			return reason, SubNoSigningCertificateFound
		}
		r.Level = LevelBB
	}
	if ap := icms.Attr(si.SignedAttrs, icms.RawAttrAlgProtection); ap != nil {
		if reason := checkAlgProtection(ap, si); reason != "" {
			return reason, SubSigConstraintsFailure
		}
	}
	return "", ""
}

// checkESS checks that the first ESSCertID(v2) names cert.
func checkESS(a *icms.Attribute, cert *x509.Certificate, v2 bool, hashOf func(*x509.Certificate, crypto.Hash) []byte) string {
	name := "signing-certificate"
	if v2 {
		name = "signing-certificate-v2"
	}
	if len(a.Values) != 1 {
		return name + " attribute must have one value"
	}
	val := a.Values[0]
	var sc, ids, id cryptobyte.String
	if !val.ReadASN1(&sc, cbasn1.SEQUENCE) || !val.Empty() || !sc.ReadASN1(&ids, cbasn1.SEQUENCE) || !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
		return name + " attribute is malformed"
	}
	h := crypto.SHA256
	if v2 && id.PeekASN1Tag(cbasn1.SEQUENCE) {
		alg, ok := icms.ParseAlgorithm(&id)
		if !ok {
			return name + " hash algorithm is malformed"
		}
		if h, ok = icms.DigestAlgorithm(alg); !ok {
			return name + " hash algorithm not accepted"
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
		serial, ok := icms.ReadInteger(&is)
		if !ok || !is.Empty() || !bytes.Equal(serial, icms.IntegerBytes(cert.SerialNumber)) {
			return name + " issuerSerial names another certificate"
		}
		var dn cryptobyte.String
		if !gns.ReadASN1(&dn, cbasn1.Tag(4).Constructed().ContextSpecific()) || !bytes.Equal(dn, cert.RawIssuer) {
			return name + " issuerSerial names another issuer"
		}
	}
	return ""
}

// checkAlgProtection applies RFC 6211.
func checkAlgProtection(a *icms.Attribute, si *icms.SignerInfo) string {
	if len(a.Values) != 1 {
		return "CMSAlgorithmProtection attribute must have one value"
	}
	val := a.Values[0]
	var seq cryptobyte.String
	if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !val.Empty() {
		return "CMSAlgorithmProtection is malformed"
	}
	dig, ok := icms.ParseAlgorithm(&seq)
	if !ok {
		return "CMSAlgorithmProtection digest algorithm is malformed"
	}
	if !icms.SameAlgorithm(dig, si.DigestAlgorithm) {
		return "CMSAlgorithmProtection digest algorithm differs from the signer's"
	}
	var sigBody cryptobyte.String
	var has bool
	if !seq.ReadOptionalASN1(&sigBody, &has, cbasn1.Tag(1).Constructed().ContextSpecific()) || !has || !seq.Empty() {
		return "CMSAlgorithmProtection must name the signature algorithm and no MAC algorithm"
	}
	var sa icms.AlgorithmIdentifier
	if !icms.ReadRawOID(&sigBody, &sa.OID) {
		return "CMSAlgorithmProtection signature algorithm is malformed"
	}
	if !sigBody.Empty() {
		var tag cbasn1.Tag
		if !sigBody.ReadAnyASN1Element(&sa.Params, &tag) || !sigBody.Empty() {
			return "CMSAlgorithmProtection signature algorithm is malformed"
		}
	}
	if !icms.SameAlgorithm(sa, si.SignatureAlgorithm) {
		return "CMSAlgorithmProtection signature algorithm differs from the signer's"
	}
	return ""
}

// verifySignerSignature verifies the signature of si over digest (of the
// DER signed attributes, or of the content when there are none).
func verifySignerSignature(si *icms.SignerInfo, cert *x509.Certificate, h crypto.Hash, digest []byte) error {
	const op = "verify.CMS"
	pss := false
	a := si.SignatureAlgorithm
	var sigHash crypto.Hash
	switch {
	case a.OID.Equal(icms.RawRSAEncryption) && a.NullOrAbsent():
		sigHash = h
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return roamsign.E(roamsign.ErrInvalidSignature, op, "RSA signature algorithm with a non-RSA key")
		}
	default:
		alg, ok := icms.SignatureAlgorithm(a)
		if !ok {
			return roamsign.E(roamsign.ErrUnsupported, op, "signature algorithm %v not accepted", a.OID)
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
	return VerifyDigestSignature(cert.PublicKey, h, digest, si.Signature, pss)
}

// parseTSTInfo returns genTime and the message imprint of a TSTInfo.
func parseTSTInfo(der []byte) (time.Time, crypto.Hash, []byte, error) {
	t, err := icms.ParseTSTInfo(der)
	if err != nil {
		return time.Time{}, 0, nil, err
	}
	return t.GenTime, t.Hash, t.Imprint, nil
}

type certHashKey struct {
	cert *x509.Certificate
	h    crypto.Hash
}

// certHash returns h(cert.Raw), memoised per certificate.
func (v *Verifier) certHash(cert *x509.Certificate, h crypto.Hash) []byte {
	return v.hashes.value(certHashKey{cert, h}, func() []byte {
		hh := h.New()
		hh.Write(cert.Raw)
		return hh.Sum(nil)
	})
}

package tsa

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"time"

	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tokenCheck is the verification of one token against its request. Each
// step returns nil or the *Error that refuses the token.
type tokenCheck struct {
	c      *Client
	ep     *endpoint
	req    *request
	der    []byte
	sd     *icms.SignedData
	si     *icms.SignerInfo
	tst    *icms.TSTInfo
	certs  []*x509.Certificate
	signer *x509.Certificate
}

// verify checks a TimeStampToken against the request it answers, in this
// order: structure, signer certificate, CMS signature, ESS signing
// certificate, tsa name, time-stamping certificate, message imprint,
// nonce, policy, genTime, then the caller's chain check at genTime.
func (c *Client) verify(ctx context.Context, ep *endpoint, req *request, token []byte, sent time.Time) (*Token, error) {
	v := &tokenCheck{c: c, ep: ep, req: req, der: token}
	for _, step := range []func() *Error{v.parse, v.findSigner, v.checkSignature, v.checkESS, v.checkTSAName,
		v.checkTSACert, v.checkImprint, v.checkNonce, v.checkPolicy} {
		if e := step(); e != nil {
			return nil, e
		}
	}
	if e := v.checkTime(sent, c.now()); e != nil {
		return nil, e
	}
	if e := v.checkChain(ctx); e != nil {
		return nil, e
	}
	return v.token(), nil
}

func (v *tokenCheck) fail(r Reason, format string, args ...any) *Error {
	return &Error{TSA: v.ep.url, Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// parse reads the token: a SignedData over a TSTInfo with one signer.
func (v *tokenCheck) parse() *Error {
	sd, tst, err := icms.ParseTimestampToken("tsa.verify", v.der, int(v.c.cfg.MaxReplySize))
	if sd == nil {
		return &Error{TSA: v.ep.url, Reason: ReasonMalformed, Msg: "the token is not a CMS SignedData", Err: err}
	}
	v.sd = sd
	if !sd.EContentType.Equal(icms.OIDTSTInfo) || !sd.HasEContent || len(sd.SignerInfos) != 1 {
		return v.fail(ReasonMalformed, "the token must encapsulate a TSTInfo and have one signer")
	}
	v.si = &sd.SignerInfos[0]
	if err != nil {
		return &Error{TSA: v.ep.url, Reason: ReasonMalformed, Msg: "TSTInfo", Err: err}
	}
	v.tst = tst
	for i, crit := range v.tst.Critical {
		if crit {
			return v.fail(ReasonMalformed, "TSTInfo has an unsupported critical extension %v", v.tst.Extensions[i])
		}
	}
	return nil
}

// findSigner parses the token's certificates and finds the one its
// SignerInfo names. The request asked for certificates (certReq), so the
// TSA's must be there (RFC 3161 section 2.4.1).
func (v *tokenCheck) findSigner() *Error {
	for _, der := range v.sd.Certificates {
		c, err := v.c.certs.Parse(der)
		if err != nil {
			return &Error{TSA: v.ep.url, Reason: ReasonMalformed, Msg: "a certificate in the token does not parse", Err: err}
		}
		v.certs = append(v.certs, c)
		if v.si.Identifies(c) {
			v.signer = c
		}
	}
	if v.signer == nil {
		return v.fail(ReasonSigningCert, "the token does not carry the certificate of its signer")
	}
	return nil
}

// checkSignature checks the content-type and message-digest attributes
// (RFC 5652 section 5.3) and the signature over the signed attributes.
func (v *tokenCheck) checkSignature() *Error {
	si := v.si
	ct := icms.Attr(si.SignedAttrs, icms.RawAttrContentType)
	md := icms.Attr(si.SignedAttrs, icms.RawAttrMessageDigest)
	if ct == nil || md == nil || len(ct.Values) != 1 || len(md.Values) != 1 {
		return v.fail(ReasonSignature, "signed attributes need one content-type and one message-digest")
	}
	var oid asn1.ObjectIdentifier
	if val := ct.Values[0]; !val.ReadASN1ObjectIdentifier(&oid) || !val.Empty() || !oid.Equal(icms.OIDTSTInfo) {
		return v.fail(ReasonSignature, "content-type attribute is not id-ct-TSTInfo")
	}
	h, ok := icms.DigestAlgorithm(v.si.DigestAlgorithm)
	if !ok {
		return v.fail(ReasonSignature, "digest algorithm not accepted (SHA-256, SHA-384 or SHA-512 required)")
	}
	hh := h.New()
	hh.Write(v.sd.EContent)
	var want cryptobyte.String
	if val := md.Values[0]; !val.ReadASN1(&want, cbasn1.OCTET_STRING) || !val.Empty() || !bytes.Equal(want, hh.Sum(nil)) {
		return v.fail(ReasonSignature, "message-digest attribute does not match the TSTInfo")
	}
	if err := si.CheckSignature(v.signer); err != nil {
		return &Error{TSA: v.ep.url, Reason: ReasonSignature, Msg: "the token's signature does not verify", Err: err}
	}
	return nil
}

// checkESS requires the signing-certificate (RFC 3161 section 2.4.1) or
// signing-certificate-v2 (RFC 5816) attribute, and that each present
// names the signer in its first identifier.
func (v *tokenCheck) checkESS() *Error {
	found := false
	for _, a := range []struct {
		oid icms.RawOID
		v2  bool
	}{{icms.RawAttrSigningCert, false}, {icms.RawAttrSigningCertV2, true}} {
		attr := icms.Attr(v.si.SignedAttrs, a.oid)
		if attr == nil {
			continue
		}
		if len(attr.Values) != 1 {
			return v.fail(ReasonSigningCert, "signing-certificate attribute must have one value")
		}
		ids, err := icms.ParseESSCertIDs(attr.Values[0], a.v2)
		if err != nil {
			return &Error{TSA: v.ep.url, Reason: ReasonSigningCert, Msg: "signing-certificate attribute", Err: err}
		}
		if !ids[0].Matches(v.signer) {
			return v.fail(ReasonSigningCert, "signing-certificate attribute names another certificate")
		}
		found = true
	}
	if !found {
		return v.fail(ReasonSigningCert, "no ESS signing-certificate attribute")
	}
	return nil
}

// checkTSAName checks the optional tsa field: it must name the signer
// (RFC 3161 section 2.4.2), as a directoryName equal to its subject or as
// one of its DNS, e-mail or URI subject alternative names.
func (v *tokenCheck) checkTSAName() *Error {
	if v.tst.TSA == nil {
		return nil
	}
	s := cryptobyte.String(v.tst.TSA)
	var val cryptobyte.String
	var tag cbasn1.Tag
	s.ReadAnyASN1(&val, &tag)
	ok := false
	switch tag {
	case cbasn1.Tag(4).Constructed().ContextSpecific():
		ok = sameName(val, v.signer.RawSubject)
	case cbasn1.Tag(1).ContextSpecific():
		ok = slices.Contains(v.signer.EmailAddresses, string(val))
	case cbasn1.Tag(2).ContextSpecific():
		ok = slices.Contains(v.signer.DNSNames, string(val))
	case cbasn1.Tag(6).ContextSpecific():
		for _, u := range v.signer.URIs {
			ok = ok || u.String() == string(val)
		}
	}
	if !ok {
		return v.fail(ReasonSigningCert, "the tsa field does not name the signer's certificate")
	}
	return nil
}

// sameName compares a DER Name with a certificate's raw subject: equal
// octets, or the same attributes in the same order.
func sameName(name cryptobyte.String, subject []byte) bool {
	var el cryptobyte.String
	if !name.ReadASN1Element(&el, cbasn1.SEQUENCE) || !name.Empty() {
		return false
	}
	if bytes.Equal(el, subject) {
		return true
	}
	var a, b pkix.RDNSequence
	if rest, err := asn1.Unmarshal(el, &a); err != nil || len(rest) > 0 {
		return false
	}
	if rest, err := asn1.Unmarshal(subject, &b); err != nil || len(rest) > 0 {
		return false
	}
	return a.String() == b.String()
}

// oidExtKeyUsage is the extended key usage extension (RFC 5280 section
// 4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// checkTSACert applies RFC 3161 section 2.3: the signer's certificate has
// exactly one extended key usage extension, critical, whose only purpose
// is id-kp-timeStamping; and, when it has a key usage extension,
// digitalSignature or nonRepudiation is set.
func (v *tokenCheck) checkTSACert() *Error {
	c := v.signer
	n, critical := 0, false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			n++
			critical = e.Critical
		}
	}
	switch {
	case n != 1:
		return v.fail(ReasonNotTSA, "the signer's certificate has no extended key usage: not a time-stamping certificate")
	case !critical:
		return v.fail(ReasonNotTSA, "the signer's extended key usage is not critical (RFC 3161 section 2.3)")
	case len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0:
		return v.fail(ReasonNotTSA, "the signer's extended key usage is not id-kp-timeStamping alone (RFC 3161 section 2.3)")
	case c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		return v.fail(ReasonNotTSA, "the signer's key usage allows neither digitalSignature nor nonRepudiation")
	}
	return nil
}

func (v *tokenCheck) checkImprint() *Error {
	if v.tst.Hash != v.req.hash.CryptoHash() {
		return v.fail(ReasonImprint, "the token imprints with %v, the request with %v", v.tst.Hash, v.req.hash)
	}
	if !bytes.Equal(v.tst.Imprint, v.req.digest) {
		return v.fail(ReasonImprint, "the token's message imprint is not the requested digest")
	}
	return nil
}

func (v *tokenCheck) checkNonce() *Error {
	switch {
	case v.tst.Nonce == nil:
		return v.fail(ReasonNonce, "the token has no nonce")
	case !bytes.Equal(v.tst.Nonce, v.req.nonce):
		return v.fail(ReasonNonce, "the token's nonce is not the request's")
	}
	return nil
}

func (v *tokenCheck) checkPolicy() *Error {
	if v.req.policy != nil && !v.tst.Policy.Equal(v.req.policy) {
		return v.fail(ReasonPolicy, "the token's policy %v is not the requested %v", v.tst.Policy, v.req.policy)
	}
	return nil
}

// checkTime requires genTime between the sending of the request and the
// reply's arrival, widened by MaxClockSkew on each side.
func (v *tokenCheck) checkTime(sent, received time.Time) *Error {
	skew := v.c.cfg.MaxClockSkew
	gen := v.tst.GenTime
	if gen.Before(sent.Add(-skew)) || gen.After(received.Add(skew)) {
		return v.fail(ReasonTime, "genTime %s is more than %v away from the local clock", gen.UTC().Format(time.RFC3339), skew)
	}
	return nil
}

// checkChain asks the caller's ChainChecker about the signer's path at
// genTime.
func (v *tokenCheck) checkChain(ctx context.Context) *Error {
	inter := make([]*x509.Certificate, 0, len(v.certs))
	for _, c := range v.certs {
		if c != v.signer {
			inter = append(inter, c)
		}
	}
	if err := v.c.cfg.Chain.CheckTSAChain(ctx, ChainRequest{Leaf: v.signer, Intermediates: inter, At: v.tst.GenTime}); err != nil {
		return &Error{TSA: v.ep.url, Reason: ReasonChain, Msg: "the TSA's certificate path is not valid at genTime", Err: err}
	}
	return nil
}

// token returns the verified token.
func (v *tokenCheck) token() *Token {
	t := v.tst
	return &Token{
		DER:          bytes.Clone(v.der),
		TSA:          v.ep.url,
		GenTime:      t.GenTime,
		Accuracy:     t.Accuracy,
		Policy:       slices.Clone(t.Policy),
		Serial:       integer(t.Serial),
		Hash:         v.req.hash,
		Imprint:      bytes.Clone(t.Imprint),
		Signer:       v.signer,
		Certificates: v.certs,
	}
}

// integer decodes INTEGER content octets.
func integer(content []byte) *big.Int {
	n := new(big.Int)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	s := cryptobyte.String(b.BytesOrPanic())
	s.ReadASN1Integer(n)
	return n
}

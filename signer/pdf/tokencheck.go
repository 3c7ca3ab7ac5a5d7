package pdf

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"slices"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// checkToken verifies a time-stamp token before it is embedded as a
// document time-stamp, whatever the DigestTimestamper checked: it covers
// digest (algorithm h), its signature over the TSTInfo verifies with the
// certificate it names, that certificate is a time-stamping certificate
// (RFC 3161 section 2.3), and v accepts its path at genTime. It returns
// the parsed token and the material that validated the path.
func checkToken(ctx context.Context, op string, token []byte, h roamsign.HashAlgorithm, digest []byte, v ChainValidator) (*stamp, *ValidationData, error) {
	bad := func(format string, args ...any) error {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "time-stamp token refused: "+format, args...)
	}
	st, err := parseStamp(token)
	if err != nil {
		return nil, nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "time-stamp token refused: malformed")
	}
	if st.tst.Hash != h.CryptoHash() || !bytes.Equal(st.tst.Imprint, digest) {
		return nil, nil, bad("its message imprint is not the document's digest")
	}
	si := &st.sd.SignerInfos[0]
	md := icms.Attr(si.SignedAttrs, icms.RawAttrMessageDigest)
	dh, ok := icms.DigestAlgorithm(si.DigestAlgorithm)
	if md == nil || len(md.Values) != 1 || !ok {
		return nil, nil, bad("no single message-digest attribute with an accepted digest")
	}
	sum := dh.New()
	sum.Write(st.sd.EContent)
	var got cryptobyte.String
	if val := md.Values[0]; !val.ReadASN1(&got, cbasn1.OCTET_STRING) || !bytes.Equal(got, sum.Sum(nil)) {
		return nil, nil, bad("the message-digest attribute does not match the TSTInfo")
	}
	if err := si.CheckSignature(st.signer); err != nil {
		return nil, nil, bad("its signature does not verify: %v", err)
	}
	if !isTSACert(st.signer) {
		return nil, nil, bad("its signer is not a time-stamping certificate (one critical extended key usage, id-kp-timeStamping only)")
	}
	vd, err := v.ValidateChain(ctx, ChainRequest{Role: TSAChain, Leaf: st.signer, Intermediates: others(st.certs, st.signer), At: st.genTime, Timestamped: true})
	if err != nil {
		return nil, nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "time-stamp token refused: the authority's path does not validate")
	}
	if err := checkMaterial(op, vd); err != nil {
		return nil, nil, err
	}
	return st, vd, nil
}

// isTSACert reports whether c has exactly one extended key usage
// extension, critical, whose only purpose is id-kp-timeStamping.
func isTSACert(c *x509.Certificate) bool {
	n, critical := 0, false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			n++
			critical = e.Critical
		}
	}
	return n == 1 && critical && len(c.UnknownExtKeyUsage) == 0 &&
		slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
}

package cms

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxStateSize is the largest encoded [Prepared] state that
// [UnmarshalPrepared] accepts.
const MaxStateSize = 256 << 10

// stateVersion is the version of the encoding written by MarshalBinary.
const stateVersion = 1

// MarshalBinary encodes the prepared state, so that a host can keep it
// between the two halves (for example while the signer approves the hash on
// another device). The encoding holds no secret: the signed attributes and
// the public certificates. It is DER:
//
//	SEQUENCE { version INTEGER (1), hash INTEGER, pss BOOLEAN,
//	           contentType OID, signedAttrs OCTET STRING,
//	           chain SEQUENCE OF Certificate }
func (p *Prepared) MarshalBinary() ([]byte, error) {
	size := 64 + len(p.attrs)
	for _, c := range p.chain {
		size += len(c.Raw)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(stateVersion)
		b.AddASN1Int64(int64(p.hash))
		b.AddASN1Boolean(p.pss)
		b.AddASN1ObjectIdentifier(p.contentType)
		b.AddASN1OctetString(p.attrs)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, c := range p.chain {
				b.AddBytes(c.Raw)
			}
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, "cms.Prepared.MarshalBinary", err, "encode state")
	}
	return out, nil
}

// UnmarshalPrepared decodes a state written by [Prepared.MarshalBinary]. It
// checks the encoding, the certificates, the key type and that the signed
// attributes carry the content type, a message digest of the right length
// and the leaf's ESS signing-certificate-v2 hash. Input larger than
// [MaxStateSize] gives [roamsign.ErrTooLarge].
func UnmarshalPrepared(data []byte) (*Prepared, error) {
	const op = "cms.UnmarshalPrepared"
	if len(data) > MaxStateSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "state of %d bytes exceeds the limit of %d", len(data), MaxStateSize)
	}
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed state: %s", what)
	}
	s := cryptobyte.String(data)
	var seq, certs cryptobyte.String
	var version, hash int64
	var pss bool
	var ct asn1.ObjectIdentifier
	var attrs []byte
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, bad("not a DER SEQUENCE")
	}
	if !seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != stateVersion {
		return nil, bad("unknown version")
	}
	if !seq.ReadASN1Int64WithTag(&hash, cbasn1.INTEGER) || hash < 0 || hash > 255 || !roamsign.HashAlgorithm(hash).Valid() {
		return nil, bad("unknown hash algorithm")
	}
	if !seq.ReadASN1Boolean(&pss) {
		return nil, bad("pss flag")
	}
	if !seq.ReadASN1ObjectIdentifier(&ct) {
		return nil, bad("content type")
	}
	if !seq.ReadASN1Bytes(&attrs, cbasn1.OCTET_STRING) {
		return nil, bad("signed attributes")
	}
	if !seq.ReadASN1(&certs, cbasn1.SEQUENCE) || !seq.Empty() {
		return nil, bad("certificates")
	}
	var chain []*x509.Certificate
	for !certs.Empty() {
		if len(chain) == MaxChain {
			return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d certificates", MaxChain)
		}
		var raw cryptobyte.String
		if !certs.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
			return nil, bad("certificate encoding")
		}
		c, err := x509.ParseCertificate(bytes.Clone(raw))
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed state: certificate")
		}
		chain = append(chain, c)
	}
	h := roamsign.HashAlgorithm(hash)
	p, err := newPrepared(op, h, pss, ct, chain)
	if err != nil {
		return nil, err
	}
	if err := p.checkAttrs(attrs); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed state: signed attributes")
	}
	p.setAttrs(bytes.Clone(attrs))
	return p, nil
}

// checkAttrs checks that attrs is a DER SET OF Attribute, in DER order,
// without duplicate types, holding the prepared content type, a message
// digest of the hash's length and an ESS signing-certificate-v2 naming the
// leaf.
func (p *Prepared) checkAttrs(attrs []byte) error {
	s := cryptobyte.String(attrs)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.SET) || !s.Empty() {
		return roamsign.E(roamsign.ErrInvalidInput, "", "not a DER SET")
	}
	var prev []byte
	seen := map[string]bool{}
	var haveCT, haveMD, haveESS bool
	for !set.Empty() {
		var full, elem, attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1Element(&full, cbasn1.SEQUENCE) {
			return roamsign.E(roamsign.ErrInvalidInput, "", "attribute is not a SEQUENCE")
		}
		if prev != nil && icms.LessDER(full, prev) {
			return roamsign.E(roamsign.ErrInvalidInput, "", "attributes not in DER order")
		}
		prev = full
		elem = full
		if !elem.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() || values.Empty() {
			return roamsign.E(roamsign.ErrInvalidInput, "", "malformed attribute")
		}
		if seen[oid.String()] {
			return roamsign.E(roamsign.ErrInvalidInput, "", "duplicate attribute %v", oid)
		}
		seen[oid.String()] = true
		switch {
		case oid.Equal(icms.OIDAttrContentType):
			var v asn1.ObjectIdentifier
			if !values.ReadASN1ObjectIdentifier(&v) || !values.Empty() || !v.Equal(p.contentType) {
				return roamsign.E(roamsign.ErrInvalidInput, "", "content-type attribute does not match")
			}
			haveCT = true
		case oid.Equal(icms.OIDAttrMessageDigest):
			var v []byte
			if !values.ReadASN1Bytes(&v, cbasn1.OCTET_STRING) || !values.Empty() || len(v) != p.hash.Size() {
				return roamsign.E(roamsign.ErrInvalidInput, "", "message-digest attribute is malformed")
			}
			haveMD = true
		case oid.Equal(icms.OIDAttrSigningCertV2):
			// SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 {
			//   [hashAlgorithm], certHash, ... } }: the first names the signer.
			var sc, list, id cryptobyte.String
			var h []byte
			if !values.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&list, cbasn1.SEQUENCE) ||
				!list.ReadASN1(&id, cbasn1.SEQUENCE) || !id.ReadASN1Bytes(&h, cbasn1.OCTET_STRING) {
				return roamsign.E(roamsign.ErrInvalidInput, "", "signing-certificate-v2 attribute is malformed")
			}
			sum := sha256.Sum256(p.chain[0].Raw)
			if !bytes.Equal(h, sum[:]) {
				return roamsign.E(roamsign.ErrInvalidInput, "", "signing-certificate-v2 attribute names another certificate")
			}
			haveESS = true
		}
	}
	if !haveCT || !haveMD || !haveESS {
		return roamsign.E(roamsign.ErrInvalidInput, "", "content-type, message-digest or signing-certificate-v2 missing")
	}
	return nil
}

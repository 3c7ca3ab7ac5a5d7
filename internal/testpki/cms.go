package testpki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/roamsign/roamsign"
)

// CMS object identifiers used by BuildCMS.
var (
	OIDData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrAlgProtection = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 52}
	OIDAttrTimestamp     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	OIDSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

// Attribute is a CMS attribute with DER-encoded values.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values [][]byte
}

// CMSSpec describes a CMS SignedData written by [BuildCMS]. The knobs exist
// so that tests can produce malformed and hostile signatures.
type CMSSpec struct {
	Content  []byte
	Detached bool
	Key      crypto.Signer
	Cert     *x509.Certificate
	// Certs are carried in the SignedData; nil means just Cert.
	Certs []*x509.Certificate
	// Hash defaults to SHA-256 (SHA-384 also supported).
	Hash crypto.Hash
	// SigningTime adds a signing-time attribute when non-zero.
	SigningTime time.Time
	// ContentType defaults to id-data (both eContentType and the attribute).
	ContentType asn1.ObjectIdentifier
	// AttrContentType overrides the content-type attribute value.
	AttrContentType asn1.ObjectIdentifier
	// OmitContentType / OmitMessageDigest drop those attributes.
	OmitContentType   bool
	OmitMessageDigest bool
	// MessageDigest overrides the message-digest value.
	MessageDigest []byte
	// ESSCert, when set, adds a signing-certificate-v2 naming this cert.
	ESSCert *x509.Certificate
	// AlgProtection adds CMSAlgorithmProtection; AlgProtectionDigest
	// overrides its digest algorithm.
	AlgProtection       bool
	AlgProtectionDigest asn1.ObjectIdentifier
	// ExtraSigned and Unsigned are added as they are.
	ExtraSigned []Attribute
	Unsigned    []Attribute
	// Timestamp, when set, is called with the signature value and its token
	// is added as an unsigned attribute.
	Timestamp func(sig []byte) ([]byte, error)
}

// BuildCMS writes a DER ContentInfo with one SignerInfo.
func BuildCMS(spec CMSSpec) ([]byte, error) {
	alg, err := cmsAlgorithms(spec)
	if err != nil {
		return nil, err
	}
	ct := spec.ContentType
	if ct == nil {
		ct = OIDData
	}
	signedSet, err := attributeSet(signedAttributes(spec, alg, ct))
	if err != nil {
		return nil, err
	}
	ah := alg.hash.New()
	ah.Write(signedSet)
	sig, err := spec.Key.Sign(rand.Reader, ah.Sum(nil), alg.hash)
	if err != nil {
		return nil, fmt.Errorf("testpki: sign CMS: %w", err)
	}
	unsigned := append([]Attribute(nil), spec.Unsigned...)
	if spec.Timestamp != nil {
		tok, err := spec.Timestamp(sig)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, Attribute{OIDAttrTimestamp, [][]byte{tok}})
	}
	certs := spec.Certs
	if certs == nil {
		certs = []*x509.Certificate{spec.Cert}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algID(b, alg.digest, false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(ct)
					if !spec.Detached {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(spec.Content)
						})
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					addSignerInfo(b, spec.Cert, alg, signedSet, sig, unsigned)
				})
			})
		})
	})
	return b.Bytes()
}

// cmsAlg is the digest and signature algorithm of a SignedData BuildCMS
// makes.
type cmsAlg struct {
	hash   crypto.Hash
	digest asn1.ObjectIdentifier // digestAlgorithm
	sig    asn1.ObjectIdentifier // signatureAlgorithm
	rsa    bool                  // an RSA key: the signature AlgorithmIdentifier carries NULL
}

// cmsAlgorithms picks the algorithms for spec's hash (SHA-256 by default)
// and key.
func cmsAlgorithms(spec CMSSpec) (cmsAlg, error) {
	a := cmsAlg{hash: spec.Hash}
	if a.hash == 0 {
		a.hash = crypto.SHA256
	}
	switch a.hash {
	case crypto.SHA256:
		a.digest, a.sig = OIDSHA256, OIDECDSAWithSHA256
	case crypto.SHA384:
		a.digest, a.sig = OIDSHA384, OIDECDSAWithSHA384
	default:
		return a, errors.New("testpki: BuildCMS supports SHA-256 and SHA-384")
	}
	switch spec.Key.Public().(type) {
	case *ecdsa.PublicKey:
	case *rsa.PublicKey:
		a.sig, a.rsa = OIDRSAEncryption, true
	default:
		return a, errors.New("testpki: BuildCMS supports ECDSA and RSA keys")
	}
	return a, nil
}

// signedAttributes returns the signed attributes spec asks for, in order:
// content type, signing time, message digest, ESS signing-certificate-v2,
// CMS algorithm protection, then spec.ExtraSigned.
func signedAttributes(spec CMSSpec, alg cmsAlg, ct asn1.ObjectIdentifier) []Attribute {
	hh := alg.hash.New()
	hh.Write(spec.Content)
	md := hh.Sum(nil)
	if spec.MessageDigest != nil {
		md = spec.MessageDigest
	}
	var attrs []Attribute
	if !spec.OmitContentType {
		act := spec.AttrContentType
		if act == nil {
			act = ct
		}
		v, _ := asn1.Marshal(act)
		attrs = append(attrs, Attribute{OIDAttrContentType, [][]byte{v}})
	}
	if !spec.SigningTime.IsZero() {
		v, _ := asn1.Marshal(spec.SigningTime.UTC())
		attrs = append(attrs, Attribute{OIDAttrSigningTime, [][]byte{v}})
	}
	if !spec.OmitMessageDigest {
		v, _ := asn1.Marshal(md)
		attrs = append(attrs, Attribute{OIDAttrMessageDigest, [][]byte{v}})
	}
	if spec.ESSCert != nil {
		attrs = append(attrs, Attribute{OIDAttrSigningCertV2, [][]byte{essCertV2(spec.ESSCert, alg)}})
	}
	if spec.AlgProtection {
		d := alg.digest
		if spec.AlgProtectionDigest != nil {
			d = spec.AlgProtectionDigest
		}
		attrs = append(attrs, Attribute{OIDAttrAlgProtection, [][]byte{algProtection(d, alg)}})
	}
	return append(attrs, spec.ExtraSigned...)
}

// essCertV2 encodes a SigningCertificateV2 naming cert by its hash (the
// hash algorithm is omitted when it is the SHA-256 default).
func essCertV2(cert *x509.Certificate, alg cmsAlg) []byte {
	s := alg.hash.New()
	s.Write(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if alg.hash != crypto.SHA256 {
					algID(b, alg.digest, false)
				}
				b.AddASN1OctetString(s.Sum(nil))
			})
		})
	})
	return b.BytesOrPanic()
}

// algProtection encodes a CMSAlgorithmProtection (RFC 6211) naming digest
// and alg's signature algorithm.
func algProtection(digest asn1.ObjectIdentifier, alg cmsAlg) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		algID(b, digest, false)
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(alg.sig)
			if alg.rsa {
				b.AddASN1NULL()
			}
		})
	})
	return b.BytesOrPanic()
}

// addSignerInfo adds the one SignerInfo (version 1, issuer and serial of
// cert) with the DER SET signedSet re-tagged [0] and unsigned as [1].
func addSignerInfo(b *cryptobyte.Builder, cert *x509.Certificate, alg cmsAlg, signedSet, sig []byte, unsigned []Attribute) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(cert.RawIssuer)
			b.AddASN1BigInt(cert.SerialNumber)
		})
		algID(b, alg.digest, false)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes(signedSet[2+lenOfLen(signedSet):])
		})
		algID(b, alg.sig, alg.rsa)
		b.AddASN1OctetString(sig)
		if len(unsigned) > 0 {
			set, err := attributeSet(unsigned)
			if err != nil {
				b.SetError(err)
				return
			}
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddBytes(set[2+lenOfLen(set):])
			})
		}
	})
}

// lenOfLen returns the number of extra length bytes of a DER header.
func lenOfLen(der []byte) int {
	if der[1]&0x80 == 0 {
		return 0
	}
	return int(der[1] & 0x7f)
}

func algID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
}

// attributeSet encodes attributes as a DER SET OF, sorted.
func attributeSet(attrs []Attribute) ([]byte, error) {
	var encs [][]byte
	for _, a := range attrs {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(a.Type)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range a.Values {
					b.AddBytes(v)
				}
			})
		})
		e, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		encs = append(encs, e)
	}
	sort.Slice(encs, func(i, j int) bool { return bytes.Compare(encs[i], encs[j]) < 0 })
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range encs {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// TSA is a test timestamp authority whose tokens are produced by
// github.com/digitorus/timestamp (an independent RFC 3161 implementation).
type TSA struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // issuing CA chain, carried in tokens
}

// NewTSA issues a timestamping certificate (critical EKU timeStamping).
func (ca *CA) NewTSA(opts LeafOptions) (*TSA, error) {
	k, err := ecdsa.GenerateKey(ellipticP256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if opts.NotBefore.IsZero() {
		opts.NotBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = opts.NotBefore.AddDate(2, 0, 0)
	}
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	cert, err := ca.Issue(&x509.Certificate{
		Subject:         roamsign.RoamingSubject("roamsign Test TSA", "000000000000"),
		NotBefore:       opts.NotBefore,
		NotAfter:        opts.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkixExtension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, k.Public())
	if err != nil {
		return nil, err
	}
	return &TSA{Cert: cert, Key: k, Chain: ca.Chain()}, nil
}

// Token returns a DER timestamp token over the SHA-256 digest of data,
// dated at.
func (t *TSA) Token(data []byte, at time.Time) ([]byte, error) {
	return tsaToken(t, data, at)
}

package devtsa

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// signerParts are the parts of every token that depend only on the
// responder's certificate, key and chain, encoded once.
type signerParts struct {
	sigAlg  []byte // SignerInfo signatureAlgorithm
	sid     []byte // IssuerAndSerialNumber
	essAttr []byte // signing-certificate-v2 Attribute
	certs   []byte // Cert and Chain, DER concatenated
}

// encoder builds tokens directly in DER, with the parts shared by every
// token encoded once. It covers ECDSA and RSA (PKCS #1 v1.5) keys; the
// responder falls back to github.com/digitorus/timestamp for others and
// when Tamper is set.
type encoder struct {
	once  sync.Once
	parts *signerParts
}

// prepare encodes r's shared parts, or returns nil when the key is of a
// kind the encoder does not write.
func (r *Responder) prepare() *signerParts {
	r.enc.once.Do(func() {
		alg, err := icms.SignerAlgorithm(r.Cert.PublicKey, roamsign.SHA256, false)
		if err != nil {
			return
		}
		serial, err := asn1.Marshal(r.Cert.SerialNumber)
		if err != nil {
			return
		}
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(r.Cert.RawIssuer)
			b.AddBytes(serial)
		})
		sid := b.BytesOrPanic()
		b = cryptobyte.NewBuilder(nil)
		icms.AddAttribute(b, icms.OIDAttrSigningCertV2, func(b *cryptobyte.Builder) { icms.AddSigningCertificateV2(b, r.Cert, serial) })
		ess := b.BytesOrPanic()
		certs := append([]byte(nil), r.Cert.Raw...)
		for _, c := range r.Chain {
			certs = append(certs, c.Raw...)
		}
		r.enc.parts = &signerParts{sigAlg: alg, sid: sid, essAttr: ess, certs: certs}
	})
	return r.enc.parts
}

// token is the content of a TSTInfo the responder grants.
type token struct {
	hash     roamsign.HashAlgorithm
	imprint  []byte
	genTime  time.Time
	policy   asn1.ObjectIdentifier
	accuracy time.Duration
	nonce    []byte // INTEGER content octets; nil when absent
	certReq  bool
}

var (
	tagCtx0 = cbasn1.Tag(0).Constructed().ContextSpecific()
	// Accuracy's millis and micros are [0] and [1] IMPLICIT INTEGER.
	tagMillis = cbasn1.Tag(0).ContextSpecific()
	tagMicros = cbasn1.Tag(1).ContextSpecific()
)

// encode returns the DER TimeStampResp granting t, signed by r.Key.
func (r *Responder) encode(p *signerParts, t token) ([]byte, error) {
	var serial [16]byte
	if _, err := rand.Read(serial[:]); err != nil {
		return nil, fmt.Errorf("devtsa: serial number: %w", err)
	}
	serial[0] &= 0x7f
	serial[0] |= 0x01 // positive, minimal: the first octet is never zero
	// TSTInfo ::= SEQUENCE { version 1, policy, messageImprint,
	//   serialNumber, genTime, accuracy OPTIONAL, ordering DEFAULT FALSE,
	//   nonce OPTIONAL, tsa [0] OPTIONAL, extensions [1] OPTIONAL }
	b := cryptobyte.NewBuilder(make([]byte, 0, 256))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(t.policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(icms.DigestAlgorithmID(t.hash))
			b.AddASN1OctetString(t.imprint)
		})
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(serial[:]) })
		b.AddASN1GeneralizedTime(t.genTime)
		if t.accuracy > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				s, ms, us := int64(t.accuracy/time.Second), int64(t.accuracy%time.Second/time.Millisecond), int64(t.accuracy%time.Millisecond/time.Microsecond)
				if s > 0 {
					b.AddASN1Int64(s)
				}
				if ms > 0 {
					b.AddASN1Int64WithTag(ms, tagMillis)
				}
				if us > 0 {
					b.AddASN1Int64WithTag(us, tagMicros)
				}
			})
		}
		if t.nonce != nil {
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(t.nonce) })
		}
	})
	tst, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("devtsa: TSTInfo: %w", err)
	}

	digest := sha256.Sum256(tst)
	var attrs [][]byte
	attr := func(oid asn1.ObjectIdentifier, val cryptobyte.BuilderContinuation) {
		b := cryptobyte.NewBuilder(make([]byte, 0, 64))
		icms.AddAttribute(b, oid, val)
		attrs = append(attrs, b.BytesOrPanic())
	}
	attr(icms.OIDAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(icms.OIDTSTInfo) })
	attr(icms.OIDAttrSigningTime, func(b *cryptobyte.Builder) {
		// UTCTime for 1950 to 2049, GeneralizedTime otherwise (RFC 5652
		// section 11.3).
		if y := t.genTime.Year(); y >= 1950 && y < 2050 {
			b.AddASN1UTCTime(t.genTime)
		} else {
			b.AddASN1GeneralizedTime(t.genTime)
		}
	})
	attr(icms.OIDAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) })
	attrs = append(attrs, p.essAttr)
	signed := icms.SetOf(attrs)
	sum := sha256.Sum256(signed)
	sig, err := r.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devtsa: signing: %w", err)
	}

	attrBody := signed[setHeaderLen(signed):]
	b = cryptobyte.NewBuilder(make([]byte, 0, 512+len(tst)+len(signed)+len(p.certs)+len(sig)))
	// TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken }
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) }) // granted
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(icms.OIDSignedData)
			b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(3)
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(icms.DigestAlgorithmID(roamsign.SHA256)) })
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(icms.OIDTSTInfo)
						b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(tst) })
					})
					// The certificates only when asked for (RFC 3161
					// section 2.4.1).
					if t.certReq {
						b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) { b.AddBytes(p.certs) })
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1Int64(1)
							b.AddBytes(p.sid)
							b.AddBytes(icms.DigestAlgorithmID(roamsign.SHA256))
							b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) { b.AddBytes(attrBody) })
							b.AddBytes(p.sigAlg)
							b.AddASN1OctetString(sig)
						})
					})
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("devtsa: %w", err)
	}
	return out, nil
}

// setHeaderLen returns the length of the tag and length octets of the
// DER element der.
func setHeaderLen(der []byte) int {
	if der[1] < 0x80 {
		return 2
	}
	return 2 + int(der[1]&0x7f)
}

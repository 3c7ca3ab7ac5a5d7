package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDs of the CRL extensions BuildCRL knows how to write.
var (
	OIDCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	OIDDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	OIDFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	OIDReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	OIDInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	OIDAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// CRL reason codes (RFC 5280 §5.3.1) used in tests.
const (
	ReasonUnspecified     = 0
	ReasonKeyCompromise   = 1
	ReasonSuperseded      = 4
	ReasonCertificateHold = 6
	ReasonRemoveFromCRL   = 8
)

// CRLEntry is one revoked certificate in a [CRLSpec].
type CRLEntry struct {
	Revocation
	// InvalidityDate, when non-zero, is written as an entry extension.
	InvalidityDate time.Time
	// Extensions are extra entry extensions (for example a critical unknown one).
	Extensions []pkix.Extension
}

// CRLSpec describes a CRL written by [CA.BuildCRL] at the DER level, so that
// tests can produce CRLs that x509.CreateRevocationList refuses: a CA without
// cRLSign, a foreign issuer name, a delta CRL, no nextUpdate, critical unknown
// entry extensions, or a million entries.
type CRLSpec struct {
	// ThisUpdate defaults to now - 1 minute; NextUpdate to ThisUpdate + 24h.
	ThisUpdate time.Time
	NextUpdate time.Time
	// OmitNextUpdate leaves nextUpdate out.
	OmitNextUpdate bool
	// Number is the cRLNumber; nil takes the CA's next number.
	Number *big.Int
	// DeltaBase, when non-nil, makes this a delta CRL with that base CRL number.
	DeltaBase *big.Int
	// FreshestCRL, when set, advertises a delta CRL location.
	FreshestCRL string
	// Entries are the revoked certificates; nil takes the CA's revocations.
	Entries []CRLEntry
	// Extensions are extra CRL extensions.
	Extensions []pkix.Extension
	// IssuerName overrides the DER issuer name (default the CA's subject).
	IssuerName []byte
	// Signer overrides the signing key.
	Signer crypto.Signer
}

// BuildCRL writes a DER CRL from spec, signed with ECDSA/SHA-256 or
// RSA/SHA-256 depending on the key.
func (ca *CA) BuildCRL(spec CRLSpec) ([]byte, error) {
	if spec.ThisUpdate.IsZero() {
		spec.ThisUpdate = time.Now().Add(-time.Minute).Truncate(time.Second)
	}
	if spec.NextUpdate.IsZero() {
		spec.NextUpdate = spec.ThisUpdate.Add(24 * time.Hour)
	}
	if spec.Number == nil {
		ca.mu.Lock()
		ca.crlNumber++
		spec.Number = big.NewInt(ca.crlNumber)
		ca.mu.Unlock()
	}
	if spec.Entries == nil {
		for _, r := range ca.Revoked() {
			spec.Entries = append(spec.Entries, CRLEntry{Revocation: r})
		}
	}
	issuer := spec.IssuerName
	if issuer == nil {
		issuer = ca.Cert.RawSubject
	}
	key := ca.Key
	if spec.Signer != nil {
		key = spec.Signer
	}
	alg, err := crlSignatureAlgorithm(key)
	if err != nil {
		return nil, err
	}
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // v2
		alg(b)
		b.AddBytes(issuer)
		addTime(b, spec.ThisUpdate)
		if !spec.OmitNextUpdate {
			addTime(b, spec.NextUpdate)
		}
		if len(spec.Entries) > 0 {
			addCRLEntries(b, spec.Entries)
		}
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			addExtensions(b, ca.crlExtensions(spec))
		})
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("testpki: build CRL: %w", err)
	}
	sum := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("testpki: sign CRL: %w", err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		alg(b)
		b.AddASN1BitString(sig)
	})
	return out.Bytes()
}

// crlSignatureAlgorithm returns the writer of key's AlgorithmIdentifier:
// ecdsa-with-SHA256 or sha256WithRSAEncryption (with its NULL parameter).
func crlSignatureAlgorithm(key crypto.Signer) (func(*cryptobyte.Builder), error) {
	var algOID asn1.ObjectIdentifier
	var withNull bool
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		algOID = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	case *rsa.PublicKey:
		algOID = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
		withNull = true
	default:
		return nil, errors.New("testpki: BuildCRL supports ECDSA and RSA keys")
	}
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(algOID)
			if withNull {
				b.AddASN1NULL()
			}
		})
	}, nil
}

// addCRLEntries adds revokedCertificates: serial, revocation date, and the
// reason code, invalidity date and extra extensions of each entry.
func addCRLEntries(b *cryptobyte.Builder, entries []CRLEntry) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, e := range entries {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(e.Serial)
				addTime(b, e.Time)
				var exts []pkix.Extension
				if e.Reason != 0 {
					v, _ := asn1.Marshal(asn1.Enumerated(e.Reason))
					exts = append(exts, pkix.Extension{Id: OIDReasonCode, Value: v})
				}
				if !e.InvalidityDate.IsZero() {
					v, _ := asn1.MarshalWithParams(e.InvalidityDate.UTC(), "generalized")
					exts = append(exts, pkix.Extension{Id: OIDInvalidityDate, Value: v})
				}
				exts = append(exts, e.Extensions...)
				if len(exts) > 0 {
					addExtensions(b, exts)
				}
			})
		}
	})
}

// crlExtensions returns the CRL's extensions: cRLNumber, the CA's
// authority key id, the delta CRL indicator and freshest CRL when spec asks
// for them, then spec.Extensions.
func (ca *CA) crlExtensions(spec CRLSpec) []pkix.Extension {
	num, _ := asn1.Marshal(spec.Number)
	exts := []pkix.Extension{{Id: OIDCRLNumber, Value: num}}
	if len(ca.Cert.SubjectKeyId) > 0 {
		aki, _ := asn1.Marshal(struct {
			ID []byte `asn1:"optional,tag:0"`
		}{ca.Cert.SubjectKeyId})
		exts = append(exts, pkix.Extension{Id: OIDAuthorityKeyID, Value: aki})
	}
	if spec.DeltaBase != nil {
		v, _ := asn1.Marshal(spec.DeltaBase)
		exts = append(exts, pkix.Extension{Id: OIDDeltaCRLIndicator, Critical: true, Value: v})
	}
	if spec.FreshestCRL != "" {
		exts = append(exts, pkix.Extension{Id: OIDFreshestCRL, Value: distributionPoints(spec.FreshestCRL)})
	}
	return append(exts, spec.Extensions...)
}

// DistributionPointsExt returns the DER value of a CRLDistributionPoints (or
// FreshestCRL) extension naming url.
func DistributionPointsExt(url string) []byte { return distributionPoints(url) }

func distributionPoints(url string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes([]byte(url))
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
	} else {
		b.AddASN1GeneralizedTime(t)
	}
}

func addExtensions(b *cryptobyte.Builder, exts []pkix.Extension) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(e.Id)
				if e.Critical {
					b.AddASN1Boolean(true)
				}
				b.AddASN1OctetString(e.Value)
			})
		}
	})
}

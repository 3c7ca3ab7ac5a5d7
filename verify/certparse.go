package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate extensions (RFC 5280 section 4.2).
var (
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtBasicCons      = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtSAN            = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtIAN            = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtNameCons       = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidExtPolicies       = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidExtPolicyMappings = asn1.ObjectIdentifier{2, 5, 29, 33}
	oidExtPolicyCons     = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidExtInhibitAny     = asn1.ObjectIdentifier{2, 5, 29, 54}
	oidExtEKU            = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidExtSKI            = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAKI            = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtCRLDP          = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtOCSPNoCheck    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
)

// handledCritical lists the extensions path validation processes; any
// other critical extension makes a certificate unusable.
var handledCritical = []asn1.ObjectIdentifier{
	oidExtKeyUsage, oidExtBasicCons, oidExtSAN, oidExtIAN, oidExtNameCons, oidExtPolicies,
	oidExtPolicyMappings, oidExtPolicyCons, oidExtInhibitAny, oidExtEKU, oidExtSKI, oidExtAKI,
	oidExtCRLDP, oidFreshestCRL,
}

// Reason flags of distribution points (RFC 5280 section 4.2.1.13): bit i
// of the BIT STRING is 1<<i.
const allReasons uint16 = 0x1fe

// distPoint is a distribution point of a certificate (or the issuing
// distribution point of a CRL).
type distPoint struct {
	hasName bool
	full    []generalName // fullName, or the resolved nameRelativeToCRLIssuer
	rel     dn            // nameRelativeToCRLIssuer (one RDN), resolved by the caller
	reasons uint16        // 0: all reasons
	issuer  []generalName // cRLIssuer
}

// names returns the distribution point's full names, resolving a relative
// name against the CRL issuer.
func (d *distPoint) names(crlIssuer dn) []generalName {
	if d.rel == nil {
		return d.full
	}
	full := append(append(dn(nil), crlIssuer...), d.rel...)
	return []generalName{{form: gnDirectory, dn: full}}
}

// readDistributionPointName reads DistributionPointName into d.
func readDistributionPointName(name cryptobyte.String, d *distPoint) bool {
	var body cryptobyte.String
	var tag cbasn1.Tag
	if !name.ReadAnyASN1(&body, &tag) || !name.Empty() {
		return false
	}
	d.hasName = true
	switch tag {
	case cbasn1.Tag(0).Constructed().ContextSpecific():
		gns, ok := parseGeneralNames(body)
		d.full = gns
		return ok
	case cbasn1.Tag(1).Constructed().ContextSpecific():
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(body) })
		})
		rdn, _, ok := parseDN(b.BytesOrPanic())
		d.rel = rdn
		return ok && len(rdn) == 1
	}
	return false
}

func readReasons(s cryptobyte.String) (uint16, bool) {
	var bits asn1.BitString
	if !s.ReadASN1BitString(&bits) || !s.Empty() {
		return 0, false
	}
	var r uint16
	for i := 0; i < 9 && i < bits.BitLength; i++ {
		if bits.At(i) == 1 {
			r |= 1 << i
		}
	}
	return r &^ 1, true
}

// parseDistributionPoints reads a cRLDistributionPoints (or freshestCRL)
// extension value.
func parseDistributionPoints(v []byte) ([]distPoint, bool) {
	s := cryptobyte.String(v)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, false
	}
	var out []distPoint
	for !seq.Empty() {
		var dps cryptobyte.String
		if !seq.ReadASN1(&dps, cbasn1.SEQUENCE) || len(out) > 32 {
			return nil, false
		}
		var d distPoint
		var name, reasons, issuer cryptobyte.String
		var hasName, hasReasons, hasIssuer bool
		if !dps.ReadOptionalASN1(&name, &hasName, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!dps.ReadOptionalASN1(&reasons, &hasReasons, cbasn1.Tag(1).ContextSpecific()) ||
			!dps.ReadOptionalASN1(&issuer, &hasIssuer, cbasn1.Tag(2).Constructed().ContextSpecific()) || !dps.Empty() {
			return nil, false
		}
		if hasName && !readDistributionPointName(name, &d) {
			return nil, false
		}
		if hasReasons {
			// Re-tag as a BIT STRING to read it.
			b := cryptobyte.NewBuilder(nil)
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(reasons) })
			r, ok := readReasons(cryptobyte.String(b.BytesOrPanic()))
			if !ok {
				return nil, false
			}
			d.reasons = r
			if r == 0 {
				return nil, false
			}
		}
		if hasIssuer {
			gns, ok := parseGeneralNames(issuer)
			if !ok || len(gns) == 0 {
				return nil, false
			}
			d.issuer = gns
		}
		if !hasName && !hasIssuer {
			return nil, false // RFC 5280: one of them MUST be present
		}
		out = append(out, d)
	}
	return out, len(out) > 0
}

// parsedCert holds what path validation and revocation read from a
// certificate beyond what crypto/x509 parses.
type parsedCert struct {
	c                     *x509.Certificate
	subject, issuer       dn
	subjectKey, issuerKey string // subject.key(), issuer.key()
	emails                []string
	san                   []generalName
	hasSAN                bool
	nc                    *nameConstraints
	hasPolicies           bool
	policies              []string
	dps                   []distPoint
	hasDPs                bool
	freshest              []distPoint
	selfIssued            bool
	isCA                  bool
	// bad is non-empty when the certificate cannot be used in a path: an
	// unknown critical extension or an extension this package cannot read.
	bad string
}

// parseExtras parses c's names and extensions.
func parseExtras(c *x509.Certificate) *parsedCert {
	pc := &parsedCert{c: c, isCA: c.BasicConstraintsValid && c.IsCA}
	var ok bool
	if pc.subject, pc.emails, ok = parseDN(c.RawSubject); !ok {
		pc.bad = "malformed subject name"
	}
	if pc.issuer, _, ok = parseDN(c.RawIssuer); !ok {
		pc.bad = "malformed issuer name"
	}
	pc.subjectKey, pc.issuerKey = pc.subject.key(), pc.issuer.key()
	pc.selfIssued = pc.subjectKey == pc.issuerKey
	for _, p := range c.Policies {
		pc.policies = append(pc.policies, p.String())
	}
	for _, e := range c.Extensions {
		if err := pc.extension(e.Id, e.Value); err != nil && pc.bad == "" {
			pc.bad = err.Error()
		}
		if e.Critical && pc.bad == "" {
			known := false
			for _, h := range handledCritical {
				if e.Id.Equal(h) {
					known = true
				}
			}
			if !known {
				pc.bad = "unknown critical extension " + e.Id.String()
			}
		}
	}
	return pc
}

func (pc *parsedCert) extension(id asn1.ObjectIdentifier, v []byte) error {
	switch {
	case id.Equal(oidExtSAN):
		gns, ok := parseGeneralNamesSeq(v)
		if !ok {
			return fmt.Errorf("malformed subjectAltName")
		}
		pc.san, pc.hasSAN = gns, true
	case id.Equal(oidExtNameCons):
		nc, err := parseNameConstraints(v)
		if err != nil {
			return err
		}
		pc.nc = nc
	case id.Equal(oidExtPolicies):
		pc.hasPolicies = true
	case id.Equal(oidExtCRLDP), id.Equal(oidFreshestCRL):
		dps, ok := parseDistributionPoints(v)
		if !ok {
			return fmt.Errorf("malformed distribution points (%s)", id)
		}
		if id.Equal(oidExtCRLDP) {
			pc.dps, pc.hasDPs = dps, true
		} else {
			pc.freshest = dps
		}
	}
	return nil
}

// parsed returns the extra parse of c, cached per verifier.
func (v *Verifier) parsed(c *x509.Certificate) *parsedCert {
	return v.extras.value(c, func() *parsedCert { return parseExtras(c) })
}

// keyIDMatch reports whether an authority key identifier (when both are
// known) names the subject key identifier.
func keyIDMatch(aki, ski []byte) bool {
	return len(aki) == 0 || len(ski) == 0 || bytes.Equal(aki, ski)
}

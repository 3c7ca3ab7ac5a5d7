package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultMaxCRLSize is the size cap for a CRL (32 MiB).
const DefaultMaxCRLSize = 32 << 20

// CRL extension and entry extension identifiers (RFC 5280 §5.2, §5.3).
var (
	oidCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDP         = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidIssuerAltName     = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExpiredCertsOnCRL = asn1.ObjectIdentifier{2, 5, 29, 60}
	oidReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidCertificateIssuer = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// RFC 5280 CRLReason values.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonRemoveFromCRL        = 8
	ReasonPrivilegeWithdrawn   = 9
	ReasonAACompromise         = 10
)

var reasonNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
	4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
	9: "privilegeWithdrawn", 10: "aACompromise",
}

// ReasonName returns the RFC 5280 name of a CRLReason value.
func ReasonName(r int) string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", r)
}

// RevokedEntry is the revocation record of one serial number.
type RevokedEntry struct {
	RevokedAt time.Time
	// InvalidityDate is zero when the CRL entry has none.
	InvalidityDate time.Time
	Reason         int
}

// entry is the compact in-memory form of a CRL entry.
type entry struct {
	at      int64 // unix seconds
	reason  int8
	invalid bool // an invalidity date is in CRL.invalidity
}

// serialKeyLen bounds the serials held in the fixed-size map: RFC 5280
// allows 20 octets, plus one leading zero octet for a positive sign.
const serialKeyLen = 21

// fixedKey is a serial of at most serialKeyLen octets: length, then bytes.
type fixedKey [serialKeyLen + 1]byte

func makeKey(b []byte) (fixedKey, bool) {
	var k fixedKey
	if len(b) > serialKeyLen {
		return k, false
	}
	k[0] = byte(len(b))
	copy(k[1:], b)
	return k, true
}

// CRL is a parsed certificate revocation list. It is immutable after
// [ParseCRL] and safe for concurrent use. Lookups by serial number are O(1).
type CRL struct {
	// Raw is the DER of the whole CRL.
	Raw        []byte
	RawIssuer  []byte
	ThisUpdate time.Time
	// NextUpdate is zero when the CRL has none (such a CRL is never accepted).
	NextUpdate time.Time
	// Number is the cRLNumber, nil when absent.
	Number *big.Int
	// DeltaBase is the BaseCRLNumber of a delta CRL, nil for a complete CRL.
	DeltaBase *big.Int
	// AuthorityKeyID is the keyIdentifier of the AKI extension, if any.
	AuthorityKeyID []byte
	// FreshestCRL lists delta CRL URLs advertised by this CRL.
	FreshestCRL []string
	// ExpiredCertsOnCRL is non-zero when the CRL keeps entries of certificates
	// that expired on or after that date.
	ExpiredCertsOnCRL time.Time
	// IDP holds the issuing distribution point, nil when absent.
	IDP *IssuingDP
	// Unusable is non-empty when the CRL carries something this package
	// cannot honour (an unknown critical extension, an indirect CRL entry);
	// such a CRL never decides a status.
	Unusable string

	issuerDN    dn
	issuerKey   string
	curIssuer   string                      // certificateIssuer in effect while parsing entries ("" = the CRL issuer)
	sawCertIss  bool                        // an entry carried certificateIssuer
	indirect    map[string]map[string]entry // entries of other issuers (indirect CRL): issuer key, serial
	indirectInv map[string]map[string]int64
	sigMu       sync.Mutex
	sigs        []crlSig // memoised signature checks
	sigAlg      x509.SignatureAlgorithm
	tbs         []byte
	sig         []byte
	entries     map[fixedKey]entry
	long        map[string]entry   // serials longer than serialKeyLen (non-conforming CAs)
	invalidity  map[fixedKey]int64 // invalidity dates, keyed like entries
	longInv     map[string]int64
}

// IssuingDP is the issuing distribution point extension of a CRL.
type IssuingDP struct {
	// URIs are the URIs among the distribution point's full names.
	URIs           []string
	OnlyUser       bool
	OnlyCA         bool
	OnlyAttr       bool
	OnlySomeReason bool
	Indirect       bool

	hasName bool
	dp      distPoint
	reasons uint16
	raw     []byte
}

// Len returns the number of entries.
func (c *CRL) Len() int { return len(c.entries) + len(c.long) }

// Lookup returns the entry for a serial number.
func (c *CRL) Lookup(serial *big.Int) (RevokedEntry, bool) {
	if serial != nil && serial.Sign() > 0 {
		// Fast path without allocation: the minimal positive encoding.
		n := serial.BitLen()/8 + 1
		if n <= serialKeyLen {
			var buf [serialKeyLen]byte
			serial.FillBytes(buf[:n])
			if buf[0] == 0 && n > 1 && buf[1]&0x80 == 0 {
				return c.lookupKey(buf[1:n])
			}
			return c.lookupKey(buf[:n])
		}
	}
	return c.lookupKey(icms.IntegerBytes(serial))
}

func (c *CRL) lookupKey(key []byte) (RevokedEntry, bool) {
	var e entry
	var ok bool
	var inv int64
	if k, fits := makeKey(key); fits {
		if e, ok = c.entries[k]; ok && e.invalid {
			inv = c.invalidity[k]
		}
	} else if e, ok = c.long[string(key)]; ok && e.invalid {
		inv = c.longInv[string(key)]
	}
	if !ok {
		return RevokedEntry{}, false
	}
	r := RevokedEntry{RevokedAt: time.Unix(e.at, 0).UTC(), Reason: int(e.reason)}
	if e.invalid {
		r.InvalidityDate = time.Unix(inv, 0).UTC()
	}
	return r, true
}

// lookupFor returns the entry of a certificate of the given issuer: the
// CRL's own entries for the CRL issuer, the certificateIssuer entries of
// an indirect CRL for another.
func (c *CRL) lookupFor(issuer dn, serial []byte) (RevokedEntry, bool) {
	k := issuer.key()
	if k == c.issuerKey {
		return c.lookupKey(serial)
	}
	e, ok := c.indirect[k][string(serial)]
	if !ok {
		return RevokedEntry{}, false
	}
	r := RevokedEntry{RevokedAt: time.Unix(e.at, 0).UTC(), Reason: int(e.reason)}
	if e.invalid {
		r.InvalidityDate = time.Unix(c.indirectInv[k][string(serial)], 0).UTC()
	}
	return r, true
}

func (c *CRL) addIndirect(serial []byte, ent entry, inv int64) {
	if c.indirect == nil {
		c.indirect, c.indirectInv = map[string]map[string]entry{}, map[string]map[string]int64{}
	}
	m := c.indirect[c.curIssuer]
	if m == nil {
		m = map[string]entry{}
		c.indirect[c.curIssuer] = m
		c.indirectInv[c.curIssuer] = map[string]int64{}
	}
	if old, dup := m[string(serial)]; dup && old.at <= ent.at {
		return
	}
	m[string(serial)] = ent
	if ent.invalid {
		c.indirectInv[c.curIssuer][string(serial)] = inv
	}
}

// CheckSignatureFrom verifies the CRL's signature with the issuer's key.
func (c *CRL) CheckSignatureFrom(issuer *x509.Certificate) error {
	if err := issuer.CheckSignature(c.sigAlg, c.tbs, c.sig); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidSignature, "verify.CRL.CheckSignatureFrom", err, "CRL signature does not verify")
	}
	return nil
}

// ParseCRL parses a DER CRL. It enforces [DefaultMaxCRLSize]; errors are of
// kind ErrTooLarge or ErrInvalidInput. A CRL with an unknown critical
// extension parses, with Unusable set.
func ParseCRL(der []byte) (*CRL, error) {
	return parseCRL(der, DefaultMaxCRLSize)
}

// parseCarriedCRL is parseCRL for the CRLs that documents and signatures
// carry, remembered by their bytes (Verifier.crls): the documents of a
// batch carry the same CA's CRL, of megabytes for a national CA, which is
// then parsed once. The parsed CRL is shared, as the cache of fetched CRLs
// shares its own.
func (v *Verifier) parseCarriedCRL(der []byte) (*CRL, error) {
	return v.crls.Remember(der, func(own []byte) (*CRL, error) { return parseCRL(own, v.maxCRLSize) })
}

// parseCRL is the CRL parser. It is longer than the usual limit because it
// reads the CertificateList fields in order, as RFC 5280 section 5.1
// lists them, with every check next to the field it guards.
func parseCRL(der []byte, max int64) (c *CRL, err error) {
	const op = "verify.ParseCRL"
	if int64(len(der)) > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "CRL of %d bytes exceeds the %d byte limit", len(der), max)
	}
	bad := func(what string) error { return roamsign.E(roamsign.ErrInvalidInput, op, "malformed CRL: %s", what) }
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, bad(fmt.Sprint("parser fault: ", p))
		}
	}()
	input := cryptobyte.String(der)
	var outer, tbsFull cryptobyte.String
	if !input.ReadASN1(&outer, cbasn1.SEQUENCE) || !input.Empty() {
		return nil, bad("not a DER SEQUENCE")
	}
	if !outer.ReadASN1Element(&tbsFull, cbasn1.SEQUENCE) {
		return nil, bad("tbsCertList")
	}
	c = &CRL{tbs: tbsFull, Raw: der}
	outerAlg, ok := icms.ParseAlgorithm(&outer)
	if !ok {
		return nil, bad("signatureAlgorithm")
	}
	var sigBits asn1.BitString
	if !outer.ReadASN1BitString(&sigBits) || sigBits.BitLength%8 != 0 || !outer.Empty() {
		return nil, bad("signature")
	}
	c.sig = sigBits.Bytes

	var tbs cryptobyte.String
	tbsCopy := tbsFull
	tbsCopy.ReadASN1(&tbs, cbasn1.SEQUENCE)
	var version int64
	if tbs.PeekASN1Tag(cbasn1.INTEGER) {
		if !tbs.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 1 {
			return nil, bad("version")
		}
	}
	innerAlg, ok := icms.ParseAlgorithm(&tbs)
	if !ok || !bytes.Equal(innerAlg.Raw, outerAlg.Raw) {
		return nil, bad("signature algorithms differ")
	}
	if c.sigAlg, ok = icms.SignatureAlgorithm(outerAlg); !ok {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported CRL signature algorithm %v", outerAlg.OID)
	}
	var issuer cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return nil, bad("issuer")
	}
	c.RawIssuer = issuer
	if c.issuerDN, _, ok = parseDN(issuer); !ok {
		return nil, bad("issuer name")
	}
	c.issuerKey = c.issuerDN.key()
	if c.ThisUpdate, ok = icms.ReadTime(&tbs); !ok {
		return nil, bad("thisUpdate")
	}
	if tbs.PeekASN1Tag(cbasn1.UTCTime) || tbs.PeekASN1Tag(cbasn1.GeneralizedTime) {
		if c.NextUpdate, ok = icms.ReadTime(&tbs); !ok {
			return nil, bad("nextUpdate")
		}
	}
	if tbs.PeekASN1Tag(cbasn1.SEQUENCE) {
		var list cryptobyte.String
		if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
			return nil, bad("revokedCertificates")
		}
		n := 0
		for cnt := list; !cnt.Empty(); n++ {
			if !cnt.SkipASN1(cbasn1.SEQUENCE) {
				return nil, bad("revoked entry")
			}
		}
		c.entries = make(map[fixedKey]entry, n)
		for !list.Empty() {
			var e cryptobyte.String
			if !list.ReadASN1(&e, cbasn1.SEQUENCE) {
				return nil, bad("revoked entry")
			}
			serial, ok := icms.ReadInteger(&e)
			if !ok || len(serial) > 64 {
				return nil, bad("entry serial")
			}
			at, ok := icms.ReadTime(&e)
			if !ok {
				return nil, bad("entry revocationDate")
			}
			ent := entry{at: at.Unix()}
			var inv int64
			if !e.Empty() {
				if version != 1 {
					return nil, bad("entry extensions in a v1 CRL")
				}
				if err := c.entryExtensions(&e, &ent, &inv); err != nil {
					return nil, bad(err.Error())
				}
				if !e.Empty() {
					return nil, bad("trailing data in entry")
				}
			}
			if c.curIssuer != "" && c.curIssuer != c.issuerKey {
				c.addIndirect(serial, ent, inv)
			} else {
				c.add(serial, ent, inv)
			}
		}
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if version != 1 {
			return nil, bad("extensions in a v1 CRL")
		}
		var exts cryptobyte.String
		if !tbs.ReadASN1(&exts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, bad("crlExtensions")
		}
		if err := c.crlExtensions(exts); err != nil {
			return nil, bad(err.Error())
		}
	}
	if !tbs.Empty() {
		return nil, bad("trailing data in tbsCertList")
	}
	if c.sawCertIss && (c.IDP == nil || !c.IDP.Indirect) && c.Unusable == "" {
		c.Unusable = "certificateIssuer entries in a CRL that is not indirect"
	}
	if c.entries == nil {
		c.entries = map[fixedKey]entry{}
	}
	return c, nil
}

// add records an entry; of a repeated serial the earliest record is kept.
func (c *CRL) add(serial []byte, ent entry, inv int64) {
	if k, ok := makeKey(serial); ok {
		if old, dup := c.entries[k]; dup && old.at <= ent.at {
			return
		}
		c.entries[k] = ent
		if ent.invalid {
			if c.invalidity == nil {
				c.invalidity = map[fixedKey]int64{}
			}
			c.invalidity[k] = inv
		}
		return
	}
	if c.long == nil {
		c.long, c.longInv = map[string]entry{}, map[string]int64{}
	}
	if old, dup := c.long[string(serial)]; dup && old.at <= ent.at {
		return
	}
	c.long[string(serial)] = ent
	if ent.invalid {
		c.longInv[string(serial)] = inv
	}
}

type extension struct {
	oid      asn1.ObjectIdentifier
	critical bool
	value    cryptobyte.String
}

func readExtensions(s cryptobyte.String, fn func(extension) error) error {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || seq.Empty() {
		return fmt.Errorf("extensions")
	}
	seen := map[string]bool{}
	for !seq.Empty() {
		var e cryptobyte.String
		var x extension
		if !seq.ReadASN1(&e, cbasn1.SEQUENCE) || !e.ReadASN1ObjectIdentifier(&x.oid) {
			return fmt.Errorf("extension")
		}
		if e.PeekASN1Tag(cbasn1.BOOLEAN) {
			if !e.ReadASN1Boolean(&x.critical) || !x.critical {
				return fmt.Errorf("extension critical flag")
			}
		}
		if !e.ReadASN1(&x.value, cbasn1.OCTET_STRING) || !e.Empty() {
			return fmt.Errorf("extension value")
		}
		k := x.oid.String()
		if seen[k] {
			return fmt.Errorf("duplicate extension %s", k)
		}
		seen[k] = true
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

func (c *CRL) entryExtensions(s *cryptobyte.String, ent *entry, inv *int64) error {
	var raw cryptobyte.String
	if !s.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return fmt.Errorf("crlEntryExtensions")
	}
	return readExtensions(raw, func(x extension) error {
		v := x.value
		switch {
		case x.oid.Equal(oidReasonCode):
			var r int
			if !v.ReadASN1Enum(&r) || !v.Empty() || r < 0 || r > 10 || r == 7 {
				return fmt.Errorf("reasonCode")
			}
			ent.reason = int8(r)
		case x.oid.Equal(oidInvalidityDate):
			t, ok := icms.ReadGeneralizedTime(&v)
			if !ok || !v.Empty() {
				return fmt.Errorf("invalidityDate")
			}
			ent.invalid, *inv = true, t.Unix()
		case x.oid.Equal(oidCertificateIssuer):
			gns, ok := parseGeneralNamesSeq(v)
			if !ok {
				return fmt.Errorf("certificateIssuer")
			}
			c.sawCertIss = true
			c.curIssuer = "\x01unmatched"
			for _, gn := range gns {
				if gn.form == gnDirectory {
					c.curIssuer = gn.dn.key()
					break
				}
			}
		default:
			if x.critical && c.Unusable == "" {
				c.Unusable = "unknown critical CRL entry extension " + x.oid.String()
			}
		}
		return nil
	})
}

func (c *CRL) crlExtensions(s cryptobyte.String) error {
	return readExtensions(s, func(x extension) error {
		v := x.value
		switch {
		case x.oid.Equal(oidCRLNumber):
			n := new(big.Int)
			if !v.ReadASN1Integer(n) || !v.Empty() || n.Sign() < 0 {
				return fmt.Errorf("cRLNumber")
			}
			c.Number = n
		case x.oid.Equal(oidDeltaCRLIndicator):
			n := new(big.Int)
			if !v.ReadASN1Integer(n) || !v.Empty() || n.Sign() < 0 {
				return fmt.Errorf("deltaCRLIndicator")
			}
			c.DeltaBase = n
		case x.oid.Equal(oidAuthorityKeyID):
			var seq cryptobyte.String
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
				return fmt.Errorf("authorityKeyIdentifier")
			}
			var id cryptobyte.String
			var has bool
			if !seq.ReadOptionalASN1(&id, &has, cbasn1.Tag(0).ContextSpecific()) {
				return fmt.Errorf("authorityKeyIdentifier")
			}
			if has {
				c.AuthorityKeyID = id
			}
		case x.oid.Equal(oidFreshestCRL):
			if x.critical {
				c.Unusable = "critical freshestCRL extension"
			}
			dps, ok := parseDistributionPoints(v)
			if !ok {
				return fmt.Errorf("freshestCRL")
			}
			for _, dp := range dps {
				for _, gn := range dp.full {
					if gn.form == gnURI {
						c.FreshestCRL = append(c.FreshestCRL, string(gn.value))
					}
				}
			}
		case x.oid.Equal(oidIssuingDP):
			idp, err := parseIDP(v)
			if err != nil {
				return err
			}
			c.IDP = idp
		case x.oid.Equal(oidExpiredCertsOnCRL):
			t, ok := icms.ReadGeneralizedTime(&v)
			if !ok || !v.Empty() {
				return fmt.Errorf("expiredCertsOnCRL")
			}
			c.ExpiredCertsOnCRL = t
		case x.oid.Equal(oidIssuerAltName):
		default:
			if x.critical && c.Unusable == "" {
				c.Unusable = "unknown critical CRL extension " + x.oid.String()
			}
		}
		return nil
	})
}

func parseIDP(v cryptobyte.String) (*IssuingDP, error) {
	idp := &IssuingDP{raw: v}
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
		return nil, fmt.Errorf("issuingDistributionPoint")
	}
	var name cryptobyte.String
	var has bool
	if !seq.ReadOptionalASN1(&name, &has, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, fmt.Errorf("issuingDistributionPoint name")
	}
	if has {
		if !readDistributionPointName(name, &idp.dp) {
			return nil, fmt.Errorf("issuingDistributionPoint name")
		}
		idp.hasName = true
		for _, gn := range idp.dp.full {
			if gn.form == gnURI {
				idp.URIs = append(idp.URIs, string(gn.value))
			}
		}
	}
	flag := func(tag int, dst *bool) bool {
		var b cryptobyte.String
		var has bool
		if !seq.ReadOptionalASN1(&b, &has, cbasn1.Tag(tag).ContextSpecific()) {
			return false
		}
		if has {
			if len(b) != 1 || b[0] != 0xff {
				return false
			}
			*dst = true
		}
		return true
	}
	if !flag(1, &idp.OnlyUser) || !flag(2, &idp.OnlyCA) {
		return nil, fmt.Errorf("issuingDistributionPoint flags")
	}
	var reasons cryptobyte.String
	if !seq.ReadOptionalASN1(&reasons, &idp.OnlySomeReason, cbasn1.Tag(3).ContextSpecific()) {
		return nil, fmt.Errorf("issuingDistributionPoint reasons")
	}
	if idp.OnlySomeReason {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(reasons) })
		r, ok := readReasons(cryptobyte.String(b.BytesOrPanic()))
		if !ok || r == 0 {
			return nil, fmt.Errorf("issuingDistributionPoint reasons")
		}
		idp.reasons = r
	}
	if !flag(4, &idp.Indirect) || !flag(5, &idp.OnlyAttr) || !seq.Empty() {
		return nil, fmt.Errorf("issuingDistributionPoint flags")
	}
	if n := b2i(idp.OnlyUser) + b2i(idp.OnlyCA) + b2i(idp.OnlyAttr); n > 1 {
		return nil, fmt.Errorf("issuingDistributionPoint: more than one onlyContains flag")
	}
	return idp, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

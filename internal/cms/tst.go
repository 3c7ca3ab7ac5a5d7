package cms

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxTSTExtensions bounds the extensions of a TSTInfo.
const MaxTSTExtensions = 16

// TSTInfo is a parsed RFC 3161 TSTInfo (section 2.4.2):
//
//	TSTInfo ::= SEQUENCE {
//	  version        INTEGER { v1(1) },
//	  policy         TSAPolicyId,
//	  messageImprint MessageImprint,
//	  serialNumber   INTEGER,
//	  genTime        GeneralizedTime,
//	  accuracy       Accuracy OPTIONAL,
//	  ordering       BOOLEAN DEFAULT FALSE,
//	  nonce          INTEGER OPTIONAL,
//	  tsa            [0] GeneralName OPTIONAL,
//	  extensions     [1] IMPLICIT Extensions OPTIONAL }
type TSTInfo struct {
	Policy asn1.ObjectIdentifier
	// Hash and Imprint are the message imprint.
	Hash    crypto.Hash
	Imprint []byte
	// Serial is the content octets of serialNumber.
	Serial  []byte
	GenTime time.Time
	// Accuracy is zero when absent.
	Accuracy time.Duration
	Ordering bool
	// Nonce is the content octets of the nonce INTEGER, nil when absent.
	Nonce []byte
	// TSA is the DER GeneralName of the tsa field, nil when absent.
	TSA []byte
	// Extensions holds the identifiers of the extensions, and Critical
	// whether each is critical.
	Extensions []asn1.ObjectIdentifier
	Critical   []bool
}

var (
	tagCtx0Prim = cbasn1.Tag(0).ContextSpecific()
	tagCtx1Prim = cbasn1.Tag(1).ContextSpecific()
)

// ParseTSTInfo reads a DER TSTInfo (RFC 3161 section 2.4.2), every field
// and nothing after it. The imprint hash must be SHA-256, SHA-384 or
// SHA-512 of the right length.
func ParseTSTInfo(der []byte) (*TSTInfo, error) {
	s := cryptobyte.String(der)
	var seq, mi, hashed, gt cryptobyte.String
	var version int64
	t := &TSTInfo{}
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() ||
		!seq.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version != 1 ||
		!seq.ReadASN1ObjectIdentifier(&t.Policy) || !seq.ReadASN1(&mi, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("malformed TSTInfo")
	}
	alg, ok := ParseAlgorithm(&mi)
	if !ok || !mi.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !mi.Empty() {
		return nil, fmt.Errorf("malformed messageImprint")
	}
	h, ok := DigestAlgorithm(alg)
	if !ok || len(hashed) != h.Size() {
		return nil, fmt.Errorf("messageImprint hash not accepted")
	}
	t.Hash, t.Imprint = h, hashed
	if t.Serial, ok = ReadInteger(&seq); !ok {
		return nil, fmt.Errorf("malformed TSTInfo serial")
	}
	if !seq.ReadASN1(&gt, cbasn1.GeneralizedTime) {
		return nil, fmt.Errorf("malformed genTime")
	}
	if t.GenTime, ok = ParseGenTime(gt); !ok {
		return nil, fmt.Errorf("malformed genTime")
	}
	if err := t.parseOptional(seq); err != nil {
		return nil, err
	}
	return t, nil
}

// parseOptional reads the fields after genTime.
func (t *TSTInfo) parseOptional(seq cryptobyte.String) error {
	if seq.PeekASN1Tag(cbasn1.SEQUENCE) {
		var acc cryptobyte.String
		seq.ReadASN1(&acc, cbasn1.SEQUENCE)
		d, ok := parseAccuracy(acc)
		if !ok {
			return fmt.Errorf("malformed accuracy")
		}
		t.Accuracy = d
	}
	if seq.PeekASN1Tag(cbasn1.BOOLEAN) && !seq.ReadASN1Boolean(&t.Ordering) {
		return fmt.Errorf("malformed ordering")
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) {
		n, ok := ReadInteger(&seq)
		if !ok {
			return fmt.Errorf("malformed nonce")
		}
		t.Nonce = n
	}
	if seq.PeekASN1Tag(tagCtx0) {
		var name, gn cryptobyte.String
		var tag cbasn1.Tag
		seq.ReadASN1(&name, tagCtx0)
		if !name.ReadAnyASN1Element(&gn, &tag) || !name.Empty() || tag.ContextSpecific() != tag || tag&0x1f > 8 {
			return fmt.Errorf("malformed tsa name")
		}
		t.TSA = gn
	}
	if seq.PeekASN1Tag(tagCtx1) {
		var exts cryptobyte.String
		seq.ReadASN1(&exts, tagCtx1)
		if err := t.parseExtensions(exts); err != nil {
			return err
		}
	}
	if !seq.Empty() {
		return fmt.Errorf("trailing data in TSTInfo")
	}
	return nil
}

// parseExtensions reads the Extension elements of an IMPLICIT Extensions.
func (t *TSTInfo) parseExtensions(exts cryptobyte.String) error {
	if exts.Empty() {
		return fmt.Errorf("empty TSTInfo extensions")
	}
	for !exts.Empty() {
		if len(t.Extensions) == MaxTSTExtensions {
			return fmt.Errorf("more than %d TSTInfo extensions", MaxTSTExtensions)
		}
		var ext, val cryptobyte.String
		var oid asn1.ObjectIdentifier
		critical := false
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
			return fmt.Errorf("malformed TSTInfo extension")
		}
		for _, o := range t.Extensions {
			if o.Equal(oid) {
				return fmt.Errorf("TSTInfo extension %v appears twice", oid)
			}
		}
		t.Extensions = append(t.Extensions, oid)
		t.Critical = append(t.Critical, critical)
	}
	return nil
}

// parseAccuracy reads the content of
//
//	Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL,
//	  millis [0] INTEGER (1..999) OPTIONAL, micros [1] INTEGER (1..999) OPTIONAL }
func parseAccuracy(acc cryptobyte.String) (time.Duration, bool) {
	var d time.Duration
	if acc.PeekASN1Tag(cbasn1.INTEGER) {
		var sec int64
		// A day bounds any sensible accuracy and keeps the sum in range.
		if !acc.ReadASN1Int64WithTag(&sec, cbasn1.INTEGER) || sec < 0 || sec > 86400 {
			return 0, false
		}
		d += time.Duration(sec) * time.Second
	}
	for _, f := range []struct {
		tag  cbasn1.Tag
		unit time.Duration
	}{{tagCtx0Prim, time.Millisecond}, {tagCtx1Prim, time.Microsecond}} {
		if !acc.PeekASN1Tag(f.tag) {
			continue
		}
		var v int64
		if !acc.ReadASN1Int64WithTag(&v, f.tag) || v < 1 || v > 999 {
			return 0, false
		}
		d += time.Duration(v) * f.unit
	}
	return d, acc.Empty()
}

package cms

import (
	"encoding/asn1"
	"math/big"
	"time"

	"github.com/roamsign/roamsign"
)

// derWriter appends DER encodings to a buffer. A constructed element is
// opened with a one-byte length placeholder and closed once its content is
// written; close moves the content when the length needs more bytes. It
// avoids the per-element allocations of a general builder on the signing
// path.
type derWriter struct{ b []byte }

// ASN.1 tags used by the writer.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagSequence    = 0x30
	tagSet         = 0x31
	tagUTCTime     = 0x17
	tagGenTime     = 0x18
	tagCtxCons0    = 0xa0
	tagCtxCons1    = 0xa1
	tagCtxCons2    = 0xa2
	tagCtxCons4    = 0xa4
)

func (w *derWriter) open(tag byte) int {
	w.b = append(w.b, tag, 0)
	return len(w.b)
}

func (w *derWriter) close(start int) {
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	l := 0
	for x := n; x > 0; x >>= 8 {
		l++
	}
	for range l {
		w.b = append(w.b, 0)
	}
	copy(w.b[start+l:], w.b[start:start+n])
	w.b[start-1] = 0x80 | byte(l)
	for i := range l {
		w.b[start+l-1-i] = byte(n >> (8 * i))
	}
}

func (w *derWriter) raw(p []byte) { w.b = append(w.b, p...) }

func (w *derWriter) tlv(tag byte, content []byte) {
	s := w.open(tag)
	w.raw(content)
	w.close(s)
}

// time writes UTCTime for 1950 to 2049 and GeneralizedTime otherwise (RFC
// 5652 section 11.3).
func (w *derWriter) time(t time.Time) {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		w.tlv(tagUTCTime, t.AppendFormat(make([]byte, 0, 13), "060102150405Z"))
		return
	}
	w.tlv(tagGenTime, t.AppendFormat(make([]byte, 0, 15), "20060102150405Z"))
}

// encodeInteger returns the DER INTEGER of n.
func encodeInteger(n *big.Int) []byte {
	if n == nil {
		n = new(big.Int)
	}
	if n.Sign() < 0 {
		der, _ := asn1.Marshal(n)
		return der
	}
	mag := n.Bytes()
	pad := len(mag) == 0 || mag[0]&0x80 != 0
	w := derWriter{b: make([]byte, 0, len(mag)+4)}
	s := w.open(tagInteger)
	if pad {
		w.b = append(w.b, 0)
	}
	w.raw(mag)
	w.close(s)
	return w.b
}

func mustOID(oid asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return der
}

// Pre-encoded, immutable DER fragments.
var (
	derOIDData               = mustOID(oidData)
	derOIDSignedData         = mustOID(oidSignedData)
	derAttrContentType       = mustOID(oidAttrContentType)
	derAttrMessageDigest     = mustOID(oidAttrMessageDigest)
	derAttrSigningTime       = mustOID(oidAttrSigningTime)
	derAttrSigningCertV2     = mustOID(oidAttrSigningCertV2)
	derAttrAlgProtection     = mustOID(oidAttrAlgProtection)
	derDigestAlgorithms      [roamsign.SHA512 + 1][]byte // AlgorithmIdentifier, absent parameters
	derRSAEncryption         []byte
	derRSAPSS                [roamsign.SHA512 + 1][]byte
	derECDSA                 [roamsign.SHA512 + 1][]byte
	derVersion1, derVersion3 = []byte{tagInteger, 1, 1}, []byte{tagInteger, 1, 3}
)

func init() {
	ecdsaOIDs := [...]asn1.ObjectIdentifier{roamsign.SHA256: oidECDSAWithSHA256, roamsign.SHA384: oidECDSAWithSHA384, roamsign.SHA512: oidECDSAWithSHA512}
	for h := roamsign.SHA256; h <= roamsign.SHA512; h++ {
		var w derWriter
		s := w.open(tagSequence)
		w.raw(mustOID(h.OID()))
		w.close(s)
		derDigestAlgorithms[h] = w.b

		// hashAlgorithm with NULL parameters, as RFC 4055 implementations
		// commonly write it inside RSASSA-PSS-params.
		var ha derWriter
		s = ha.open(tagSequence)
		ha.raw(mustOID(h.OID()))
		ha.raw([]byte{tagNull, 0})
		ha.close(s)

		w = derWriter{}
		s = w.open(tagSequence)
		w.raw(mustOID(oidRSASSAPSS))
		p := w.open(tagSequence)
		c := w.open(tagCtxCons0)
		w.raw(ha.b)
		w.close(c)
		c = w.open(tagCtxCons1)
		m := w.open(tagSequence)
		w.raw(mustOID(oidMGF1))
		w.raw(ha.b)
		w.close(m)
		w.close(c)
		c = w.open(tagCtxCons2)
		w.raw([]byte{tagInteger, 1, byte(h.Size())})
		w.close(c)
		w.close(p)
		w.close(s)
		derRSAPSS[h] = w.b

		w = derWriter{}
		s = w.open(tagSequence)
		w.raw(mustOID(ecdsaOIDs[h]))
		w.close(s)
		derECDSA[h] = w.b
	}
	var w derWriter
	s := w.open(tagSequence)
	w.raw(mustOID(oidRSAEncryption))
	w.raw([]byte{tagNull, 0})
	w.close(s)
	derRSAEncryption = w.b
}

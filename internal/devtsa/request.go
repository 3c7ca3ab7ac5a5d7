package devtsa

import (
	"crypto"
	"encoding/asn1"
	"math/big"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	icms "github.com/roamsign/roamsign/internal/cms"
)

// request is what the responder reads from a TimeStampReq.
type request struct {
	hash    crypto.Hash // zero when the algorithm is not one the responder signs
	imprint []byte
	policy  icms.RawOID // nil when the request names none
	nonce   []byte      // the INTEGER's minimal content octets; nil when absent
	certReq bool
	ext     bool // the request carries extensions
}

// tagExtensions is TimeStampReq's extensions, [0] IMPLICIT Extensions.
var tagExtensions = cbasn1.Tag(0).Constructed().ContextSpecific()

// parseRequest reads a DER TimeStampReq (RFC 3161 section 2.4.1):
//
//	TimeStampReq ::= SEQUENCE {
//	   version        INTEGER { v1(1) },
//	   messageImprint MessageImprint,
//	   reqPolicy      TSAPolicyId OPTIONAL,
//	   nonce          INTEGER OPTIONAL,
//	   certReq        BOOLEAN DEFAULT FALSE,
//	   extensions     [0] IMPLICIT Extensions OPTIONAL }
//
// Anything that is not that, in DER, is refused (false). A hash
// algorithm other than SHA-256, SHA-384 or SHA-512 (parameters absent or
// NULL) parses, with hash zero.
func parseRequest(der []byte) (req request, ok bool) {
	in := cryptobyte.String(der)
	var body, imprint cryptobyte.String
	var version int64
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() ||
		!body.ReadASN1Integer(&version) || version != 1 ||
		!body.ReadASN1(&imprint, cbasn1.SEQUENCE) {
		return req, false
	}
	alg, ok := icms.ParseAlgorithm(&imprint)
	if !ok || !imprint.ReadASN1Bytes(&req.imprint, cbasn1.OCTET_STRING) || !imprint.Empty() {
		return req, false
	}
	req.hash, _ = icms.DigestAlgorithm(alg)
	if body.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) && !icms.ReadRawOID(&body, &req.policy) {
		return req, false
	}
	if body.PeekASN1Tag(cbasn1.INTEGER) {
		if req.nonce, ok = icms.ReadInteger(&body); !ok {
			return req, false
		}
	}
	// DER leaves a DEFAULT value out: an explicit FALSE is not DER.
	if body.PeekASN1Tag(cbasn1.BOOLEAN) && (!body.ReadASN1Boolean(&req.certReq) || !req.certReq) {
		return req, false
	}
	if body.PeekASN1Tag(tagExtensions) {
		var ext cryptobyte.String
		if !body.ReadASN1(&ext, tagExtensions) || ext.Empty() {
			return req, false
		}
		req.ext = true
	}
	return req, body.Empty()
}

// refusal is the failure a request is rejected with, or zero when the
// responder grants it with policy.
func (q *request) refusal(policy asn1.ObjectIdentifier) (timestamp.FailureInfo, bool) {
	switch {
	case q.hash == 0:
		return timestamp.BadAlgorithm, true
	case len(q.imprint) != q.hash.Size():
		return timestamp.BadDataFormat, true
	case q.policy != nil && !q.policy.Equal(icms.MustRawOID(policy)):
		return timestamp.UnacceptedPolicy, true
	case q.ext:
		return timestamp.UnacceptedExtension, true
	}
	return 0, false
}

// nonceInt returns the nonce as a number, for digitorus/timestamp, or nil.
func (q *request) nonceInt() *big.Int {
	if q.nonce == nil {
		return nil
	}
	n := new(big.Int).SetBytes(q.nonce)
	if q.nonce[0]&0x80 != 0 { // two's complement
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(q.nonce))))
	}
	return n
}

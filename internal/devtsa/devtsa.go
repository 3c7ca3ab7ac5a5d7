// Package devtsa is an RFC 3161 time-stamping responder for tests and for
// the example server's development mode: it answers TimeStampReq messages
// over HTTP with tokens signed by a key held in memory. Requests are read
// by this package, strictly in DER; tokens signed with ECDSA or RSA keys
// are encoded by it directly in DER, with the parts common to
// every token encoded once (a token costs little more than its signature),
// and tokens a test tampers with (Responder.Tamper) are built by
// digitorus/timestamp. Neither shares code with the client in package tsa,
// so the client is tested against tokens it did not build itself; the
// tests check this package's tokens with digitorus/timestamp and
// openssl ts -verify.
//
// It is not a production time-stamping authority: it has no audit trail,
// no clock discipline and no protection of its key.
package devtsa

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/roamsign/roamsign"
)

// MaxRequestSize is the largest TimeStampReq accepted.
const MaxRequestSize = 16 << 10

// DefaultPolicy is the TSA policy written when Responder.Policy is nil (an
// identifier under the arc used by the project's test PKI).
var DefaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1}

// Responder answers time-stamp requests. Cert must carry the critical
// id-kp-timeStamping extended key usage for a conforming client to accept
// its tokens (tests use other certificates on purpose).
type Responder struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain holds the CA certificates above Cert, issuer first, carried in
	// the token with Cert when the request asks for certificates.
	Chain []*x509.Certificate
	// Policy is the TSA policy of every token; nil means DefaultPolicy. A
	// request for another policy is rejected (unacceptedPolicy).
	Policy asn1.ObjectIdentifier
	// Accuracy is written into tokens when non-zero.
	Accuracy time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tamper, when set, changes the token's fields before it is signed, so
	// tests can produce tokens a client must refuse.
	Tamper func(*timestamp.Timestamp)

	enc encoder // the shared parts of tokens; fields must not change after the first request
}

// Respond returns the DER TimeStampResp for a DER TimeStampReq: a granted
// token, or a rejection with the failure information of RFC 3161 section
// 2.4.2 when the request is malformed, uses another hash than SHA-256,
// SHA-384 or SHA-512, asks for another policy or carries an extension.
func (r *Responder) Respond(reqDER []byte) (resp []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.SystemFailure)
		}
	}()
	if len(reqDER) > MaxRequestSize {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadRequest)
	}
	req, ok := parseRequest(reqDER)
	if !ok {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadDataFormat)
	}
	policy := r.Policy
	if policy == nil {
		policy = DefaultPolicy
	}
	if fail, refused := req.refusal(policy); refused {
		return timestamp.CreateErrorResponse(timestamp.Rejection, fail)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	genTime := now().UTC()
	if r.Tamper == nil {
		if p := r.prepare(); p != nil {
			h, _ := roamsign.HashAlgorithmFromCrypto(req.hash) // SHA-256, SHA-384 or SHA-512, checked above
			return r.encode(p, token{hash: h, imprint: req.imprint, genTime: genTime,
				policy: policy, accuracy: r.Accuracy, nonce: req.nonce, certReq: req.certReq})
		}
	}
	ts := &timestamp.Timestamp{
		HashAlgorithm:     req.hash,
		HashedMessage:     req.imprint,
		Time:              genTime,
		Accuracy:          r.Accuracy,
		Policy:            policy,
		AddTSACertificate: req.certReq,
		Nonce:             req.nonceInt(),
	}
	if req.certReq {
		ts.Certificates = r.Chain
	}
	if r.Tamper != nil {
		r.Tamper(ts)
	}
	out, err := ts.CreateResponseWithOpts(r.Cert, r.Key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devtsa: %w", err)
	}
	return out, nil
}

// ServeHTTP answers POST requests of type application/timestamp-query
// with application/timestamp-reply (RFC 3161 section 3.4).
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a time-stamp query", http.StatusMethodNotAllowed)
		return
	}
	var body []byte
	var err error
	if n := req.ContentLength; n >= 0 && n <= MaxRequestSize {
		body = make([]byte, n)
		_, err = io.ReadFull(req.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(req.Body, MaxRequestSize+1))
	}
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return
	}
	if len(body) > MaxRequestSize {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	resp, err := r.Respond(body)
	if err != nil {
		http.Error(w, "time-stamping failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/timestamp-reply")
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	_, _ = w.Write(resp)
}

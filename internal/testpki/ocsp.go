package testpki

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPResponder answers OCSP requests (RFC 6960) for one CA from its
// revocation list, signed by the CA itself. It is safe for concurrent use.
type OCSPResponder struct {
	*httptest.Server
	CA *CA

	mu sync.Mutex
	// Broken makes the responder answer HTTP 500.
	broken bool
	// lifetime is the nextUpdate - thisUpdate span; negative makes stale answers.
	thisUpdate time.Time
	nextUpdate time.Time
}

// NewOCSPResponder starts a responder for ca. Close it when done.
func NewOCSPResponder(ca *CA) *OCSPResponder {
	o := &OCSPResponder{CA: ca}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	return o
}

// SetBroken makes the responder fail with HTTP 500 (or recover).
func (o *OCSPResponder) SetBroken(b bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.broken = b
}

// SetTimes fixes thisUpdate and nextUpdate of later answers (zero: now-1m, +1h).
func (o *OCSPResponder) SetTimes(thisUpdate, nextUpdate time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.thisUpdate, o.nextUpdate = thisUpdate, nextUpdate
}

func (o *OCSPResponder) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	broken, tu, nu := o.broken, o.thisUpdate, o.nextUpdate
	o.mu.Unlock()
	if broken {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, "parse", http.StatusBadRequest)
		return
	}
	if tu.IsZero() {
		tu = time.Now().Add(-time.Minute).Truncate(time.Second)
	}
	if nu.IsZero() {
		nu = tu.Add(time.Hour)
	}
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: tu, NextUpdate: nu}
	for _, rv := range o.CA.Revoked() {
		if rv.Serial.Cmp(req.SerialNumber) == 0 {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, rv.Time, rv.Reason
		}
	}
	resp, err := ocsp.CreateResponse(o.CA.Cert, o.CA.Cert, tmpl, o.CA.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(resp)
}

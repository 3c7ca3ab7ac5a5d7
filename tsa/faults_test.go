package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/tsa"
)

// reply answers every request with body of the time-stamp reply type.
func reply(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// tampered answers with the responder's real reply after edit changed it.
func tampered(r *devtsa.Responder, edit func(req *timestamp.Request, resp []byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		body, _ := io.ReadAll(hr.Body)
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := r.Respond(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(edit(req, resp))
	})
}

func withTamper(r *devtsa.Responder, f func(*timestamp.Timestamp)) *devtsa.Responder {
	r.Tamper = f
	return r
}

// TestFaults: every fault of a TSA gives a typed error and no token.
func TestFaults(t *testing.T) {
	p := newPKI(t)
	down := serve(t, p.responder())
	down.Close()
	other := newPKI(t)
	expired, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: time.Now().AddDate(-3, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	require.NoError(t, err)
	eku := func(critical bool, oids ...asn1.ObjectIdentifier) pkix.Extension {
		v, err := asn1.Marshal(oids)
		require.NoError(t, err)
		return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: critical, Value: v}
	}
	oidTimeStamping := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidCodeSigning := asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
	subject := pkix.Name{CommonName: "not a TSA"}
	big := bytes.Repeat([]byte{0x30}, tsa.DefaultMaxReplySize+1)

	cases := []struct {
		name    string
		handler http.Handler
		url     string // instead of a server for handler
		cfg     tsa.Config
		policy  asn1.ObjectIdentifier
		want    tsa.Reason
		status  int
	}{
		{name: "down", url: down.URL, want: tsa.ReasonUnavailable},
		{name: "slow", handler: hang(), cfg: tsa.Config{Timeout: 200 * time.Millisecond}, want: tsa.ReasonTimeout},
		{name: "wrong nonce", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) { ts.Nonce.Add(ts.Nonce, big1) }), want: tsa.ReasonNonce},
		{name: "no nonce", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) { ts.Nonce = nil }), want: tsa.ReasonNonce},
		{name: "wrong imprint", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) {
			s := sha256.Sum256([]byte("another document"))
			ts.HashedMessage = s[:]
		}), want: tsa.ReasonImprint},
		{name: "imprint algorithm", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) {
			s := sha512.Sum384(ts.HashedMessage)
			ts.HashAlgorithm, ts.HashedMessage = crypto.SHA384, s[:]
		}), want: tsa.ReasonImprint},
		{name: "policy", policy: devtsa.DefaultPolicy, handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) {
			ts.Policy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 9}
		}), want: tsa.ReasonPolicy},
		{name: "genTime an hour ago", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) { ts.Time = ts.Time.Add(-time.Hour) }), want: tsa.ReasonTime},
		{name: "genTime in the future", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) { ts.Time = ts.Time.Add(time.Hour) }), want: tsa.ReasonTime},
		{name: "no TSA certificate in the token", handler: withTamper(p.responder(), func(ts *timestamp.Timestamp) {
			ts.AddTSACertificate, ts.Certificates = false, nil
		}), want: tsa.ReasonSigningCert},
		{name: "signer without EKU", handler: p.signerResponder(t, &x509.Certificate{Subject: subject, KeyUsage: x509.KeyUsageDigitalSignature}), want: tsa.ReasonNotTSA},
		{name: "EKU not critical", handler: p.signerResponder(t, &x509.Certificate{Subject: subject, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}), want: tsa.ReasonNotTSA},
		{name: "EKU with another purpose", handler: p.signerResponder(t, &x509.Certificate{Subject: subject, ExtraExtensions: []pkix.Extension{eku(true, oidTimeStamping, oidCodeSigning)}}), want: tsa.ReasonNotTSA},
		{name: "EKU code signing only", handler: p.signerResponder(t, &x509.Certificate{Subject: subject, ExtraExtensions: []pkix.Extension{eku(true, oidCodeSigning)}}), want: tsa.ReasonNotTSA},
		{name: "key usage without signature", handler: p.signerResponder(t, &x509.Certificate{Subject: subject, KeyUsage: x509.KeyUsageKeyAgreement, ExtraExtensions: []pkix.Extension{eku(true, oidTimeStamping)}}), want: tsa.ReasonNotTSA},
		{name: "expired TSA certificate", handler: expired.Responder(), want: tsa.ReasonChain},
		{name: "untrusted TSA", handler: other.responder(), want: tsa.ReasonChain},
		{name: "granted without token", handler: reply([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00}), want: tsa.ReasonNoToken},
		{name: "grantedWithMods without token", handler: reply([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01}), want: tsa.ReasonNoToken},
		{name: "waiting", handler: reply([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x03}), want: tsa.ReasonRejected},
		{name: "revocation notification", handler: reply([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05}), want: tsa.ReasonRejected},
		{name: "rejection", handler: reply(mustReject(t, timestamp.SystemFailure)), want: tsa.ReasonRejected},
		{name: "status 6", handler: reply([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x06}), want: tsa.ReasonMalformed},
		{name: "quota 429", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}), want: tsa.ReasonQuota, status: http.StatusTooManyRequests},
		{name: "503", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }), want: tsa.ReasonUnavailable, status: 503},
		{name: "500", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }), want: tsa.ReasonUnavailable, status: 500},
		{name: "404", handler: http.NotFoundHandler(), want: tsa.ReasonHTTP, status: 404},
		{name: "redirect", handler: http.RedirectHandler("http://127.0.0.1:1/", http.StatusFound), want: tsa.ReasonHTTP, status: 302},
		{name: "HTML page", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		}), want: tsa.ReasonHTTP, status: 200},
		{name: "oversize with length", handler: reply(big), want: tsa.ReasonOversize, status: 200},
		{name: "oversize chunked", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			for i := 0; i < len(big); i += 4096 {
				_, _ = w.Write(big[i:min(i+4096, len(big))])
				w.(http.Flusher).Flush()
			}
		}), want: tsa.ReasonOversize, status: 200},
		{name: "garbage", handler: reply([]byte("\x30\x82\x01\x00garbage")), want: tsa.ReasonMalformed},
		{name: "empty", handler: reply(nil), want: tsa.ReasonMalformed},
		{name: "token not CMS", handler: reply([]byte{0x30, 0x09, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x02, 0x05, 0x00}), want: tsa.ReasonMalformed},
		{name: "trailing data", handler: tampered(p.responder(), func(_ *timestamp.Request, resp []byte) []byte { return append(resp, 0) }), want: tsa.ReasonMalformed},
		{name: "signature flipped", handler: tampered(p.responder(), func(_ *timestamp.Request, resp []byte) []byte {
			resp[len(resp)-1] ^= 0x01 // the last octet of the ECDSA signature
			return resp
		}), want: tsa.ReasonSignature},
		{name: "TSTInfo changed after signing", handler: tampered(p.responder(), func(req *timestamp.Request, resp []byte) []byte {
			i := bytes.Index(resp, req.HashedMessage)
			resp[i] ^= 0x01
			return resp
		}), want: tsa.ReasonSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			if tc.handler != nil {
				url = serve(t, tc.handler).URL
			}
			tc.cfg.Chain = p.checker()
			rec := &recorder{}
			tc.cfg.Metrics = rec
			c := newClient(t, tc.cfg, tsa.TSA{URL: url, Policy: tc.policy})
			tok, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum([]byte(tc.name))})
			require.Error(t, err)
			assert.Nil(t, tok)
			assert.ErrorIs(t, err, tc.want)
			assert.ErrorIs(t, err, tc.want.Kind())
			var te *tsa.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.want, te.Reason, "%v", err)
			assert.Equal(t, tc.status, te.Status)
			assert.Equal(t, url, te.TSA)
			require.Len(t, rec.all(), 1)
			assert.Equal(t, tc.want, rec.all()[0].Reason)
			assert.True(t, rec.all()[0].Sent)
			if tc.want == tsa.ReasonQuota {
				assert.Equal(t, 120*time.Second, te.RetryAfter)
				assert.Equal(t, roamsign.ErrRateLimited, roamsign.KindOf(err))
				wait, ok := roamsign.RetryAfterOf(err)
				assert.True(t, ok)
				assert.Equal(t, 120*time.Second, wait)
			}
			t.Log(err)
		})
	}
}

var big1 = big.NewInt(1)

func mustReject(t testing.TB, fi timestamp.FailureInfo) []byte {
	b, err := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
	require.NoError(t, err)
	return b
}

// handcraft answers with tokens built by testpki.BuildCMS around a TSTInfo
// written here, so that what digitorus/timestamp always writes correctly
// (attributes, the tsa name, extensions) can be wrong.
type handcraft struct {
	p        *pki
	tsaName  []byte // DER GeneralName for the tsa field, nil for none
	critical bool   // add a critical TSTInfo extension
	spec     func(*testpki.CMSSpec)
}

func (h handcraft) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(devtsa.DefaultPolicy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(testpki.OIDSHA256) })
			b.AddASN1OctetString(req.HashedMessage)
		})
		b.AddASN1Int64(42)
		b.AddASN1GeneralizedTime(time.Now().UTC().Truncate(time.Second))
		b.AddASN1BigInt(req.Nonce)
		if h.tsaName != nil {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(h.tsaName) })
		}
		if h.critical {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 3, 4})
					b.AddASN1Boolean(true)
					b.AddASN1OctetString([]byte{0x05, 0x00})
				})
			})
		}
	})
	ts := h.p.tsa
	spec := testpki.CMSSpec{
		Content: b.BytesOrPanic(), ContentType: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4},
		Key: ts.Key, Cert: ts.Cert, Certs: []*x509.Certificate{ts.Cert, h.p.inter.Cert}, ESSCert: ts.Cert,
	}
	if h.spec != nil {
		h.spec(&spec)
	}
	token, err := testpki.BuildCMS(spec)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out := cryptobyte.NewBuilder(nil)
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
		b.AddBytes(token)
	})
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(out.BytesOrPanic())
}

// directoryName returns the DER GeneralName [4] of a raw Name.
func directoryName(raw []byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(raw) })
	return b.BytesOrPanic()
}

// TestHandcraftedTokens covers the attribute and TSTInfo rules with
// tokens whose every field is chosen here.
func TestHandcraftedTokens(t *testing.T) {
	p := newPKI(t)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cases := []struct {
		name string
		h    handcraft
		want tsa.Reason // "" for a token that must be accepted
	}{
		{name: "control", h: handcraft{}},
		{name: "tsa name of the signer", h: handcraft{tsaName: directoryName(p.tsa.Cert.RawSubject)}},
		{name: "tsa name of another", h: handcraft{tsaName: directoryName(p.inter.Cert.RawSubject)}, want: tsa.ReasonSigningCert},
		{name: "tsa name as DNS", h: handcraft{tsaName: []byte{0x82, 0x03, 'a', '.', 'b'}}, want: tsa.ReasonSigningCert},
		{name: "critical extension", h: handcraft{critical: true}, want: tsa.ReasonMalformed},
		{name: "ESS names another certificate", h: handcraft{spec: func(s *testpki.CMSSpec) { s.ESSCert = p.inter.Cert }}, want: tsa.ReasonSigningCert},
		{name: "no ESS attribute", h: handcraft{spec: func(s *testpki.CMSSpec) { s.ESSCert = nil }}, want: tsa.ReasonSigningCert},
		{name: "content-type id-data", h: handcraft{spec: func(s *testpki.CMSSpec) { s.AttrContentType = testpki.OIDData }}, want: tsa.ReasonSignature},
		{name: "no content-type", h: handcraft{spec: func(s *testpki.CMSSpec) { s.OmitContentType = true }}, want: tsa.ReasonSignature},
		{name: "message digest of other data", h: handcraft{spec: func(s *testpki.CMSSpec) { s.MessageDigest = make([]byte, 32) }}, want: tsa.ReasonSignature},
		{name: "signed by another key", h: handcraft{spec: func(s *testpki.CMSSpec) { s.Key = otherKey }}, want: tsa.ReasonSignature},
		{name: "SHA-384 signer", h: handcraft{spec: func(s *testpki.CMSSpec) { s.Hash = crypto.SHA384 }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.p = p
			srv := serve(t, tc.h)
			c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
			tok, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum([]byte(tc.name))})
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, p.tsa.Cert.Raw, tok.Signer.Raw)
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, tok)
			assert.True(t, strings.Contains(err.Error(), string(tc.want)), "%v", err)
		})
	}
}

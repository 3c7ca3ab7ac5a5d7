package tsa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/testpki"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		" 7 ":                           7 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"99999999999999":                MaxRetryAfter,
		"Fri, 02 Jan 2026 03:14:05 GMT": 10 * time.Minute,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0,
		"Sat, 02 Jan 2027 03:00:00 GMT": MaxRetryAfter,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		assert.Equal(t, want, retryAfter(h, now), "%q", v)
	}
}

func TestLimiterWindow(t *testing.T) {
	l := newLimiter(Quota{Requests: 2, Per: time.Minute}, time.Second, time.Minute)
	t0 := time.Unix(1_000_000, 0)
	_, ok := l.take(t0)
	require.True(t, ok)
	_, ok = l.take(t0.Add(10 * time.Second))
	require.True(t, ok)
	wait, ok := l.take(t0.Add(20 * time.Second))
	require.False(t, ok)
	assert.Equal(t, 40*time.Second, wait)
	_, ok = l.take(t0.Add(time.Minute))
	require.True(t, ok, "the first request's slot is free a window later")
	// Never more than two sends in any minute.
	wait, ok = l.take(t0.Add(time.Minute + time.Second))
	require.False(t, ok)
	assert.Equal(t, 9*time.Second, wait)
}

func TestLimiterBackOffKeepsLongest(t *testing.T) {
	l := newLimiter(Quota{}, time.Second, time.Minute)
	t0 := time.Unix(1_000_000, 0)
	assert.Equal(t, time.Hour, l.refused(t0, time.Hour))
	// A shorter refusal never shortens a running back-off.
	assert.Equal(t, time.Hour, l.refused(t0, time.Second))
	wait, ok := l.take(t0.Add(59 * time.Minute))
	require.False(t, ok)
	assert.Equal(t, time.Minute, wait)
	_, ok = l.take(t0.Add(time.Hour))
	assert.True(t, ok)
	assert.Equal(t, MaxRetryAfter, l.refused(t0.Add(time.Hour), 100*time.Hour))
}

func TestRequestEncoding(t *testing.T) {
	digest := sha256.Sum256([]byte("x"))
	r, err := newRequest(roamsign.SHA256, digest[:], []int{1, 2, 3}, bytes.NewReader(bytes.Repeat([]byte{0xff}, 8)))
	require.NoError(t, err)
	// An independent parser reads what the client sends.
	req, err := timestamp.ParseRequest(r.der)
	require.NoError(t, err)
	assert.Equal(t, digest[:], req.HashedMessage)
	assert.True(t, req.Certificates)
	assert.Equal(t, "1.2.3", req.TSAPolicyOID.String())
	assert.Equal(t, "18446744073709551615", req.Nonce.String())
	assert.Equal(t, icms.IntegerBytes(req.Nonce), r.nonce)
	// The hash AlgorithmIdentifier has absent parameters.
	assert.True(t, bytes.Contains(r.der, icms.DigestAlgorithmID(roamsign.SHA256)))
}

// FuzzParseResponse: the reply parser returns an error or a response,
// never panics, and accepts what it produced from the DER form again.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte{0x30, 0x80, 0x30, 0x03, 0x02, 0x01, 0x02, 0, 0})
	if b, err := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadAlgorithm); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseResponse(data)
		if err != nil {
			return
		}
		if r.status < 0 || r.status > statusRevocationNotification {
			t.Fatalf("status %d", r.status)
		}
		_ = r.describe()
		if r.token != nil {
			if _, err := icms.ToDER(r.token); err != nil {
				t.Fatalf("token is not DER: %v", err)
			}
		}
	})
}

// FuzzVerifyToken feeds arbitrary tokens to the verification of a reply
// to a fixed request: it must refuse them with a typed reason (or accept
// a real token), never panic.
func FuzzVerifyToken(f *testing.F) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(f, err)
	ts, err := root.NewTSA(testpki.LeafOptions{})
	require.NoError(f, err)
	c, err := New(Config{TSAs: []TSA{{URL: "http://tsa.test/"}}, Chain: Roots(root.Pool())})
	require.NoError(f, err)
	ep := c.endpoints[0]
	digest := sha256.Sum256([]byte("fuzz"))
	req, err := newRequest(roamsign.SHA256, digest[:], nil, bytes.NewReader(make([]byte, 8)))
	require.NoError(f, err)
	resp, err := ts.Responder().Respond(req.der)
	require.NoError(f, err)
	r, err := parseResponse(resp)
	require.NoError(f, err)
	sent := time.Now()
	_, err = c.verify(context.Background(), ep, req, r.token, sent)
	require.NoError(f, err, "the seed token must verify")
	f.Add(r.token)
	f.Add(r.token[:len(r.token)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := c.verify(context.Background(), ep, req, data, sent)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(tok.Imprint, digest[:]) {
			t.Fatal("accepted a token over another digest")
		}
	})
}

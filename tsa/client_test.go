package tsa_test

import (
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/otp/otptest"
	"github.com/roamsign/roamsign/tsa"
)

func TestStamp(t *testing.T) {
	p := newPKI(t)
	for _, h := range []roamsign.HashAlgorithm{roamsign.SHA256, roamsign.SHA384, roamsign.SHA512} {
		t.Run(h.String(), func(t *testing.T) {
			srv := serve(t, p.responder())
			c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
			digest := h.Sum([]byte("signature value"))
			before := time.Now().Add(-time.Second)
			tok, err := c.Stamp(context.Background(), tsa.Request{Hash: h, Digest: digest})
			require.NoError(t, err)
			assert.Equal(t, srv.URL, tok.TSA)
			assert.Equal(t, h, tok.Hash)
			assert.Equal(t, digest, tok.Imprint)
			assert.True(t, devtsa.DefaultPolicy.Equal(tok.Policy))
			assert.WithinRange(t, tok.GenTime, before.Truncate(time.Second), time.Now())
			assert.Equal(t, p.tsa.Cert.Raw, tok.Signer.Raw)
			assert.Len(t, tok.Certificates, 2, "TSA and intermediate (certReq)")
			assert.Positive(t, tok.Serial.Sign())
			opensslVerify(t, p, tok.DER, digest)
		})
	}
}

// TestReplyForms: replies of each time-stamp media type, with or without
// parameters, and sent with a length or chunked, all give a token.
func TestReplyForms(t *testing.T) {
	p := newPKI(t)
	r := p.responder()
	for _, tc := range []struct {
		contentType string
		chunked     bool
	}{
		{"application/timestamp-reply", false},
		{"application/timestamp-response", false},
		{"Application/TimeStamp-Reply; charset=binary", false},
		{"application/timestamp-reply", true},
	} {
		t.Run(fmt.Sprintf("%s/chunked=%v", tc.contentType, tc.chunked), func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				body, err := io.ReadAll(req.Body)
				require.NoError(t, err)
				resp, err := r.Respond(body)
				require.NoError(t, err)
				w.Header().Set("Content-Type", tc.contentType)
				if tc.chunked {
					_, _ = w.Write(resp[:10])
					w.(http.Flusher).Flush()
					resp = resp[10:]
				}
				_, _ = w.Write(resp)
			}))
			c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
			_, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum([]byte(tc.contentType))})
			require.NoError(t, err)
		})
	}
}

func TestTimestampHashesData(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, p.responder())
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
	der, err := c.Timestamp(context.Background(), []byte("the CMS signature value"))
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("the CMS signature value"))
	opensslVerify(t, p, der, sum[:])
}

func TestPolicyRequested(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, p.responder())
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL, Policy: devtsa.DefaultPolicy})
	tok, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
	require.NoError(t, err)
	assert.True(t, devtsa.DefaultPolicy.Equal(tok.Policy))

	// A policy the TSA does not serve is rejected by it.
	other := serve(t, p.responder())
	c = newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: other.URL, Policy: asn1.ObjectIdentifier{1, 2, 3, 4}})
	_, err = c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
	require.ErrorIs(t, err, tsa.ReasonRejected)
	assert.Contains(t, err.Error(), "unacceptedPolicy")
}

func TestFailOver(t *testing.T) {
	p := newPKI(t)
	down := serve(t, p.responder())
	down.Close()
	bad := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write([]byte("not a reply"))
	}))
	good := serve(t, p.responder())
	rec := &recorder{}
	c := newClient(t, tsa.Config{Chain: p.checker(), Metrics: rec},
		tsa.TSA{URL: down.URL}, tsa.TSA{URL: bad.URL}, tsa.TSA{URL: good.URL})
	tok, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum([]byte("x"))})
	require.NoError(t, err)
	assert.Equal(t, good.URL, tok.TSA)
	obs := rec.all()
	require.Len(t, obs, 3)
	assert.Equal(t, tsa.ReasonUnavailable, obs[0].Reason)
	assert.Equal(t, tsa.ReasonMalformed, obs[1].Reason)
	assert.Equal(t, tsa.Reason(""), obs[2].Reason)
	for _, o := range obs {
		assert.True(t, o.Sent)
	}
	assert.Equal(t, []string{down.URL, bad.URL, good.URL}, []string{obs[0].TSA, obs[1].TSA, obs[2].TSA})
}

func TestAllFail(t *testing.T) {
	p := newPKI(t)
	a := serve(t, http.NotFoundHandler())
	b := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: a.URL}, tsa.TSA{URL: b.URL})
	_, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
	require.Error(t, err)
	assert.Equal(t, roamsign.ErrUnavailable, roamsign.KindOf(err))
	assert.ErrorIs(t, err, tsa.ReasonHTTP)
	assert.ErrorIs(t, err, tsa.ReasonUnavailable)
	var te *tsa.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, a.URL, te.TSA)
	assert.Equal(t, http.StatusNotFound, te.Status)
}

func TestQuota(t *testing.T) {
	p := newPKI(t)
	clk := otptest.NewClock(time.Now())
	limited := serve(t, p.responder())
	spare := serve(t, p.responder())
	rec := &recorder{}
	// 20 requests per 20 minutes, as one national TSA publishes.
	q := tsa.Quota{Requests: 20, Per: 20 * time.Minute}
	c := newClient(t, tsa.Config{Chain: p.checker(), Metrics: rec, Now: clk.Now, MaxClockSkew: 24 * time.Hour},
		tsa.TSA{URL: limited.URL, Quota: q})
	only := func() error {
		_, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
		return err
	}
	for i := 0; i < 20; i++ {
		clk.Advance(time.Minute / 2)
		require.NoError(t, only())
	}
	err := only()
	require.Error(t, err)
	assert.Equal(t, roamsign.ErrRateLimited, roamsign.KindOf(err))
	assert.ErrorIs(t, err, tsa.ReasonLimited)
	wait, ok := roamsign.RetryAfterOf(err)
	require.True(t, ok)
	// The first request was sent 9.5 minutes ago: its slot frees in 10.5.
	assert.Equal(t, 10*time.Minute+time.Minute/2, wait)
	assert.EqualValues(t, 20, limited.hits.Load(), "the refused request was not sent")
	last := rec.all()[len(rec.all())-1]
	assert.Equal(t, tsa.Observation{TSA: limited.URL, Reason: tsa.ReasonLimited}, last)

	clk.Advance(wait - time.Second)
	require.ErrorIs(t, only(), tsa.ReasonLimited)
	clk.Advance(time.Second)
	require.NoError(t, only())
	require.ErrorIs(t, only(), tsa.ReasonLimited, "one slot freed, one used")
	assert.EqualValues(t, 21, limited.hits.Load())

	// With a second authority the client fails over instead.
	c2 := newClient(t, tsa.Config{Chain: p.checker(), Now: clk.Now, MaxClockSkew: 24 * time.Hour},
		tsa.TSA{URL: limited.URL, Quota: tsa.Quota{Requests: 1, Per: time.Hour}}, tsa.TSA{URL: spare.URL})
	for i := 0; i < 3; i++ {
		tok, err := c2.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
		require.NoError(t, err)
		if i == 0 {
			assert.Equal(t, limited.URL, tok.TSA)
		} else {
			assert.Equal(t, spare.URL, tok.TSA)
		}
	}
}

func TestQuotaConcurrent(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, p.responder())
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL, Quota: tsa.Quota{Requests: 5, Per: time.Hour}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if errors.Is(err, tsa.ReasonLimited) {
				limited++
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 5, ok)
	assert.Equal(t, 15, limited)
	assert.EqualValues(t, 5, srv.hits.Load())
}

func TestBackOff(t *testing.T) {
	p := newPKI(t)
	clk := otptest.NewClock(time.Now())
	var status int
	var mu sync.Mutex
	setStatus := func(s int) { mu.Lock(); status = s; mu.Unlock() }
	good := p.responder()
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := status
		mu.Unlock()
		if s != http.StatusOK {
			w.WriteHeader(s)
			return
		}
		good.ServeHTTP(w, r)
	}))
	c := newClient(t, tsa.Config{Chain: p.checker(), Now: clk.Now, MaxClockSkew: 24 * time.Hour, BackOff: time.Minute, MaxBackOff: 3 * time.Minute},
		tsa.TSA{URL: srv.URL})
	stamp := func() error {
		_, err := c.Stamp(context.Background(), tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
		return err
	}
	setStatus(http.StatusServiceUnavailable)
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		err := stamp()
		require.ErrorIs(t, err, tsa.ReasonUnavailable)
		var te *tsa.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, want, te.RetryAfter)
		hits := srv.hits.Load()
		clk.Advance(want - time.Second)
		require.ErrorIs(t, stamp(), tsa.ReasonLimited)
		assert.Equal(t, hits, srv.hits.Load(), "not asked during back-off")
		clk.Advance(time.Second)
	}
	setStatus(http.StatusOK)
	require.NoError(t, stamp())
	setStatus(http.StatusServiceUnavailable)
	err := stamp()
	var te *tsa.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, time.Minute, te.RetryAfter, "a token resets the back-off")
}

func TestCancelled(t *testing.T) {
	p := newPKI(t)
	slow := serve(t, hang())
	good := serve(t, p.responder())
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: slow.URL}, tsa.TSA{URL: good.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for slow.hits.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Stamp(ctx, tsa.Request{Digest: roamsign.SHA256.Sum(nil)})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, roamsign.ErrUnavailable, roamsign.KindOf(err))
	assert.Zero(t, good.hits.Load(), "a cancelled request does not fail over")
}

func TestBadRequest(t *testing.T) {
	p := newPKI(t)
	srv := serve(t, p.responder())
	c := newClient(t, tsa.Config{Chain: p.checker()}, tsa.TSA{URL: srv.URL})
	for _, req := range []tsa.Request{{Digest: []byte("short")}, {Hash: 9, Digest: make([]byte, 32)}, {Hash: roamsign.SHA384, Digest: make([]byte, 32)}} {
		_, err := c.Stamp(context.Background(), req)
		require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	}
	assert.Zero(t, srv.hits.Load())
}

func TestNewRefuses(t *testing.T) {
	p := newPKI(t)
	ok := tsa.TSA{URL: "http://tsa.example/"}
	for name, cfg := range map[string]tsa.Config{
		"no TSA":          {Chain: p.checker()},
		"no chain":        {TSAs: []tsa.TSA{ok}},
		"scheme":          {Chain: p.checker(), TSAs: []tsa.TSA{{URL: "ftp://tsa.example/"}}},
		"no host":         {Chain: p.checker(), TSAs: []tsa.TSA{{URL: "http:///x"}}},
		"credentials":     {Chain: p.checker(), TSAs: []tsa.TSA{{URL: "https://user:pw@tsa.example/"}}},
		"twice":           {Chain: p.checker(), TSAs: []tsa.TSA{ok, ok}},
		"half quota":      {Chain: p.checker(), TSAs: []tsa.TSA{{URL: ok.URL, Quota: tsa.Quota{Requests: 20}}}},
		"negative quota":  {Chain: p.checker(), TSAs: []tsa.TSA{{URL: ok.URL, Quota: tsa.Quota{Requests: -1, Per: time.Minute}}}},
		"bad policy":      {Chain: p.checker(), TSAs: []tsa.TSA{{URL: ok.URL, Policy: asn1.ObjectIdentifier{7}}}},
		"hash":            {Chain: p.checker(), TSAs: []tsa.TSA{ok}, Hash: 42},
		"negative limits": {Chain: p.checker(), TSAs: []tsa.TSA{ok}, Timeout: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tsa.New(cfg)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			assert.NotContains(t, err.Error(), "pw@")
		})
	}
}

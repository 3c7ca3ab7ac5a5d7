package adapt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/signer"
	"github.com/roamsign/roamsign/store/memory"
)

// stepTimes sums the service's step latencies.
type stepTimes struct {
	mu sync.Mutex
	d  map[string]time.Duration
}

func (s *stepTimes) ObserveStep(step, _ string, d time.Duration) {
	s.mu.Lock()
	s.d[step] += d
	s.mu.Unlock()
}

func (s *stepTimes) take() map[string]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = map[string]time.Duration{}
	return d
}

const benchSessions = 4

// benchRig is a service over SoftHSM (RSA-2048) and store/memory with the
// default (production) Argon2id parameters, served over TLS on loopback.
func benchRig(b *testing.B) (*realParts, *apitest.Env, apitest.User, *stepTimes) {
	steps := &stepTimes{d: map[string]time.Duration{}}
	// Production Argon2id parameters (19 MiB, 2 passes).
	r := newRealParts(b, memory.New(memory.Options{}), benchSessions, service.Config{PIN: service.PINParams{MemoryKiB: 19456, Time: 2}}, steps)
	h := apitest.ServeHTTP(b, r.svc, r.svc, r.logs.Logger())
	e := h.Env(b, r.env())
	e.Algorithm = roamsign.RSA2048
	u := e.Enrol(b, apitest.HostA)
	return r, e, u, steps
}

// BenchmarkBatch100HTTP signs batches of 100 SHA-256 hashes with an
// RSA-2048 SoftHSM key: each iteration makes one raw batch straight on the
// key (signer.SignBatch, same session count) and one complete Sign over
// HTTP (TLS, loopback), interleaved so that both see the same machine
// load. The RequestOTP before each Sign is not timed. Reported: raw and
// HTTP signatures per second, their ratio, and the Argon2id time inside
// Sign.
func BenchmarkBatch100HTTP(b *testing.B) {
	r, e, u, steps := benchRig(b)
	ctx := context.Background()
	api := e.API(apitest.HostA)
	key, err := r.keys.Key(ctx, mustKeyRef(b, r, u))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := signer.New(key, signer.Config{Concurrency: benchSessions})
	if err != nil {
		b.Fatal(err)
	}
	hs := apitest.Hashes(100)
	var rawT, httpT time.Duration
	steps.take()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ch, code := e.Challenge(b, apitest.HostA, u.ID, hs)
		b.StartTimer()
		t0 := time.Now()
		if _, err := raw.SignBatch(ctx, hs, signer.Options{}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		res, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: code,
			Hashes: hs, RequestID: roamsign.NewRequestID()})
		t2 := time.Now()
		if err != nil || len(res.Items) != 100 {
			b.Fatalf("Sign: %v", err)
		}
		rawT += t1.Sub(t0)
		httpT += t2.Sub(t1)
	}
	st := steps.take()
	n := float64(b.N * len(hs))
	rawRate, httpRate := n/rawT.Seconds(), n/httpT.Seconds()
	argon := st["pin_verify"]
	b.ReportMetric(rawRate, "raw-sigs/s")
	b.ReportMetric(httpRate, "http-sigs/s")
	b.ReportMetric(httpRate/rawRate, "ratio")
	b.ReportMetric(n/(httpT-argon).Seconds()/rawRate, "ratio-excl-argon2")
	b.ReportMetric(float64(argon.Microseconds())/1000/float64(b.N), "argon2-ms/op")
}

// BenchmarkFlowHTTP runs complete single-hash flows (RequestOTP + Sign)
// over HTTP and splits each flow's time into Argon2id (pin_verify), the
// signature and its self-check, and the rest: the overhead of HTTP, JSON,
// TLS records, the store, the OTP manager and the service.
func BenchmarkFlowHTTP(b *testing.B) {
	_, e, u, steps := benchRig(b)
	ctx := context.Background()
	api := e.API(apitest.HostA)
	hs := apitest.Hashes(1)
	steps.take()
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		ch, code := e.Challenge(b, apitest.HostA, u.ID, hs)
		if _, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: code,
			Hashes: hs, RequestID: roamsign.NewRequestID()}); err != nil {
			b.Fatalf("Sign: %v", err)
		}
		total += time.Since(t0)
	}
	st := steps.take()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	crypto := st["sign_batch"] + st["self_check"]
	b.ReportMetric(float64(b.N)/total.Seconds(), "flows/s")
	b.ReportMetric(per(st["pin_verify"]), "argon2-ms/flow")
	b.ReportMetric(per(crypto), "sign+check-ms/flow")
	b.ReportMetric(per(total-st["pin_verify"]-crypto), "overhead-ms/flow")
}

func mustKeyRef(b *testing.B, r *realParts, u apitest.User) string {
	rec, err := r.st.GetUser(context.Background(), u.ID)
	if err != nil {
		b.Fatal(err)
	}
	return rec.KeyRef
}

// BenchmarkBatch100HTTPStreams is BenchmarkBatch100HTTP with two
// concurrent streams on each side (two signers), the way a server sees
// several hosts: one stream's Argon2id overlaps the other's signatures. Each iteration
// runs two raw batches at once, then two HTTP Sign calls at once.
func BenchmarkBatch100HTTPStreams(b *testing.B) {
	const streams = 2
	r, e, u, steps := benchRig(b)
	// One signer per stream, as with several hosts' users.
	users := []apitest.User{u, e.Enrol(b, apitest.HostA)}
	ctx := context.Background()
	api := e.API(apitest.HostA)
	key, err := r.keys.Key(ctx, mustKeyRef(b, r, u))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := signer.New(key, signer.Config{Concurrency: benchSessions})
	if err != nil {
		b.Fatal(err)
	}
	hs := apitest.Hashes(100)
	var rawT, httpT time.Duration
	steps.take()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		chs := make([]*roamsign.OTPResponse, streams)
		codes := make([]roamsign.Secret, streams)
		for s := range chs {
			chs[s], codes[s] = e.Challenge(b, apitest.HostA, users[s].ID, hs)
		}
		b.StartTimer()
		var wg sync.WaitGroup
		errs := make([]error, 2*streams)
		t0 := time.Now()
		for s := 0; s < streams; s++ {
			wg.Go(func() { _, errs[s] = raw.SignBatch(ctx, hs, signer.Options{}) })
		}
		wg.Wait()
		t1 := time.Now()
		for s := 0; s < streams; s++ {
			wg.Go(func() {
				_, errs[streams+s] = api.Sign(ctx, roamsign.SignRequest{ChallengeID: chs[s].ChallengeID, Nonce: chs[s].Nonce,
					PIN: apitest.PIN, OTP: codes[s], Hashes: hs, RequestID: roamsign.NewRequestID()})
			})
		}
		wg.Wait()
		t2 := time.Now()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		rawT += t1.Sub(t0)
		httpT += t2.Sub(t1)
	}
	st := steps.take()
	n := float64(b.N * streams * len(hs))
	rawRate, httpRate := n/rawT.Seconds(), n/httpT.Seconds()
	b.ReportMetric(rawRate, "raw-sigs/s")
	b.ReportMetric(httpRate, "http-sigs/s")
	b.ReportMetric(httpRate/rawRate, "ratio")
	b.ReportMetric(float64(st["pin_verify"].Microseconds())/1000/float64(b.N*streams), "argon2-ms/sign")
}

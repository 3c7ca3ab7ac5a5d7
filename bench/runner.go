package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roamsign/roamsign"
)

// User is an enrolled user the runner signs as.
type User struct {
	ID  roamsign.UserID
	PIN roamsign.Secret
}

// OTPSource returns the OTP delivered for a challenge.
type OTPSource interface {
	OTP(ctx context.Context, user roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error)
}

// OTPFunc adapts a function to [OTPSource].
type OTPFunc func(ctx context.Context, user roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error)

// OTP calls f.
func (f OTPFunc) OTP(ctx context.Context, user roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error) {
	return f(ctx, user, ch)
}

// Config describes a run. API, Users and OTP are required.
type Config struct {
	// API is the deployment under test, already authenticated as a host.
	API roamsign.API
	// Users are assigned to workers round-robin.
	Users []User
	// OTP fetches the OTP of each challenge.
	OTP OTPSource
	// Hosts is the number of concurrent workers; default 1.
	Hosts int
	// Hashes per flow; default 1.
	Hashes int
	// Duration bounds the run; default 10 seconds.
	Duration time.Duration
	// Count bounds the number of flows started; 0 means no bound other
	// than Duration.
	Count int
	// Form is the output form; default raw.
	Form roamsign.OutputForm
	// Check, when set, verifies each signed response; a failure counts as
	// a wrong signature.
	Check func(res *roamsign.SignResponse, hashes []roamsign.Hash) error
}

// Latency summarises observed durations.
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

// Result is the outcome of a run.
type Result struct {
	Flows      int            // flows completed with every hash signed
	Failed     int            // flows that returned an error
	Wrong      int            // flows whose signatures failed Config.Check
	Signatures int            // signatures returned
	Elapsed    time.Duration  // wall time of the run
	Flow       Latency        // RequestOTP + OTP fetch + Sign
	Sign       Latency        // Sign alone
	Errors     map[string]int // failed flows by error kind code
}

// FlowsPerSecond is completed flows per second of wall time.
func (r *Result) FlowsPerSecond() float64 { return float64(r.Flows) / r.Elapsed.Seconds() }

// SignaturesPerSecond is signatures per second of wall time.
func (r *Result) SignaturesPerSecond() float64 { return float64(r.Signatures) / r.Elapsed.Seconds() }

// String formats the result on one line.
func (r *Result) String() string {
	return fmt.Sprintf("flows=%d failed=%d wrong=%d sigs=%d elapsed=%s flows/s=%.1f sigs/s=%.1f flow p50=%s p99=%s sign p50=%s p99=%s errors=%v",
		r.Flows, r.Failed, r.Wrong, r.Signatures, r.Elapsed.Round(time.Millisecond), r.FlowsPerSecond(), r.SignaturesPerSecond(),
		r.Flow.P50, r.Flow.P99, r.Sign.P50, r.Sign.P99, r.Errors)
}

// Run executes flows as configured until the duration or count is reached
// or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	const op = "bench.Run"
	if cfg.API == nil || cfg.OTP == nil || len(cfg.Users) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "API, OTP and at least one user are required")
	}
	if cfg.Hosts <= 0 {
		cfg.Hosts = 1
	}
	if cfg.Hashes <= 0 {
		cfg.Hashes = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Form == "" {
		cfg.Form = roamsign.FormRaw
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		mu         sync.Mutex
		res        = &Result{Errors: map[string]int{}}
		flowL      []time.Duration
		signL      []time.Duration
		started    atomic.Int64
		wg         sync.WaitGroup
		start      = time.Now()
		countBound = int64(cfg.Count)
	)
	for w := 0; w < cfg.Hosts; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			u := cfg.Users[w%len(cfg.Users)]
			for ctx.Err() == nil {
				if countBound > 0 && started.Add(1) > countBound {
					return
				}
				hashes := RandomHashes(cfg.Hashes)
				t0 := time.Now()
				out, signDur, err := Flow(ctx, cfg.API, cfg.OTP, u, hashes, cfg.Form)
				total := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					return // cut off by the deadline: not a failure of the system
				}
				wrong := err == nil && cfg.Check != nil && cfg.Check(out, hashes) != nil
				mu.Lock()
				switch {
				case err != nil:
					res.Failed++
					res.Errors[kindCode(err)]++
				case wrong:
					res.Wrong++
				default:
					res.Flows++
					res.Signatures += len(out.Items)
					flowL = append(flowL, total)
					signL = append(signL, signDur)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Flow, res.Sign = Summarise(flowL), Summarise(signL)
	return res, nil
}

// Flow performs one complete flow: RequestOTP, OTP fetch, Sign. It returns
// the response, the duration of Sign alone, and an error when any step
// failed or any item was not signed.
func Flow(ctx context.Context, api roamsign.API, src OTPSource, u User, hashes []roamsign.Hash, form roamsign.OutputForm) (*roamsign.SignResponse, time.Duration, error) {
	ch, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hashes, DataHeader: "bench"})
	if err != nil {
		return nil, 0, err
	}
	code, err := src.OTP(ctx, u.ID, ch)
	if err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	out, err := api.Sign(ctx, roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: u.PIN, OTP: code,
		Hashes: hashes, RequestID: roamsign.NewRequestID(), Form: form,
	})
	d := time.Since(t0)
	if err != nil {
		return nil, d, err
	}
	for _, it := range out.Items {
		if it.Status != roamsign.ItemSigned {
			return out, d, roamsign.E(roamsign.KindFromCode(it.Error), "bench.Flow", "item %d not signed", it.Index)
		}
	}
	if len(out.Items) != len(hashes) {
		return out, d, roamsign.E(roamsign.ErrInternal, "bench.Flow", "%d items for %d hashes", len(out.Items), len(hashes))
	}
	return out, d, nil
}

func kindCode(err error) string {
	var e *roamsign.Error
	if errors.As(err, &e) {
		return e.Kind.Code()
	}
	for _, k := range roamsign.Kinds() {
		if errors.Is(err, k) {
			return k.Code()
		}
	}
	return "other"
}

// Summarise returns the percentiles of ds (which it sorts).
func Summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Latency{N: len(ds), P50: Percentile(ds, 50), P99: Percentile(ds, 99), Max: ds[len(ds)-1]}
}

// Percentile returns the p-th percentile (nearest rank) of sorted ds.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// RandomHashes returns n random SHA-256 hashes.
func RandomHashes(n int) []roamsign.Hash {
	hs := make([]roamsign.Hash, n)
	for i := range hs {
		v := make([]byte, 32)
		_, _ = rand.Read(v)
		hs[i] = roamsign.Hash{Algorithm: roamsign.SHA256, Value: v}
	}
	return hs
}

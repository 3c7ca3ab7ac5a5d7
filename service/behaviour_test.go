package service_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *countingMetrics) ObserveStep(step, outcome string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n[step+"/"+outcome]++
}

// brokenForm signs with the key but returns a signature of other data, so
// the self-check must catch it.
type brokenForm struct{ service.RawSigner }

func (b brokenForm) SignBatch(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, hs []roamsign.Hash) ([][]byte, string, error) {
	other := apitest.Hashes(len(hs))
	return b.RawSigner.SignBatch(ctx, key, chain, other)
}

type rig struct {
	d   *apitest.MemDeployment
	svc *service.Service
	clk *clock
	met *countingMetrics
	env *apitest.Env
}

func newRig(t *testing.T, forms map[roamsign.OutputForm]service.FormSigner) *rig {
	r := &rig{d: apitest.NewMemDeployment(t, service.Config{}), clk: &clock{t: time.Now()}, met: &countingMetrics{n: map[string]int{}}}
	r.d.Challenges.Now = r.clk.Now
	svc, err := service.New(service.Config{PIN: apitest.FastPIN, PendingTimeout: time.Minute, Retention: time.Hour}, service.Deps{
		Store: r.d.Store, Keys: r.d.Keys, Challenges: r.d.Challenges, Forms: forms,
		Metrics: r.met, Logger: r.d.Logs.Logger(), Now: r.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	r.d.Service = svc
	r.env = r.d.Env()
	return r
}

func TestChallengeExpires(t *testing.T) {
	r := newRig(t, nil)
	u := r.env.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	ch, otp := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	r.clk.Add(5*time.Minute + time.Second)
	_, err := r.env.API(apitest.HostA).Sign(context.Background(), roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: otp, Hashes: hs, RequestID: roamsign.NewRequestID()})
	if !errors.Is(err, roamsign.ErrExpired) {
		t.Fatalf("expired challenge: %v", err)
	}
}

func TestSelfCheckFailureIsRecorded(t *testing.T) {
	r := newRig(t, map[roamsign.OutputForm]service.FormSigner{roamsign.FormRaw: brokenForm{}})
	u := r.env.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(3)
	ch, otp := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	req := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: otp, Hashes: hs, RequestID: roamsign.NewRequestID()}
	api := r.env.API(apitest.HostA)
	_, err := api.Sign(context.Background(), req)
	if !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("self-check: %v", err)
	}
	tx, err := r.d.Store.GetTransactionByRequest(context.Background(), apitest.HostA, req.RequestID)
	if err != nil || tx.State != roamsign.TxFailed || tx.Error != roamsign.ErrInvalidSignature.Code() {
		t.Fatalf("transaction %+v %v", tx, err)
	}
	for _, it := range tx.Items {
		if it.Status != roamsign.ItemFailed || it.Signature != nil {
			t.Fatalf("item %+v", it)
		}
	}
	st, err := api.Status(context.Background(), roamsign.StatusRequest{TransactionID: tx.ID})
	if err != nil || st.State != roamsign.TxFailed || len(st.Items) != 3 {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, err := api.Sign(context.Background(), req); !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("replay of a failed request: %v", err)
	}
	r.met.mu.Lock()
	defer r.met.mu.Unlock()
	if r.met.n["self_check/invalid_signature"] != 1 || r.met.n["activation/ok"] != 1 {
		t.Fatalf("metrics %v", r.met.n)
	}
}

func TestStatusRetention(t *testing.T) {
	r := newRig(t, nil)
	u := r.env.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	ch, otp := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	api := r.env.API(apitest.HostA)
	res, err := api.Sign(context.Background(), roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: otp, Hashes: hs, RequestID: roamsign.NewRequestID()})
	if err != nil {
		t.Fatal(err)
	}
	// A pending transaction older than PendingTimeout reads as expired.
	pending := &roamsign.TransactionRecord{ID: "pending1", User: u.ID, Host: apitest.HostA, RequestID: "r-pending", State: roamsign.TxPending,
		CreatedAt: r.clk.Now(), UpdatedAt: r.clk.Now()}
	ch2, _ := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	if err := r.d.Store.BeginTransaction(context.Background(), ch2.ChallengeID, r.clk.Now(), pending, &roamsign.AuditRecord{Event: roamsign.AuditAuthorised, User: u.ID, Host: apitest.HostA, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(2 * time.Minute)
	st, err := api.Status(context.Background(), roamsign.StatusRequest{TransactionID: "pending1"})
	if err != nil || st.State != roamsign.TxExpired {
		t.Fatalf("stale pending: %+v %v", st, err)
	}
	failed, deleted, err := r.svc.Sweep(context.Background())
	if err != nil || failed != 1 || deleted != 0 {
		t.Fatalf("sweep: %d %d %v", failed, deleted, err)
	}
	r.clk.Add(2 * time.Hour)
	if _, deleted, _ := r.svc.Sweep(context.Background()); deleted != 2 {
		t.Fatalf("retention deleted %d, want 2", deleted)
	}
	if _, err := api.Status(context.Background(), roamsign.StatusRequest{TransactionID: res.TransactionID}); !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("after retention: %v", err)
	}
}

func TestNewRequiresDeps(t *testing.T) {
	if _, err := service.New(service.Config{}, service.Deps{}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("New without deps: %v", err)
	}
}

// replicas returns n services over the deployment's store, key store and
// challenger, as replicas sharing one database, all counting into met.
func replicas(t *testing.T, d *apitest.MemDeployment, met service.Metrics, n int) []roamsign.API {
	out := make([]roamsign.API, n)
	for i := range out {
		svc, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{Store: d.Store, Keys: d.Keys, Challenges: d.Challenges,
			Logger: d.Logs.Logger(), Metrics: met})
		require.NoError(t, err)
		out[i] = svc
	}
	return out
}

// evaluations is the number of PINs the metrics saw evaluated.
func (m *countingMetrics) evaluations() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, v := range m.n {
		if strings.HasPrefix(k, "pin_verify/") {
			n += v
		}
	}
	return n
}

// TestPINLimitAcrossReplicas: two services over one store (two replicas)
// receive parallel wrong PINs with valid OTPs; exactly as many PINs are
// evaluated as the limit allows, because each attempt is counted before it
// is evaluated, and the user ends locked.
func TestPINLimitAcrossReplicas(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	met := &countingMetrics{n: map[string]int{}}
	apis := replicas(t, d, met, 2)
	e := d.Env()
	u := e.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	const n = 12
	// Every challenge is issued before any wrong PIN is tried: once the
	// user is locked, RequestOTP refuses.
	chs := make([]*roamsign.OTPResponse, n)
	otps := make([]roamsign.Secret, n)
	for i := range chs {
		chs[i], otps[i] = e.Challenge(t, apitest.HostA, u.ID, hs)
	}
	before := met.evaluations()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		ch, otp := chs[i], otps[i]
		api := apis[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = apitest.AsHost(api, apitest.HostA).Sign(context.Background(), roamsign.SignRequest{
				ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: "Wr0ng-PIN-r", OTP: otp, Hashes: hs, RequestID: roamsign.NewRequestID()})
		}()
	}
	wg.Wait()
	auth := 0
	for _, err := range errs {
		if errors.Is(err, roamsign.ErrAuthorization) {
			auth++
		} else {
			require.ErrorIs(t, err, roamsign.ErrLocked)
		}
	}
	require.LessOrEqual(t, auth, 4, "wrong PINs answered 'authorization failed' across replicas; at most 4 may be before the lock")
	require.Equal(t, 5, met.evaluations()-before, "PINs evaluated across replicas with a limit of 5")
	rec, err := d.Store.GetUser(context.Background(), u.ID)
	require.NoError(t, err)
	require.True(t, rec.Locked, "user not locked")
}

// TestPINBeyondLimitNotEvaluated: attempts already counted up to the limit
// on other replicas, still being evaluated there (so the user is not yet
// locked), leave no evaluation for another: even the right PIN with the
// right OTP is refused as locked without being evaluated.
func TestPINBeyondLimitNotEvaluated(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	met := &countingMetrics{n: map[string]int{}}
	api := apitest.AsHost(replicas(t, d, met, 1)[0], apitest.HostA)
	e := d.Env()
	u := e.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	ch, otp := e.Challenge(t, apitest.HostA, u.ID, hs)
	ctx := context.Background()
	const limit = 5 // service.Config.MaxPINFailures' default
	for range limit {
		_, locked, err := d.Store.AddPINFailure(ctx, u.ID, limit+1, time.Now())
		require.NoError(t, err)
		require.False(t, locked)
	}
	before := met.evaluations()
	_, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: otp, Hashes: hs, RequestID: roamsign.NewRequestID()})
	require.ErrorIs(t, err, roamsign.ErrLocked, "the right PIN beyond the limit")
	require.Equal(t, before, met.evaluations(), "a PIN beyond the limit was evaluated")
	rec, err := d.Store.GetUser(ctx, u.ID)
	require.NoError(t, err)
	require.True(t, rec.Locked)
}

// TestWrongOTPStillEvaluatesPIN: a wrong OTP costs the same Argon2id
// evaluation as a wrong PIN, so timing does not tell the factors apart.
func TestWrongOTPStillEvaluatesPIN(t *testing.T) {
	r := newRig(t, nil)
	u := r.env.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	ch, otp := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	wrong := "000000"
	if otp.Reveal() == wrong {
		wrong = "000001"
	}
	r.met.mu.Lock()
	before := r.met.n["pin_verify/ok"]
	r.met.mu.Unlock()
	_, err := r.env.API(apitest.HostA).Sign(context.Background(), roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce,
		PIN: apitest.PIN, OTP: roamsign.Secret(wrong), Hashes: hs, RequestID: roamsign.NewRequestID()})
	if !errors.Is(err, roamsign.ErrAuthorization) {
		t.Fatalf("wrong OTP: %v", err)
	}
	r.met.mu.Lock()
	defer r.met.mu.Unlock()
	if r.met.n["pin_verify/ok"] != before+1 {
		t.Fatalf("PIN not evaluated on a wrong OTP: %v", r.met.n)
	}
	rec, _ := r.d.Store.GetUser(context.Background(), u.ID)
	if rec.PINFailures != 0 {
		t.Fatalf("a wrong OTP counted %d PIN failures", rec.PINFailures)
	}
}

type dir map[roamsign.UserID][]roamsign.MediumKind

func (d dir) Lookup(_ context.Context, u roamsign.UserID, _ roamsign.HostID) (*roamsign.MediumResponse, error) {
	m, ok := d[u]
	if !ok {
		return nil, roamsign.E(roamsign.ErrNotFound, "dir", "unknown")
	}
	return &roamsign.MediumResponse{User: u, Media: m, Use: m[len(m)-1]}, nil
}

func TestMediumFromDirectoryAndReEnrol(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	tokenUser := apitest.NewUserID()
	svc, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{Store: d.Store, Keys: d.Keys, Challenges: d.Challenges,
		Logger: d.Logs.Logger(), Directory: dir{tokenUser: {roamsign.MediumToken, roamsign.MediumRoaming}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := roamsign.WithHost(context.Background(), apitest.HostA)
	m, err := svc.Medium(ctx, roamsign.MediumRequest{User: tokenUser})
	if err != nil || m.Use != roamsign.MediumToken || len(m.Media) != 1 {
		t.Fatalf("directory user: %+v %v", m, err)
	}
	if _, err := svc.Medium(ctx, roamsign.MediumRequest{User: apitest.NewUserID()}); !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	// Enrolling again for another host keeps the key and adds the host.
	d.Service = svc
	e := d.Env()
	u := e.Enrol(t, apitest.HostA)
	first, _ := d.Store.GetUser(context.Background(), u.ID)
	res, err := svc.Enrol(context.Background(), roamsign.EnrolRequest{User: u.ID, Name: "PENGUJI", Hosts: []roamsign.HostID{apitest.HostB}})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := d.Store.GetUser(context.Background(), u.ID)
	if res.KeyID != first.KeyRef || again.KeyRef != first.KeyRef || len(again.Hosts) != 2 || len(again.Chain) == 0 {
		t.Fatalf("re-enrol: %+v", again)
	}
	if _, err := svc.Medium(roamsign.WithHost(context.Background(), apitest.HostB), roamsign.MediumRequest{User: u.ID}); err != nil {
		t.Fatalf("host B after enrolment: %v", err)
	}
}

package bench_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// TestTwoServersOnePostgres runs two signserver processes on one PostgreSQL
// database (and one key store directory, as replicas behind a load
// balancer share a network HSM): a challenge issued by one is signed
// through the other, and the same approval sent to both at once signs
// exactly once.
func TestTwoServersOnePostgres(t *testing.T) {
	dsn := pgDatabase(t)
	bin := buildSignserver(t)
	dir := t.TempDir()
	a := &signserverProc{bin: bin, dir: dir, extra: []string{"-postgres-dsn", dsn}}
	a.start(t) // creates the CA, the keys and the demo users
	b := &signserverProc{bin: bin, dir: dir, extra: []string{"-postgres-dsn", dsn}}
	b.start(t)
	ctx := context.Background()
	apiA, apiB := a.client(t), b.client(t)
	user := bench.User{ID: "850715015123", PIN: "Kewangan#2026"}
	mailA := a.mailbox()

	// Issued on A, signed on B: the replicas share every piece of state.
	hashes := bench.RandomHashes(5)
	ch, err := apiA.RequestOTP(ctx, roamsign.OTPRequest{User: user.ID, Hashes: hashes, DataHeader: "replica test 1"})
	if err != nil {
		t.Fatalf("RequestOTP on A: %v\n%s", err, a.log.String())
	}
	code, err := mailA.OTP(ctx, user.ID, ch)
	require.NoError(t, err)
	res, err := apiB.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: user.PIN, OTP: code, Hashes: hashes, RequestID: roamsign.NewRequestID()})
	if err != nil {
		t.Fatalf("Sign on B of A's challenge: %v\n%s", err, b.log.String())
	}
	require.NoError(t, bench.CheckRaw(res, hashes))
	if st, err := apiA.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID}); err != nil || st.State != roamsign.TxSigned {
		t.Fatalf("Status on A of B's transaction: %+v %v", st, err)
	}

	// One approval, sent to both replicas by 16 callers at once with
	// different request ids: exactly one signature set.
	signed, kinds, err := approveEverywhere(t, ctx, []roamsign.API{apiA, apiB}, mailA, user, 8, bench.RandomHashes(3), "replica test 2")
	require.NoError(t, err)
	if signed != 1 {
		t.Fatalf("%d signature sets for one approval across two replicas (errors %v)", signed, kinds)
	}
	for k := range kinds {
		if k != roamsign.ErrUsed.Code() && k != roamsign.ErrAuthorization.Code() && k != roamsign.ErrConflict.Code() {
			t.Errorf("unexpected refusal %q (%v)", k, kinds)
		}
	}
	t.Logf("one approval, 16 callers on 2 replicas: 1 signed, refused %v", kinds)

	out, err := exec.Command(bin, "audit", "verify", "-dev", "-data-dir", dir, "-postgres-dsn", dsn).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit chain intact") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}

// BenchmarkReplicas measures the aggregate throughput of one and of two
// signserver processes sharing one PostgreSQL database and one SoftHSM2
// token (as replicas behind a load balancer share a network HSM), with
// the server's default Argon2id PIN parameters. Eight hosts, spread evenly
// over the replicas, sign 10-hash flows for replicaRun; every returned
// signature is checked.
// Meanwhile a prober sends each of its approvals to every replica at once
// (two callers per replica): each approval must sign exactly once.
//
//	go test -run '^$' -bench Replicas -benchtime 1x ./bench/
func BenchmarkReplicas(b *testing.B) {
	bin := buildSignserver(b)
	tok := softhsmtest.New(b)
	users := []bench.User{{ID: "850715015123", PIN: "Kewangan#2026"}, {ID: "900101145678", PIN: "Perakuan@77"}}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			dsn, dir := pgDatabase(b), b.TempDir()
			procs := make([]*signserverProc, n)
			for i := range procs {
				procs[i] = &signserverProc{bin: bin, dir: dir, extra: []string{
					"-postgres-dsn", dsn, "-pkcs11-uri", tok.URI(), "-rate-per-user", "-1", "-rate-per-user-host", "-1", "-rate-per-host", "-1", "-log-level", "warn"}}
				procs[i].start(b) // the first creates the CA, keys and demo users
			}
			ctx := context.Background()
			apis := make([]roamsign.API, n)
			mails := make([]*bench.Mailbox, n)
			for i, p := range procs {
				apis[i] = p.client(b)
				mails[i] = p.mailbox()
			}
			for range b.N {
				var (
					wg      sync.WaitGroup
					results = make([]*bench.Result, n) // each goroutine writes its own index
					probe   = probeResult{refused: map[string]int{}}
				)
				stop := make(chan struct{})
				for i := range procs {
					wg.Go(func() {
						res, err := bench.Run(ctx, bench.Config{API: apis[i], Users: users, OTP: mails[i], Hosts: replicaHosts / n, Hashes: 10,
							Duration: replicaRun, Check: bench.CheckRaw})
						if err != nil {
							b.Error(err)
							return
						}
						results[i] = res
					})
				}
				probeDone := make(chan struct{})
				go func() {
					defer close(probeDone)
					for {
						select {
						case <-stop:
							return
						default:
						}
						probeOnce(b, ctx, apis, mails[0], users[0], &probe)
					}
				}()
				wg.Wait()
				close(stop)
				<-probeDone
				if b.Failed() {
					return
				}
				var flows, sigs, failed, wrong int
				var elapsed time.Duration
				for i, r := range results {
					b.Logf("replica %d: %s", i, r)
					flows, sigs, failed, wrong = flows+r.Flows, sigs+r.Signatures, failed+r.Failed, wrong+r.Wrong
					elapsed = max(elapsed, r.Elapsed)
				}
				if wrong > 0 {
					b.Fatalf("%d flows returned signatures that do not verify", wrong)
				}
				if probe.approvals == 0 || probe.signedOnce != probe.approvals {
					b.Fatalf("single use across replicas: %d approvals, %d signed exactly once (%+v)", probe.approvals, probe.signedOnce, probe)
				}
				b.Logf("prober: %d approvals sent to %d replicas at once, each signed exactly once; refusals %v", probe.approvals, n, probe.refused)
				fps := float64(flows) / elapsed.Seconds()
				b.ReportMetric(fps, "flows/s")
				b.ReportMetric(float64(sigs)/elapsed.Seconds(), "sigs/s")
				b.ReportMetric(float64(failed), "failed")
				b.ReportMetric(float64(probe.approvals), "approvals")
				record(fmt.Sprintf("replicas=%d flows/s", n), fps)
				record(fmt.Sprintf("replicas=%d approvals-signed-once", n), float64(probe.signedOnce))
			}
		})
	}
}

// replicaRun is how long BenchmarkReplicas loads each configuration, and
// replicaHosts how many hosts sign at once, spread over the replicas.
const (
	replicaRun   = 20 * time.Second
	replicaHosts = 8
)

type probeResult struct {
	approvals, signedOnce int
	refused               map[string]int
}

// probeOnce sends one approval to every replica at once, twice each, and
// counts whether it signed exactly once.
func probeOnce(b *testing.B, ctx context.Context, apis []roamsign.API, mail *bench.Mailbox, u bench.User, pr *probeResult) {
	signed, refused, err := approveEverywhere(b, ctx, apis, mail, u, 2, bench.RandomHashes(2), "replica probe")
	if err != nil {
		b.Errorf("probe: %v", err)
		return
	}
	for k, n := range refused {
		pr.refused[k] += n
	}
	pr.approvals++
	if signed == 1 {
		pr.signedOnce++
	}
}

// approveEverywhere issues one challenge for hashes on the first API and
// sends its approval to every API at once, perAPI times each, with
// distinct request ids. It returns how many calls signed (their signatures
// are checked) and the error kinds of the calls that were refused.
func approveEverywhere(tb testing.TB, ctx context.Context, apis []roamsign.API, mail *bench.Mailbox, u bench.User, perAPI int, hashes []roamsign.Hash, header string) (signed int, refused map[string]int, err error) {
	ch, err := apis[0].RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hashes, DataHeader: header})
	if err != nil {
		return 0, nil, fmt.Errorf("RequestOTP: %w", err)
	}
	code, err := mail.OTP(ctx, u.ID, ch)
	if err != nil {
		return 0, nil, fmt.Errorf("OTP: %w", err)
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	refused = map[string]int{}
	for i := range perAPI * len(apis) {
		api := apis[i%len(apis)]
		wg.Go(func() {
			res, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: u.PIN, OTP: code, Hashes: hashes, RequestID: roamsign.NewRequestID()})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refused[roamsign.KindOf(err).Code()]++
				return
			}
			if cerr := bench.CheckRaw(res, hashes); cerr != nil {
				tb.Errorf("returned signatures: %v", cerr)
			}
			signed++
		})
	}
	wg.Wait()
	return signed, refused, nil
}

package bench_test

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
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
	a := &signserverProc{bin: bin, dir: dir, addr: freeAddr(t), ops: freeAddr(t), extra: []string{"-postgres-dsn", dsn}}
	a.start(t) // creates the CA, the keys and the demo users
	b := &signserverProc{bin: bin, dir: dir, addr: freeAddr(t), ops: freeAddr(t), extra: []string{"-postgres-dsn", dsn}}
	b.start(t)
	ctx := context.Background()
	apiA, apiB := a.client(t), b.client(t)
	user := bench.User{ID: "850715015123", PIN: "Kewangan#2026"}
	mailA := &bench.Mailbox{URL: "https://" + a.addr + "/dev/mailbox.json", Client: a.httpClient}

	// Issued on A, signed on B: the replicas share every piece of state.
	hashes := bench.RandomHashes(5)
	ch, err := apiA.RequestOTP(ctx, roamsign.OTPRequest{User: user.ID, Hashes: hashes, DataHeader: "replica test 1"})
	if err != nil {
		t.Fatalf("RequestOTP on A: %v\n%s", err, a.log.String())
	}
	code, err := mailA.OTP(ctx, user.ID, ch)
	if err != nil {
		t.Fatal(err)
	}
	res, err := apiB.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: user.PIN, OTP: code, Hashes: hashes, RequestID: bench.RequestID()})
	if err != nil {
		t.Fatalf("Sign on B of A's challenge: %v\n%s", err, b.log.String())
	}
	if err := bench.CheckRaw(res, hashes); err != nil {
		t.Fatal(err)
	}
	if st, err := apiA.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID}); err != nil || st.State != roamsign.TxSigned {
		t.Fatalf("Status on A of B's transaction: %+v %v", st, err)
	}

	// One approval, sent to both replicas by 16 callers at once with
	// different request ids: exactly one signature set.
	hashes = bench.RandomHashes(3)
	ch, err = apiA.RequestOTP(ctx, roamsign.OTPRequest{User: user.ID, Hashes: hashes, DataHeader: "replica test 2"})
	if err != nil {
		t.Fatal(err)
	}
	if code, err = mailA.OTP(ctx, user.ID, ch); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		signed int
		kinds  = map[string]int{}
	)
	for i := range 16 {
		api := apiA
		if i%2 == 1 {
			api = apiB
		}
		wg.Go(func() {
			res, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: user.PIN, OTP: code, Hashes: hashes, RequestID: bench.RequestID()})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				kinds[roamsign.KindOf(err).Code()]++
				return
			}
			if cerr := bench.CheckRaw(res, hashes); cerr != nil {
				t.Errorf("returned signatures: %v", cerr)
			}
			signed++
		})
	}
	wg.Wait()
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

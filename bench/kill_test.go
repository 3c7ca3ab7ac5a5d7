package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// signserverProc is one examples/signserver process on a data directory.
type signserverProc struct {
	bin, dir   string
	addr, ops  string
	extra      []string // further serve flags, e.g. -postgres-dsn
	cmd        *exec.Cmd
	exited     chan struct{}
	log        lockedBuffer
	httpClient *http.Client
}

// lockedBuffer collects a child's output; safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func buildSignserver(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signserver")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/roamsign/roamsign/examples/signserver").CombinedOutput()
	if err != nil {
		t.Fatalf("go build signserver: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs "signserver serve -dev" and waits until the dev mailbox
// answers over TLS with the development CA.
func (p *signserverProc) start(t testing.TB) {
	t.Helper()
	p.log.Reset()
	p.cmd = exec.Command(p.bin, append([]string{"serve", "-dev", "-data-dir", p.dir, "-listen", p.addr, "-ops-listen", p.ops}, p.extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, exited := p.cmd, make(chan struct{})
	p.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("signserver exited: %v\n%s", cmd.ProcessState, p.log.String())
		default:
		}
		if p.httpClient == nil {
			if pemBytes, err := os.ReadFile(filepath.Join(p.dir, "ca", "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(pemBytes) {
					p.httpClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
				}
			}
		}
		if p.httpClient != nil {
			if resp, err := p.httpClient.Get("https://" + p.addr + "/dev/mailbox.json"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("signserver did not come up within 45 s:\n%s", p.log.String())
}

func (p *signserverProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

func (p *signserverProc) client(t testing.TB) *httpapi.Client {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(p.dir, "demo-host.apikey"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := httpapi.NewClient("https://"+p.addr, httpapi.ClientOptions{HTTPClient: p.httpClient, APIKey: strings.TrimSpace(string(key))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKill9DuringBatch kills the server with SIGKILL while it signs a
// batch of 1000 hashes, restarts it on the same data directory and checks
// that the transaction is either completely signed (and audited) or ends
// failed, that the challenge cannot be used again, and that
// "signserver audit verify" finds the chain intact.
func TestKill9DuringBatch(t *testing.T) {
	p := &signserverProc{bin: buildSignserver(t), dir: t.TempDir(), addr: freeAddr(t), ops: freeAddr(t)}
	p.start(t)
	ctx := context.Background()
	api := p.client(t)
	user := bench.User{ID: "850715015123", PIN: "Kewangan#2026"}
	hashes := bench.RandomHashes(1000)
	ch, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: user.ID, Hashes: hashes, DataHeader: "kill -9 test"})
	if err != nil {
		t.Fatalf("RequestOTP: %v\n%s", err, p.log.String())
	}
	code, err := (&bench.Mailbox{URL: "https://" + p.addr + "/dev/mailbox.json", Client: p.httpClient}).OTP(ctx, user.ID, ch)
	if err != nil {
		t.Fatal(err)
	}
	req := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: user.PIN, OTP: code, Hashes: hashes, RequestID: bench.RequestID()}
	done := make(chan error, 1)
	go func() { _, err := api.Sign(ctx, req); done <- err }()
	// Kill once the transaction has been activated (it is in the database)
	// or after a bound, whichever comes first; both are valid crash points.
	dbPath := filepath.Join(p.dir, "roamsign.db")
	waitActivated(t, dbPath, req.RequestID, 5*time.Second)
	p.kill9(t)
	if err := <-done; err == nil {
		t.Log("the batch completed before the kill landed")
	}

	p.start(t)
	api = p.client(t)
	res, err := api.Sign(ctx, req)
	switch {
	case err == nil:
		if err := bench.CheckRaw(res, hashes); err != nil {
			t.Fatalf("replayed result after restart: %v", err)
		}
		for _, it := range res.Items {
			if it.Status != roamsign.ItemSigned {
				t.Fatalf("item %d after restart: %+v", it.Index, it)
			}
		}
		t.Logf("outcome: fully signed, transaction %s", res.TransactionID)
	case errors.Is(err, roamsign.ErrConflict):
		t.Logf("outcome: transaction still pending after restart (%v); the sweep fails it", err)
	default:
		t.Logf("outcome: the first request failed: %v", err)
	}
	// A second request on the same challenge must be refused.
	req2 := req
	req2.RequestID = bench.RequestID()
	if res2, err := api.Sign(ctx, req2); err == nil {
		t.Fatalf("challenge reused after restart: transaction %s", res2.TransactionID)
	}

	p.kill9(t)
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx, err := st.GetTransactionByRequest(ctx, "demo", req.RequestID)
	if err != nil {
		t.Fatalf("transaction of the killed request: %v", err)
	}
	if tx.State == roamsign.TxPending {
		// What the server's periodic sweep does once PendingTimeout passed.
		if _, _, err := st.ExpireTransactions(ctx, time.Now().Add(time.Second), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if tx, err = st.GetTransaction(ctx, tx.ID); err != nil {
			t.Fatal(err)
		}
	}
	switch tx.State {
	case roamsign.TxSigned:
		if len(tx.Items) != len(hashes) {
			t.Fatalf("signed transaction has %d items", len(tx.Items))
		}
	case roamsign.TxFailed, roamsign.TxExpired:
		for _, it := range tx.Items {
			if it.Status == roamsign.ItemSigned || len(it.Signature) > 0 {
				t.Fatalf("failed transaction records signature %d", it.Index)
			}
		}
	default:
		t.Fatalf("transaction state %q after sweep", tx.State)
	}
	// Every signed transaction must have an audit record.
	audited, authorised, closed := false, false, false
	var events []string
	if err := st.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		events = append(events, string(a.Event))
		if a.TransactionID == tx.ID && a.Event == roamsign.AuditSigned {
			audited = true
		}
		if a.TransactionID == tx.ID && a.Event == roamsign.AuditSignFailed {
			closed = true
		}
		if a.TransactionID == tx.ID && a.Event == roamsign.AuditAuthorised {
			authorised = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("audit events: %v", events)
	if !authorised {
		t.Fatalf("transaction %s exists without its %s audit record", tx.ID, roamsign.AuditAuthorised)
	}
	if tx.State == roamsign.TxSigned && !audited {
		t.Fatalf("transaction %s signed without an audit record", tx.ID)
	}
	if tx.State != roamsign.TxSigned && audited {
		t.Fatalf("transaction %s audited as signed but state %s", tx.ID, tx.State)
	}
	if tx.State != roamsign.TxSigned && !closed {
		t.Fatalf("failed transaction %s has no %s audit record", tx.ID, roamsign.AuditSignFailed)
	}
	_ = st.Close()
	out, err := exec.Command(p.bin, "audit", "verify", "-dev", "-data-dir", p.dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit chain intact") {
		t.Fatalf("signserver audit verify: %v\n%s", err, out)
	}
	t.Logf("state %s; %s", tx.State, strings.TrimSpace(string(out)))
}

// waitActivated polls the database (read-only, as a second process would)
// until the transaction of requestID exists, or until max passes.
func waitActivated(t *testing.T, dbPath, requestID string, max time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		st, err := sqlite.Open(ctx, dbPath, sqlite.Options{ReadOnly: true})
		if err == nil {
			_, gerr := st.GetTransactionByRequest(ctx, "demo", requestID)
			_ = st.Close()
			if gerr == nil {
				time.Sleep(200 * time.Millisecond) // let it sign a part of the batch
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Log("transaction not seen in the database before the kill")
}

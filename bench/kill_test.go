package bench_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/leakcheck"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// signserverProc is one examples/signserver process on a data directory.
// The server binds its own ports (port 0) and the test learns them from
// its banner, so no other process can take a port between a probe and the
// bind; the client trusts only the CA of this data directory, so it can
// only ever talk to this server.
type signserverProc struct {
	bin, dir   string
	extra      []string // further serve flags, e.g. -postgres-dsn
	env        []string // further environment, e.g. the crash hook
	addr, ops  string   // learned from the banner at each start
	cmd        *exec.Cmd
	exited     chan struct{}
	log        leakcheck.Buffer
	httpClient *http.Client
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

// banner matches the addresses signserver prints once it listens.
var banner = regexp.MustCompile(`API +https://(\S+)/v1/\n +health +http://(\S+)/readyz`)

// start runs "signserver serve -dev" on ports it picks itself and waits
// until the dev mailbox answers over TLS with the data directory's CA.
func (p *signserverProc) start(t testing.TB) {
	t.Helper()
	p.log.Reset()
	p.addr, p.ops = "", ""
	p.cmd = exec.Command(p.bin, append([]string{"serve", "-dev", "-data-dir", p.dir, "-listen", "127.0.0.1:0", "-ops-listen", "127.0.0.1:0"}, p.extra...)...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	require.NoError(t, p.cmd.Start())
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
		if p.addr == "" {
			if m := banner.FindStringSubmatch(p.log.String()); m != nil {
				p.addr, p.ops = m[1], m[2]
			}
		}
		if p.httpClient == nil {
			if pemBytes, err := os.ReadFile(filepath.Join(p.dir, "ca", "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(pemBytes) {
					p.httpClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
				}
			}
		}
		if p.addr != "" && p.httpClient != nil {
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

// kill9 sends SIGKILL and waits for the process to end.
func (p *signserverProc) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
}

// mailbox reads OTPs from this server's dev mailbox.
func (p *signserverProc) mailbox() *bench.Mailbox {
	return &bench.Mailbox{URL: "https://" + p.addr + "/dev/mailbox.json", Client: p.httpClient}
}

func (p *signserverProc) client(t testing.TB) *httpapi.Client {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(p.dir, "demo-host.apikey"))
	require.NoError(t, err)
	c, err := httpapi.NewClient("https://"+p.addr, httpapi.ClientOptions{HTTPClient: p.httpClient, APIKey: strings.TrimSpace(string(key))})
	require.NoError(t, err)
	return c
}

// TestKill9DuringBatch crashes the server with SIGKILL while it handles a
// batch of 1000 hashes, at a point fixed by the server's crash test hook:
// after the approval was consumed and the pending transaction committed,
// with every signature made but none recorded or returned. It checks that
// the crash landed there, that the restarted server fails the interrupted
// transaction (no signature ever leaves), that the retried request gets
// that failure, that the challenge cannot be used again, that the audit
// log records the authorisation and the failure but no signature, and
// that "signserver audit verify" finds the chain intact.
func TestKill9DuringBatch(t *testing.T) {
	p := &signserverProc{bin: buildSignserver(t), dir: t.TempDir(), env: []string{"ROAMSIGN_TEST_CRASH=after-sign"}}
	p.start(t)
	ctx := context.Background()
	api := p.client(t)
	user := bench.User{ID: "850715015123", PIN: "Kewangan#2026"}
	hashes := bench.RandomHashes(1000)
	ch, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: user.ID, Hashes: hashes, DataHeader: "kill -9 test"})
	require.NoError(t, err, "RequestOTP\n%s", p.log.String())
	code, err := p.mailbox().OTP(ctx, user.ID, ch)
	require.NoError(t, err)
	req := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: user.PIN, OTP: code, Hashes: hashes, RequestID: roamsign.NewRequestID()}
	_, err = api.Sign(ctx, req)
	require.Error(t, err, "the batch was answered: the crash hook did not fire\n%s", p.log.String())
	<-p.exited
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL,
		"the server did not die by SIGKILL mid-request: %v\n%s", p.cmd.ProcessState, p.log.String())

	// The crash landed between begin and finish: the transaction is
	// recorded, pending, with no signature.
	dbPath := filepath.Join(p.dir, "roamsign.db")
	tx := transactionOf(t, dbPath, req.RequestID)
	require.Equal(t, roamsign.TxPending, tx.State, "state at the crash")
	requireNoSignature(t, tx)

	// Restarted without the hook, the server fails what the crash left
	// pending before it serves anything.
	p.env = nil
	p.start(t)
	assert.Contains(t, p.log.String(), "transactions interrupted by an unclean stop marked failed")
	api = p.client(t)
	_, err = api.Sign(ctx, req)
	require.ErrorIs(t, err, roamsign.ErrExpired, "the retried request gets the interrupted transaction's final failure")
	req2 := req
	req2.RequestID = roamsign.NewRequestID()
	_, err = api.Sign(ctx, req2)
	require.ErrorIs(t, err, roamsign.ErrUsed, "the challenge used again after the restart")

	p.kill9(t)
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	tx, err = st.GetTransaction(ctx, tx.ID)
	require.NoError(t, err)
	require.Equal(t, roamsign.TxFailed, tx.State, "state after the restart")
	require.Equal(t, roamsign.ErrExpired.Code(), tx.Error)
	requireNoSignature(t, tx)
	events := map[roamsign.AuditEvent]int{}
	require.NoError(t, st.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.TransactionID == tx.ID {
			events[a.Event]++
		}
		return nil
	}))
	assert.Equal(t, map[roamsign.AuditEvent]int{roamsign.AuditAuthorised: 1, roamsign.AuditSignFailed: 1}, events,
		"audit records of the interrupted transaction")
	require.NoError(t, st.Close())
	out, err := exec.Command(p.bin, "audit", "verify", "-dev", "-data-dir", p.dir).CombinedOutput()
	require.NoError(t, err, "signserver audit verify\n%s", out)
	require.Contains(t, string(out), "audit chain intact")
}

// transactionOf reads the transaction of requestID from the database
// (read-only, as a second process would).
func transactionOf(t *testing.T, dbPath, requestID string) *roamsign.TransactionRecord {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dbPath, sqlite.Options{ReadOnly: true})
	require.NoError(t, err)
	defer st.Close()
	tx, err := st.GetTransactionByRequest(ctx, "demo", requestID)
	require.NoError(t, err, "the transaction of the crashed request")
	return tx
}

func requireNoSignature(t *testing.T, tx *roamsign.TransactionRecord) {
	t.Helper()
	for _, it := range tx.Items {
		require.False(t, it.Status == roamsign.ItemSigned || len(it.Signature) > 0, "transaction %s records signature %d", tx.ID, it.Index)
	}
}

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/otp"
)

// replicaEnv makes the test binary run as one replica of
// TestReplicasProvisionOneKeyEach instead of running tests.
const replicaEnv = "ROAMSIGN_TEST_REPLICA"

func TestMain(m *testing.M) {
	if os.Getenv(replicaEnv) != "" {
		os.Exit(runReplica())
	}
	os.Exit(softhsmtest.Run(m))
}

// issued is what a replica reports after start-up: a fingerprint of its
// PIN pepper (a MAC of a fixed text) and a challenge it issued, with the
// OTP it delivered.
type issued struct {
	Pepper    string
	ID        string
	Nonce     []byte
	OTP       string
	Hash      []byte
	Error     string
	Refusals  []string // of the other replicas' challenges
	Confirmed int
}

// Eight server processes start at once, outside development mode, on a
// fresh SoftHSM2 token and a fresh database, as replicas behind a load
// balancer do: exactly one OTP MAC key and one PIN pepper exist afterwards,
// every replica uses the same pepper, and an OTP issued by each replica
// verifies on every replica.
func TestReplicasProvisionOneKeyEach(t *testing.T) {
	for _, db := range []string{"postgres", "sqlite"} {
		t.Run(db, func(t *testing.T) {
			tok := softhsmtest.New(t)
			env := []string{replicaEnv + "=1", "ROAMSIGN_TEST_PKCS11_URI=" + tok.URI()}
			shared := t.TempDir() // the SQLite file replicas on one host share
			if db == "postgres" {
				env = append(env, "ROAMSIGN_TEST_POSTGRES_DSN="+pgtest.NewDatabase(t))
			}
			const n = 8
			reps := make([]*replicaProc, n)
			for i := range reps {
				dir := shared
				if db == "postgres" {
					dir = t.TempDir()
				}
				reps[i] = startReplica(t, i, dir, env)
			}
			for _, r := range reps {
				r.send(t, "go") // all start-ups race from here
			}
			var all []issued
			for _, r := range reps {
				got := r.receive(t)
				require.Empty(t, got.Error, "replica %d: %s", r.i, r.stderr.String())
				all = append(all, got)
			}
			for _, got := range all[1:] {
				require.Equal(t, all[0].Pepper, got.Pepper, "replicas use different PIN peppers")
			}
			line, err := json.Marshal(all)
			require.NoError(t, err)
			for _, r := range reps {
				r.send(t, string(line))
			}
			for _, r := range reps {
				got := r.receive(t)
				assert.Empty(t, got.Refusals, "replica %d refused OTPs of other replicas", r.i)
				assert.Equal(t, n, got.Confirmed, "replica %d", r.i)
				require.NoError(t, r.wait(), "replica %d: %s", r.i, r.stderr.String())
			}
			for _, id := range []string{otpMACKeyID, pepperKeyID, rowKeyID} {
				assert.Equal(t, 1, countSecretKeys(t, tok, id), "secret keys with id %s", id)
			}
		})
	}
}

// replicaProc is one replica process and its pipes.
type replicaProc struct {
	i      int
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr syncBuffer
}

func startReplica(t *testing.T, i int, dir string, env []string) *replicaProc {
	t.Helper()
	r := &replicaProc{i: i, cmd: exec.Command(os.Args[0], "-test.run=^$")}
	r.cmd.Env = append(os.Environ(), append(env, "ROAMSIGN_TEST_DATA_DIR="+dir, fmt.Sprintf("ROAMSIGN_TEST_REPLICA_INDEX=%d", i))...)
	r.cmd.Stderr = &r.stderr
	in, err := r.cmd.StdinPipe()
	require.NoError(t, err)
	out, err := r.cmd.StdoutPipe()
	require.NoError(t, err)
	r.in, r.out = in, bufio.NewReaderSize(out, 1<<20)
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		if t.Failed() {
			t.Logf("replica %d stderr:\n%s", i, r.stderr.String())
		}
	})
	return r
}

func (r *replicaProc) send(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(r.in, line+"\n")
	require.NoError(t, err, "replica %d: %s", r.i, r.stderr.String())
}

// receive reads the replica's next report, failing after a minute.
func (r *replicaProc) receive(t *testing.T) issued {
	t.Helper()
	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := r.out.ReadBytes('\n')
		ch <- result{line, err}
	}()
	select {
	case res := <-ch:
		require.NoError(t, res.err, "replica %d: %s", r.i, r.stderr.String())
		var got issued
		require.NoError(t, json.Unmarshal(res.line, &got), "replica %d: %s", r.i, res.line)
		return got
	case <-time.After(time.Minute):
		t.Fatalf("replica %d sent nothing within a minute: %s", r.i, r.stderr.String())
		return issued{}
	}
}

func (r *replicaProc) wait() error {
	_ = r.in.Close()
	return r.cmd.Wait()
}

// countSecretKeys counts the token's secret keys with CKA_ID id, seen from
// a fresh process so that nothing this one cached counts.
func countSecretKeys(t *testing.T, tok *softhsmtest.Token, id string) int {
	t.Helper()
	tool, err := exec.LookPath("pkcs11-tool")
	require.NoError(t, err, "pkcs11-tool (Debian package opensc): run `make deps`")
	out, err := exec.Command(tool, "--module", tok.ModulePath, "--token-label", tok.Label, "--login", "--pin", tok.PIN,
		"--list-objects", "--type", "secrkey").CombinedOutput()
	require.NoError(t, err, "%s", out)
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "ID:" && f[1] == hex.EncodeToString([]byte(id)) {
			n++
		}
	}
	return n
}

// runReplica is one replica: it starts as `signserver serve -dev=false`
// assembles itself, issues a challenge through its OTP manager and checks
// the challenges of every replica. It reports on stdout, one JSON line
// each time.
func runReplica() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	report := func(v issued) { b, _ := json.Marshal(v); fmt.Println(string(b)) }
	fail := func(err error) int { report(issued{Error: err.Error()}); return 1 }
	if _, err := in.ReadString('\n'); err != nil {
		return fail(err)
	}
	cfg := defaultConfig()
	cfg.Dev, cfg.DataDir = false, os.Getenv("ROAMSIGN_TEST_DATA_DIR")
	cfg.PKCS11URI, cfg.PostgresDSN = os.Getenv("ROAMSIGN_TEST_PKCS11_URI"), os.Getenv("ROAMSIGN_TEST_POSTGRES_DSN")
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)), io.Discard, oneShot)
	if err != nil {
		return fail(err)
	}
	defer a.Close()
	mgr, sender, err := replicaOTP(ctx, a)
	if err != nil {
		return fail(err)
	}
	mine, err := issueOne(ctx, a, mgr, sender)
	if err != nil {
		return fail(err)
	}
	report(mine)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fail(err)
	}
	var all []issued
	if err := json.Unmarshal(line, &all); err != nil {
		return fail(err)
	}
	// Each replica starts with its own challenge and goes round: the
	// OTP back-off counts an attempt before it is evaluated, so eight
	// replicas checking one user's challenge at the same instant would
	// read as eight failures in flight, which is not what this test is
	// about.
	me, _ := strconv.Atoi(os.Getenv("ROAMSIGN_TEST_REPLICA_INDEX"))
	var res issued
	for k := range all {
		c := all[(me+k)%len(all)]
		h := roamsign.Hash{Algorithm: roamsign.SHA256, Value: c.Hash}
		_, err := mgr.Check(ctx, otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: roamsign.Secret(c.OTP), Hashes: []roamsign.Hash{h}})
		if err != nil {
			res.Refusals = append(res.Refusals, err.Error())
			continue
		}
		res.Confirmed++
	}
	report(res)
	return 0
}

// replicaOTP is an OTP manager on the replica's store and its provisioned
// OTP MAC key, delivering into a capturing sender.
func replicaOTP(ctx context.Context, a *app) (*otp.Manager, *captureSender, error) {
	ms, ok := a.keys.(hsm.MACKeyStore)
	if !ok {
		return nil, nil, errors.New("the key store holds no MAC keys")
	}
	key, err := ms.MACKey(ctx, otpMACKeyID)
	if err != nil {
		return nil, nil, err
	}
	sender := &captureSender{}
	mgr, err := otp.New(otp.Config{Store: a.store, Key: key, Delivery: &otp.Delivery{Email: sender}, MaxTries: 8})
	return mgr, sender, err
}

// issueOne enrols a user of its own and issues one challenge for it.
func issueOne(ctx context.Context, a *app, mgr *otp.Manager, sender *captureSender) (issued, error) {
	ms := a.keys.(hsm.MACKeyStore)
	pepper, err := ms.MACKey(ctx, pepperKeyID)
	if err != nil {
		return issued{}, err
	}
	fp, err := pepper.MAC(ctx, []byte("replica test"))
	if err != nil {
		return issued{}, err
	}
	user := roamsign.UserID("85071501510" + os.Getenv("ROAMSIGN_TEST_REPLICA_INDEX"))
	now := time.Now()
	if err := a.store.CreateUser(ctx, &roamsign.UserRecord{ID: user, Name: "REPLICA TEST", Hosts: []roamsign.HostID{demoHost},
		Email: "replica@agensi.gov.my", KeyRef: "none", CreatedAt: now, UpdatedAt: now}); err != nil {
		return issued{}, err
	}
	h := make([]byte, sha256.Size)
	_, _ = rand.Read(h)
	ch, err := mgr.Issue(ctx, otp.IssueRequest{User: user, Host: demoHost, Hashes: []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: h}}})
	if err != nil {
		return issued{}, err
	}
	return issued{Pepper: hex.EncodeToString(fp), ID: ch.ID, Nonce: ch.Nonce, OTP: sender.otp, Hash: h}, nil
}

// captureSender keeps the OTP it was asked to deliver.
type captureSender struct{ otp string }

func (c *captureSender) Channel() roamsign.Channel { return roamsign.ChannelEmail }

func (c *captureSender) Send(_ context.Context, to otp.Recipient, msg *otp.Message) (string, error) {
	c.otp = msg.OTP.Reveal()
	return otp.MaskEmail(to.Email), nil
}

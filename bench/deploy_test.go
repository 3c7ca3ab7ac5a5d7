package bench_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// benchHost is the host system every deployment serves.
const benchHost roamsign.HostID = "bench-host"

// benchPIN is every enrolled user's PIN.
const benchPIN roamsign.Secret = "Tr0ub4dor&3"

// capture is a test-only otp.Sender that keeps each OTP by challenge id.
type capture struct {
	mu  sync.Mutex
	got map[string]roamsign.Secret
}

var _ otp.Sender = (*capture)(nil)

func (c *capture) Channel() roamsign.Channel { return roamsign.ChannelEmail }

func (c *capture) Send(_ context.Context, to otp.Recipient, msg *otp.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[msg.ChallengeID] = msg.OTP
	return otp.MaskEmail(to.Email), nil
}

// OTP implements bench.OTPSource; it consumes the entry.
func (c *capture) OTP(_ context.Context, _ roamsign.UserID, ch *roamsign.OTPResponse) (roamsign.Secret, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	code, ok := c.got[ch.ChallengeID]
	if !ok {
		return "", roamsign.E(roamsign.ErrNotFound, "capture.OTP", "no OTP for %s", ch.ChallengeID)
	}
	delete(c.got, ch.ChallengeID)
	return code, nil
}

// fullStore is what the deployment needs of a store backend.
type fullStore interface {
	store.Store
}

type deployOpts struct {
	// Store is "sqlite" (default) or "postgres" (DSN required).
	Store string
	DSN   string
	// SQLitePath overrides the database file (default in a temp dir).
	SQLitePath string
	// DBServerPID is the database server's process (PostgreSQL's
	// postmaster), whose tree's CPU time counts as the system's; 0 when the
	// store runs in this process.
	DBServerPID int
	Sessions    int              // PKCS#11 session pool; default hsm.DefaultSessions
	Now         func() time.Time // clock of service, OTP and store; default time.Now
	TTL         time.Duration    // OTP lifetime; default the otp package's
}

// deployment is the service on SoftHSM2 (PKCS#11) and SQLite or
// PostgreSQL, served over HTTPS on loopback.
type deployment struct {
	tok    *softhsmtest.Token
	keys   *hsm.PKCS11Store
	st     fullStore
	svc    *service.Service
	mail   *capture
	ca     *testpki.CA
	srv    *httptest.Server
	client *httpapi.Client
	dbPID  int // see deployOpts.DBServerPID
}

// cpu returns the CPU time the deployment has used so far: this process
// and the database server's process tree (db; 0 when in-process).
func (d *deployment) cpu(tb testing.TB) (proc, db time.Duration) {
	proc = proctime.CPU()
	if d.dbPID != 0 {
		var err error
		db, err = bench.TreeCPU(d.dbPID)
		require.NoError(tb, err, "database server CPU")
	}
	return proc, db
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newDeployment(tb testing.TB, o deployOpts) *deployment {
	tb.Helper()
	ctx := context.Background()
	d := &deployment{mail: &capture{got: map[string]roamsign.Secret{}}, dbPID: o.DBServerPID}
	d.tok = softhsmtest.New(tb)
	keys, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: d.tok.URI(), Sessions: o.Sessions, Logger: quietLogger()})
	require.NoError(tb, err, "OpenPKCS11")
	d.keys = keys
	tb.Cleanup(func() { _ = keys.Close() })
	switch o.Store {
	case "", "sqlite":
		path := o.SQLitePath
		if path == "" {
			path = filepath.Join(tb.TempDir(), "roamsign.db")
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{Now: o.Now})
		require.NoError(tb, err, "sqlite.Open")
		d.st = s
	case "postgres":
		s, err := postgres.Open(ctx, o.DSN, postgres.Options{Now: o.Now})
		require.NoError(tb, err, "postgres.Open")
		d.st = s
	default:
		tb.Fatalf("unknown store %q", o.Store)
	}
	tb.Cleanup(func() { _ = d.st.Close() })
	mk, err := otp.NewHMACKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(tb, err)
	mgr, err := otp.New(otp.Config{Store: d.st, Key: mk, Delivery: &otp.Delivery{Email: d.mail, Logger: quietLogger()},
		UserRate: -1, UserHostRate: -1, HostRate: -1, TTL: o.TTL, Now: o.Now, Logger: quietLogger()})
	require.NoError(tb, err)
	d.svc, err = service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{
		Store: d.st, Keys: adapt.Keys(keys), Challenges: adapt.OTP(mgr), Logger: quietLogger(), Now: o.Now,
		Forms: map[roamsign.OutputForm]service.FormSigner{roamsign.FormRaw: adapt.Raw{}, roamsign.FormCMS: adapt.CMS{}},
	})
	require.NoError(tb, err)
	if d.ca, err = testpki.NewRoot(testpki.Options{}); err != nil {
		tb.Fatal(err)
	}
	apiKey, err := httpapi.NewAPIKey()
	require.NoError(tb, err)
	ks := &httpapi.APIKeys{}
	require.NoError(tb, ks.Add(benchHost, apiKey))
	d.srv = httptest.NewUnstartedServer(httpapi.Handler(d.svc, httpapi.Options{Auth: &httpapi.HostAuth{Keys: ks}, Logger: quietLogger()}))
	d.srv.StartTLS()
	tb.Cleanup(d.srv.Close)
	hc := d.srv.Client()
	hc.Timeout = 2 * time.Minute
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	if d.client, err = httpapi.NewClient(d.srv.URL, httpapi.ClientOptions{HTTPClient: hc, APIKey: apiKey}); err != nil {
		tb.Fatal(err)
	}
	return d
}

var userSeq = struct {
	sync.Mutex
	n int
}{}

// enrol enrols n users with alg for benchHost, issues their certificates
// and sets benchPIN.
func (d *deployment) enrol(tb testing.TB, alg roamsign.KeyAlgorithm, n int) []bench.User {
	tb.Helper()
	ctx := context.Background()
	us := make([]bench.User, n)
	for i := range us {
		id := apitest.NewUserID()
		res, err := d.svc.Enrol(ctx, roamsign.EnrolRequest{User: id, Name: "PENGUJI " + string(id[8:]), Hosts: []roamsign.HostID{benchHost},
			Email: "u" + string(id) + "@example.test", Algorithm: alg, Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}})
		require.NoError(tb, err, "Enrol")
		csr, err := x509.ParseCertificateRequest(res.CSR)
		require.NoError(tb, err)
		leaf, err := d.ca.IssueLeaf(csr.Subject.CommonName, string(id), csr.PublicKey, testpki.LeafOptions{})
		require.NoError(tb, err)
		require.NoError(tb, d.svc.ImportChain(ctx, roamsign.ImportChainRequest{User: id, Chain: [][]byte{leaf.Raw, d.ca.Cert.Raw}}), "ImportChain")
		require.NoError(tb, d.svc.SetPIN(ctx, roamsign.SetPINRequest{User: id, New: benchPIN}), "SetPIN")
		us[i] = bench.User{ID: id, PIN: benchPIN}
	}
	return us
}

// auditIntact checks the store's audit hash chain.
func (d *deployment) auditIntact(tb testing.TB) *store.VerifyResult {
	tb.Helper()
	res, err := store.VerifyAudit(context.Background(), d.st, store.VerifyOptions{})
	require.NoError(tb, err, "audit chain")
	return res
}

func (d *deployment) String() string { return fmt.Sprintf("deployment %s", d.srv.URL) }

package apitest

import (
	"context"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/leakcheck"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// AsHost returns api with every call made as host (no host when "").
func AsHost(api roamsign.API, host roamsign.HostID) roamsign.API {
	return hostAPI{api: api, host: host}
}

type hostAPI struct {
	api  roamsign.API
	host roamsign.HostID
}

func (h hostAPI) ctx(ctx context.Context) context.Context {
	if h.host == "" {
		return ctx
	}
	return roamsign.WithHost(ctx, h.host)
}

func (h hostAPI) Medium(ctx context.Context, r roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	return h.api.Medium(h.ctx(ctx), r)
}

func (h hostAPI) RequestOTP(ctx context.Context, r roamsign.OTPRequest) (*roamsign.OTPResponse, error) {
	return h.api.RequestOTP(h.ctx(ctx), r)
}

func (h hostAPI) Sign(ctx context.Context, r roamsign.SignRequest) (*roamsign.SignResponse, error) {
	return h.api.Sign(h.ctx(ctx), r)
}

func (h hostAPI) Status(ctx context.Context, r roamsign.StatusRequest) (*roamsign.StatusResponse, error) {
	return h.api.Status(h.ctx(ctx), r)
}

// LogBuffer is a concurrency-safe log sink for checking what was logged;
// its loggers write no time- or duration-valued attribute (see
// [leakcheck.DropTimes]).
type LogBuffer = leakcheck.Buffer

// MemDeployment is a service over in-memory doubles.
type MemDeployment struct {
	Service    *service.Service
	Store      *memory.Store
	Challenges *MemChallenger
	Keys       *SoftKeys
	Logs       *LogBuffer
	CA         *testpki.CA
}

// FastPIN are cheap Argon2id parameters for tests.
var FastPIN = service.PINParams{MemoryKiB: 64, Time: 1}

// NewMemDeployment builds a service over in-memory doubles with cheap
// Argon2id parameters. Its challenger checks the OTP alone
// (MemChallenger.OTPOnly), so nonce and hash-list binding rest on the
// service.
func NewMemDeployment(t testing.TB, cfg service.Config) *MemDeployment {
	t.Helper()
	if cfg.PIN == (service.PINParams{}) {
		cfg.PIN = FastPIN
	}
	d := &MemDeployment{Store: memory.New(memory.Options{}), Keys: NewSoftKeys(), Logs: &LogBuffer{}}
	d.Challenges = NewMemChallenger(d.Store)
	d.Challenges.OTPOnly = true // the service's own binding is under test
	svc, err := service.New(cfg, service.Deps{Store: d.Store, Keys: d.Keys, Challenges: d.Challenges, Logger: d.Logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	d.Service = svc
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.CA, err = root.NewIntermediate(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Env returns the suite environment for calling the service in-process.
func (d *MemDeployment) Env() *Env {
	return &Env{
		API:   func(h roamsign.HostID) roamsign.API { return AsHost(d.Service, h) },
		Admin: d.Service,
		OTP: func(t testing.TB, u roamsign.UserID, _ *roamsign.OTPResponse) string {
			return d.Challenges.LastOTP(u)
		},
		CA: d.CA,
		Audit: func(ctx context.Context, fn func(*roamsign.AuditRecord) error) error {
			return d.Store.ScanAudit(ctx, 1, fn)
		},
		Logs: d.Logs.String,
	}
}

package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
)

func TestConformanceHTTP(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	h := apitest.ServeHTTP(t, d.Service, d.Service, d.Logs.Logger())
	apitest.Run(t, h.Env(t, d.Env()))
	// Service log lines carry the transport's correlation id.
	found := false
	for _, line := range strings.Split(d.Logs.String(), "\n") {
		if strings.Contains(line, `"msg":"signature activated"`) && strings.Contains(line, `"correlation_id":"`) {
			found = true
		}
	}
	if !found {
		t.Fatal("no service log line with a correlation id")
	}
}

func TestHostAuthentication(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	h := apitest.ServeHTTP(t, d.Service, d.Service, d.Logs.Logger())
	ctx := context.Background()
	e := h.Env(t, d.Env())
	u := e.Enrol(t, apitest.HostA)

	// A certificate from another CA fails the handshake.
	other, _ := testpki.NewRoot(testpki.Options{})
	rogue := apitest.ClientCert(t, other, string(apitest.HostA))
	if _, err := apitest.Client(t, h.API, &rogue, "").Medium(ctx, roamsign.MediumRequest{User: u.ID}); err == nil {
		t.Fatalf("certificate of an unknown CA was accepted")
	}
	// A verified certificate naming no valid host id.
	bad := apitest.ClientCert(t, h.ClientCA, "host a/../")
	_, err := apitest.Client(t, h.API, &bad, "").Medium(ctx, roamsign.MediumRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("certificate without a valid host id: %v", err)
	}
	// A wrong API key.
	_, err = apitest.Client(t, h.API, nil, "rsk_not-a-key-but-long-enough-to-try-it").Medium(ctx, roamsign.MediumRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("wrong API key: %v", err)
	}
	// A host key on the admin listener.
	err = apitest.Client(t, h.Admin, nil, h.HostKeyB).Disable(ctx, roamsign.DisableRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("host key on the admin handler: %v", err)
	}
	// The certificate for host A works.
	if _, err := apitest.Client(t, h.API, &h.CertA, "").Medium(ctx, roamsign.MediumRequest{User: u.ID}); err != nil {
		t.Fatalf("host A certificate: %v", err)
	}
}

func isKind(err error, k roamsign.Kind) bool {
	return err != nil && roamsign.KindOf(err) == k
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

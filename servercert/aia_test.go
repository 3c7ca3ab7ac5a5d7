package servercert_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// aiaLeaf issues a server certificate whose caIssuers address is urls.
func aiaLeaf(t *testing.T, p *testPKI, urls ...string) *x509.Certificate {
	t.Helper()
	k, _ := servercert.GenerateKey(servercert.P256)
	c, err := p.inter.Issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "a.agency.gov.my"}, DNSNames: []string{"a.agency.gov.my"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IssuingCertificateURL: urls,
	}, k.Public())
	require.NoError(t, err)
	return c
}

func TestFetchIssuer(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	srv := testpki.NewCRLServer()
	t.Cleanup(srv.Close)
	srv.Set("/inter.crt", p.inter.Cert.Raw)
	srv.Set("/inter.pem", testpki.PEM(p.inter.Cert))
	srv.Set("/wrong.crt", other.inter.Cert.Raw)
	srv.Set("/junk.crt", []byte("<html>not found</html>"))
	srv.Handle("/huge.crt", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("A"), servercert.MaxInputSize+10))
	}))
	ctx := context.Background()

	for _, path := range []string{"/inter.crt", "/inter.pem"} {
		leaf := aiaLeaf(t, p, srv.URLFor(path))
		got, from, err := servercert.FetchIssuer(ctx, nil, leaf)
		if err != nil || !bytes.Equal(got.Raw, p.inter.Cert.Raw) || from != srv.URLFor(path) {
			t.Fatalf("%s: %v", path, err)
		}
	}
	// The first address fails, the second works.
	leaf := aiaLeaf(t, p, srv.URLFor("/missing"), srv.URLFor("/inter.crt"))
	if _, _, err := servercert.FetchIssuer(ctx, nil, leaf); err != nil {
		t.Fatal(err)
	}
	for _, urls := range [][]string{
		{srv.URLFor("/wrong.crt")},
		{srv.URLFor("/junk.crt")},
		{srv.URLFor("/huge.crt")},
		{srv.URLFor("/missing")},
		{"ldap://ca.test/cn=issuer"},
		{"file:///etc/passwd"},
	} {
		if _, _, err := servercert.FetchIssuer(ctx, nil, aiaLeaf(t, p, urls...)); !errors.Is(err, roamsign.ErrUnavailable) {
			t.Errorf("%v: %v, want ErrUnavailable", urls, err)
		}
	}
	if _, _, err := servercert.FetchIssuer(ctx, nil, aiaLeaf(t, p)); !errors.Is(err, roamsign.ErrNotFound) {
		t.Errorf("no AIA: %v", err)
	}

	// The bundle check then completes with the fetched intermediate.
	leaf = aiaLeaf(t, p, srv.URLFor("/inter.crt"))
	req := servercert.BundleRequest{Certificate: servercert.Input{Data: testpki.PEM(leaf)}, Roots: p.roots}
	rep, err := servercert.CheckBundle(req)
	if err != nil || rep.Complete || rep.MissingIssuer() == nil {
		t.Fatalf("before fetch: %v %+v", err, rep)
	}
	issuer, _, err := servercert.FetchIssuer(ctx, nil, rep.MissingIssuer())
	require.NoError(t, err)
	req.Chain = append(req.Chain, servercert.Input{Data: issuer.Raw})
	if rep, err = servercert.CheckBundle(req); err != nil || !rep.Complete || rep.MissingIssuer() != nil {
		t.Fatalf("after fetch: %v %+v", err, rep)
	}
}

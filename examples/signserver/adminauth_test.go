package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// TestAdminClientCertificates: an administrator authenticates to the
// admin API with a client certificate listed in -admin-certs; a host's
// certificate from the same CA does not open it, and -admin-certs without
// -client-ca or with a malformed entry is refused.
func TestAdminClientCertificates(t *testing.T) {
	clientCA, err := testpki.NewRoot(testpki.Options{Name: "Agency Client CA"})
	require.NoError(t, err)
	cert := func(cn string) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		leaf, err := clientCA.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, key.Public())
		require.NoError(t, err)
		return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	}
	admin, host := cert("ops"), cert("ifmis")
	d := sha256.Sum256(admin.Leaf.Raw)
	listed := "ops=sha256:" + hex.EncodeToString(d[:])

	ps := startProdServerIn(t, t.TempDir(), "-client-ca", writeTemp(t, "client-ca.pem", testpki.PEM(clientCA.Cert)), "-admin-certs", listed)
	client := func(c tls.Certificate) *httpapi.Client {
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: ps.caPool, Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}}}
		cl, err := httpapi.NewClient(ps.base, httpapi.ClientOptions{HTTPClient: hc})
		require.NoError(t, err)
		return cl
	}
	req := roamsign.EnrolRequest{User: "900101145678", Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis"}, Algorithm: roamsign.ECP256}
	_, err = client(host).Enrol(context.Background(), req)
	require.ErrorIs(t, err, roamsign.ErrUnauthenticated, "a host's certificate opened the admin API")
	resp, err := client(admin).Enrol(context.Background(), req)
	require.NoError(t, err)
	assert.NotEmpty(t, resp.CSR)

	_, err = newAdminAuth(Config{AdminCerts: listed}, &httpapi.APIKeys{})
	require.ErrorContains(t, err, "needs -client-ca")
	_, err = newAdminAuth(Config{AdminCerts: "ops=" + hex.EncodeToString(d[:]), ClientCA: "ca.pem"}, &httpapi.APIKeys{})
	require.ErrorContains(t, err, "want name=sha256:HEX")
}

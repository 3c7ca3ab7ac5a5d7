package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
)

// agencyPKI is an agency's CA hierarchy (root and issuing CA) and a
// second, unrelated one.
type agencyPKI struct {
	root, issuing, stranger *testpki.CA
}

func newAgencyPKI(t *testing.T) agencyPKI {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{Name: "Agency Root CA"})
	require.NoError(t, err)
	issuing, err := root.NewIntermediate(testpki.Options{Name: "Agency Roaming CA"})
	require.NoError(t, err)
	other, err := testpki.NewRoot(testpki.Options{Name: "Agency Root CA"}) // same name, other key
	require.NoError(t, err)
	stranger, err := other.NewIntermediate(testpki.Options{Name: "Agency Roaming CA"})
	require.NoError(t, err)
	return agencyPKI{root: root, issuing: issuing, stranger: stranger}
}

func ders(cs ...*x509.Certificate) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.Raw
	}
	return out
}

// auditEvents returns the audit records of ev.
func auditEvents(t *testing.T, d *apitest.MemDeployment, ev roamsign.AuditEvent) []roamsign.AuditRecord {
	t.Helper()
	var out []roamsign.AuditRecord
	require.NoError(t, d.Store.ScanAudit(context.Background(), 1, func(a *roamsign.AuditRecord) error {
		if a.Event == ev {
			out = append(out, *a)
		}
		return nil
	}))
	return out
}

// TestImportChainChecks: with configured user anchors, ImportChain
// stores a chain only when the leaf certifies the user's key, names the
// user and verifies to an anchor; each refusal changes nothing and is
// audited with the administrator.
func TestImportChainChecks(t *testing.T) {
	pki := newAgencyPKI(t)
	d := apitest.NewMemDeployment(t, service.Config{UserAnchors: []*x509.Certificate{pki.root.Cert}})
	ctx := roamsign.WithHost(context.Background(), "ops")
	user, other := apitest.NewUserID(), apitest.NewUserID()
	enrolled, err := d.Service.Enrol(ctx, roamsign.EnrolRequest{User: user, Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis"}, Algorithm: roamsign.ECP256})
	require.NoError(t, err)
	csr, err := x509.ParseCertificateRequest(enrolled.CSR)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	want, err := asn1.Marshal(roamsign.RoamingSubject("ALIYA BINTI AHMAD", user).ToRDNSequence())
	require.NoError(t, err)
	assert.Equal(t, want, csr.RawSubject, "the CSR's subject is the roaming subject")

	strangerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	issue := func(ca *testpki.CA, id roamsign.UserID, pub any) *x509.Certificate {
		c, err := ca.IssueLeaf("ALIYA BINTI AHMAD", string(id), pub, testpki.LeafOptions{})
		require.NoError(t, err)
		return c
	}
	good := issue(pki.issuing, user, csr.PublicKey)
	for _, tc := range []struct {
		name  string
		user  roamsign.UserID
		chain [][]byte
		kind  roamsign.Kind
	}{
		{"wrong key", user, ders(issue(pki.issuing, user, strangerKey.Public()), pki.issuing.Cert), roamsign.ErrInvalidInput},
		{"subject names another user", user, ders(issue(pki.issuing, other, csr.PublicKey), pki.issuing.Cert), roamsign.ErrInvalidInput},
		{"chain to another root", user, ders(issue(pki.stranger, user, csr.PublicKey), pki.stranger.Cert, pki.stranger.Parent.Cert), roamsign.ErrInvalidInput},
		{"issuing CA missing", user, ders(good), roamsign.ErrInvalidInput},
		{"user not found", other, ders(good, pki.issuing.Cert), roamsign.ErrNotFound},
		{"not a certificate", user, [][]byte{[]byte("not DER")}, roamsign.ErrInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.Service.ImportChain(ctx, roamsign.ImportChainRequest{User: tc.user, Chain: tc.chain})
			require.ErrorIs(t, err, tc.kind)
			u, err := d.Store.GetUser(ctx, user)
			require.NoError(t, err)
			assert.Empty(t, u.Chain, "a refused chain was stored")
		})
	}
	refusals := auditEvents(t, d, roamsign.AuditChainImport)
	require.Len(t, refusals, 4, "each refusal for an existing user with a parsable chain is audited")
	for _, r := range refusals {
		assert.Equal(t, roamsign.ErrInvalidInput.Code(), r.Outcome)
		assert.Contains(t, r.Detail, "by=ops")
	}

	require.NoError(t, d.Service.ImportChain(ctx, roamsign.ImportChainRequest{User: user, Chain: ders(good, pki.issuing.Cert)}))
	u, err := d.Store.GetUser(ctx, user)
	require.NoError(t, err)
	assert.Equal(t, ders(good, pki.issuing.Cert, pki.root.Cert), u.Chain, "the stored chain is the verified path, leaf to anchor")
	all := auditEvents(t, d, roamsign.AuditChainImport)
	last := all[len(all)-1]
	assert.Equal(t, "ok", last.Outcome)
	assert.Equal(t, good.SerialNumber.Text(16), last.CertSerial)
	assert.Contains(t, last.Detail, "by=ops")
}

// TestImportChainWithoutAnchors: without configured anchors the chain
// must still be in order, leaf first.
func TestImportChainWithoutAnchors(t *testing.T) {
	pki := newAgencyPKI(t)
	d := apitest.NewMemDeployment(t, service.Config{})
	ctx := context.Background()
	user := apitest.NewUserID()
	enrolled, err := d.Service.Enrol(ctx, roamsign.EnrolRequest{User: user, Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis"}, Algorithm: roamsign.ECP256})
	require.NoError(t, err)
	csr, err := x509.ParseCertificateRequest(enrolled.CSR)
	require.NoError(t, err)
	leaf, err := pki.issuing.IssueLeaf("ALIYA BINTI AHMAD", string(user), csr.PublicKey, testpki.LeafOptions{})
	require.NoError(t, err)
	err = d.Service.ImportChain(ctx, roamsign.ImportChainRequest{User: user, Chain: ders(leaf, pki.root.Cert)})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	require.NoError(t, d.Service.ImportChain(ctx, roamsign.ImportChainRequest{User: user, Chain: ders(leaf, pki.issuing.Cert, pki.root.Cert)}))
}

// TestRegisterDeviceAudited: a new push device is audited once, by a
// digest of its id; registering it again records nothing.
func TestRegisterDeviceAudited(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	ctx := roamsign.WithHost(context.Background(), "ops")
	user := apitest.NewUserID()
	_, err := d.Service.Enrol(ctx, roamsign.EnrolRequest{User: user, Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis"}, Algorithm: roamsign.ECP256})
	require.NoError(t, err)
	const device = "fcm:device-token-of-aliya"
	for range 2 {
		require.NoError(t, d.Service.RegisterDevice(ctx, roamsign.RegisterDeviceRequest{User: user, DeviceID: device}))
	}
	recs := auditEvents(t, d, roamsign.AuditDeviceAdded)
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0].Detail, "by=ops")
	assert.NotContains(t, recs[0].Detail, device)
	err = d.Service.RegisterDevice(ctx, roamsign.RegisterDeviceRequest{User: apitest.NewUserID(), DeviceID: device})
	require.ErrorIs(t, err, roamsign.ErrNotFound)
}

package apitest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/testpki"
)

// Host ids the suite uses. Env.API must authenticate as these.
const (
	HostA roamsign.HostID = "host-a"
	HostB roamsign.HostID = "host-b"
)

// Env is one deployment under test.
type Env struct {
	// API returns the API as the given host sees it; "" must give an
	// unauthenticated caller.
	API func(h roamsign.HostID) roamsign.API
	// Admin is the administration interface.
	Admin roamsign.Admin
	// OTP returns the OTP delivered for the challenge (read from the
	// outbox or the real mail server).
	OTP func(t testing.TB, user roamsign.UserID, ch *roamsign.OTPResponse) string
	// CA issues the users' certificates.
	CA *testpki.CA
	// Algorithm for enrolment; default EC-P256 (fast).
	Algorithm roamsign.KeyAlgorithm
	// MaxPINFailures configured in the service; default 5.
	MaxPINFailures int
	// CheckSignature, when set, verifies each output of every form; raw
	// outputs are also always checked with [bench.CheckRaw], and a form
	// other than raw needs it.
	CheckSignature func(t testing.TB, form roamsign.OutputForm, chain [][]byte, h roamsign.Hash, sig []byte)
	// Forms lists the output forms the deployment offers; default raw.
	Forms []roamsign.OutputForm
	// Audit, when set, scans the audit log; the suite checks the chain.
	Audit func(ctx context.Context, fn func(*roamsign.AuditRecord) error) error
	// Logs, when set, returns everything logged so far; the suite checks
	// that no PIN or OTP appears in it.
	Logs func() string
}

var userSeq atomic.Int64

// NewUserID returns a fresh valid MyKad number.
func NewUserID() roamsign.UserID {
	n := userSeq.Add(1)
	var r [1]byte
	_, _ = rand.Read(r[:])
	id := fmt.Sprintf("%02d%02d%02d14%04d", 80+int(r[0])%19, 1+int(n/28)%12, 1+int(n%28), int(n%10000))
	return roamsign.UserID(id)
}

// PIN is a PIN that passes the rules for every user of the suite.
const PIN roamsign.Secret = "Tr0ub4dor&3"

// User is an enrolled user.
type User struct {
	ID    roamsign.UserID
	Chain [][]byte
}

// Enrol enrols a new user for hosts, issues the certificate with the
// test CA, imports the chain and sets PIN.
func (e *Env) Enrol(t testing.TB, hosts ...roamsign.HostID) User {
	t.Helper()
	ctx := context.Background()
	id := NewUserID()
	alg := e.Algorithm
	if alg == "" {
		alg = roamsign.ECP256
	}
	res, err := e.Admin.Enrol(ctx, roamsign.EnrolRequest{
		User: id, Name: "PENGUJI " + string(id[8:]), Hosts: hosts, Email: "u" + string(id) + "@example.test",
		Algorithm: alg, Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP},
	})
	require.NoError(t, err, "Enrol")
	csr, err := x509.ParseCertificateRequest(res.CSR)
	require.NoError(t, err, "CSR")
	require.NoError(t, csr.CheckSignature(), "CSR signature")
	checkRoamingSubject(t, csr, id)
	leaf, err := e.CA.IssueLeaf(csr.Subject.CommonName, string(id), csr.PublicKey, testpki.LeafOptions{})
	require.NoError(t, err, "IssueLeaf")
	chain := [][]byte{leaf.Raw}
	for _, c := range e.CA.Chain() {
		chain = append(chain, c.Raw)
	}
	require.NoError(t, e.Admin.ImportChain(ctx, roamsign.ImportChainRequest{User: id, Chain: chain}), "ImportChain")
	require.NoError(t, e.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: id, New: PIN}), "SetPIN")
	return User{ID: id, Chain: chain}
}

func checkRoamingSubject(t testing.TB, csr *x509.CertificateRequest, id roamsign.UserID) {
	t.Helper()
	got := map[string]string{}
	for _, n := range csr.Subject.Names {
		got[n.Type.String()], _ = n.Value.(string)
	}
	for k, v := range map[string]string{"2.5.4.6": "MY", "2.5.4.4": string(id), "2.5.4.5": string(id)} {
		require.Equal(t, v, got[k], "CSR subject attribute %s (subject %v)", k, csr.Subject)
	}
	require.NotEmpty(t, csr.Subject.CommonName, "CSR subject CN")
}

// Hashes returns n distinct SHA-256 hashes.
func Hashes(n int) []roamsign.Hash { return bench.RandomHashes(n) }

// Challenge requests an OTP as host for hashes and returns the challenge
// and the delivered OTP.
func (e *Env) Challenge(t testing.TB, host roamsign.HostID, user roamsign.UserID, hashes []roamsign.Hash) (*roamsign.OTPResponse, roamsign.Secret) {
	t.Helper()
	ch, err := e.API(host).RequestOTP(context.Background(), roamsign.OTPRequest{User: user, Hashes: hashes, DataHeader: "DOC-1/" + string(user)})
	require.NoError(t, err, "RequestOTP")
	return ch, roamsign.Secret(e.OTP(t, user, ch))
}

func signReq(ch *roamsign.OTPResponse, otp, pin roamsign.Secret, hashes []roamsign.Hash) roamsign.SignRequest {
	return roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, OTP: otp, PIN: pin, Hashes: hashes, RequestID: roamsign.NewRequestID()}
}

// wantKind requires err to be of kind k; what names the call.
func wantKind(t testing.TB, err error, k roamsign.Kind, what string) {
	t.Helper()
	require.Error(t, err, "%s: succeeded, want %s", what, k.Code())
	require.ErrorIs(t, err, k, "%s: kind %s, want %s", what, roamsign.KindOf(err).Code(), k.Code())
}

// checkSigs requires res to sign hashes with chain's key in form.
func (e *Env) checkSigs(t testing.TB, form roamsign.OutputForm, chain [][]byte, hashes []roamsign.Hash, res *roamsign.SignResponse) {
	t.Helper()
	require.Len(t, res.Items, len(hashes), "items for %d hashes", len(hashes))
	require.NotEmpty(t, res.Chain, "response chain")
	require.Equal(t, chain[0], res.Chain[0], "response chain does not start with the user's certificate")
	for i, it := range res.Items {
		require.True(t, it.Index == i && it.Status == roamsign.ItemSigned && len(it.Signature) > 0, "item %d: %+v", i, it)
	}
	if form == roamsign.FormRaw {
		require.NoError(t, bench.CheckRaw(res, hashes))
	}
	if e.CheckSignature == nil {
		require.Equal(t, roamsign.FormRaw, form, "no check for form %s", form)
		return
	}
	for i, it := range res.Items {
		e.CheckSignature(t, form, chain, hashes[i], it.Signature)
	}
}

// CheckRaw requires sig to be a valid raw signature over h by the leaf of
// chain ([bench.CheckRawSignature]).
func CheckRaw(t testing.TB, chain [][]byte, h roamsign.Hash, sig []byte) {
	t.Helper()
	require.NoError(t, bench.CheckRawSignature(chain, h, sig), "raw signature")
}

// Package apitest is the conformance suite of [roamsign.API] and
// [roamsign.Admin]: one set of tests, written against the interfaces only,
// run against the in-process service and against every transport's client.
// It also holds in-memory test doubles for runs without the real parts.
//
// It is test support: production code never imports it.
package apitest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/leakcheck"
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
	// CheckSignature verifies one output of form; nil checks raw only.
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
	if err != nil {
		t.Fatalf("Enrol: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(res.CSR)
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	checkRoamingSubject(t, csr, id)
	leaf, err := e.CA.IssueLeaf(csr.Subject.CommonName, string(id), csr.PublicKey, testpki.LeafOptions{})
	if err != nil {
		t.Fatalf("IssueLeaf: %v", err)
	}
	chain := [][]byte{leaf.Raw}
	for _, c := range e.CA.Chain() {
		chain = append(chain, c.Raw)
	}
	if err := e.Admin.ImportChain(ctx, roamsign.ImportChainRequest{User: id, Chain: chain}); err != nil {
		t.Fatalf("ImportChain: %v", err)
	}
	if err := e.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: id, New: PIN}); err != nil {
		t.Fatalf("SetPIN: %v", err)
	}
	return User{ID: id, Chain: chain}
}

func checkRoamingSubject(t testing.TB, csr *x509.CertificateRequest, id roamsign.UserID) {
	t.Helper()
	got := map[string]string{}
	for _, n := range csr.Subject.Names {
		got[n.Type.String()], _ = n.Value.(string)
	}
	want := map[string]string{"2.5.4.6": "MY", "2.5.4.4": string(id), "2.5.4.5": string(id)}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("CSR subject attribute %s = %q, want %q (subject %v)", k, got[k], v, csr.Subject)
		}
	}
	if csr.Subject.CommonName == "" {
		t.Fatalf("CSR subject has no CN")
	}
}

// Hashes returns n distinct SHA-256 hashes.
func Hashes(n int) []roamsign.Hash {
	hs := make([]roamsign.Hash, n)
	for i := range hs {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		hs[i] = roamsign.NewHash(roamsign.SHA256, b)
	}
	return hs
}

// Challenge requests an OTP as host for hashes and returns the challenge
// and the delivered OTP.
func (e *Env) Challenge(t testing.TB, host roamsign.HostID, user roamsign.UserID, hashes []roamsign.Hash) (*roamsign.OTPResponse, roamsign.Secret) {
	t.Helper()
	ch, err := e.API(host).RequestOTP(context.Background(), roamsign.OTPRequest{User: user, Hashes: hashes, DataHeader: "DOC-1/" + string(user)})
	if err != nil {
		t.Fatalf("RequestOTP: %v", err)
	}
	return ch, roamsign.Secret(e.OTP(t, user, ch))
}

// RequestID returns a fresh request id of letters only.
func RequestID() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return "req-" + string(b)
}

func signReq(ch *roamsign.OTPResponse, otp, pin roamsign.Secret, hashes []roamsign.Hash) roamsign.SignRequest {
	return roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, OTP: otp, PIN: pin, Hashes: hashes, RequestID: RequestID()}
}

func wantKind(t testing.TB, err error, k roamsign.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %v", what, k.Code())
	}
	if !errors.Is(err, k) {
		t.Fatalf("%s: got %v (kind %s), want kind %s", what, err, roamsign.KindOf(err).Code(), k.Code())
	}
}

func (e *Env) checkSigs(t testing.TB, form roamsign.OutputForm, chain [][]byte, hashes []roamsign.Hash, res *roamsign.SignResponse) {
	t.Helper()
	if len(res.Items) != len(hashes) {
		t.Fatalf("%d items for %d hashes", len(res.Items), len(hashes))
	}
	if len(res.Chain) == 0 || string(res.Chain[0]) != string(chain[0]) {
		t.Fatalf("response chain does not start with the user's certificate")
	}
	for i, it := range res.Items {
		if it.Index != i || it.Status != roamsign.ItemSigned || len(it.Signature) == 0 {
			t.Fatalf("item %d: %+v", i, it)
		}
		if e.CheckSignature != nil {
			e.CheckSignature(t, form, chain, hashes[i], it.Signature)
		} else if form == roamsign.FormRaw {
			CheckRaw(t, chain, hashes[i], it.Signature)
		}
	}
}

// CheckRaw verifies a raw signature (PKCS#1 v1.5 or ECDSA) with the leaf
// certificate.
func CheckRaw(t testing.TB, chain [][]byte, h roamsign.Hash, sig []byte) {
	t.Helper()
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(k, h.Algorithm.CryptoHash(), h.Value, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, h.Value, sig) {
			err = errors.New("ECDSA signature invalid")
		}
	default:
		err = fmt.Errorf("key type %T", k)
	}
	if err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
}

// Run runs the conformance suite against the deployment newEnv builds.
// newEnv is called once; the subtests share it with fresh users each.
func Run(t *testing.T, e *Env) {
	if e.MaxPINFailures == 0 {
		e.MaxPINFailures = 5
	}
	ctx := context.Background()
	secrets := &secretLog{}

	t.Run("FullFlow", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		api := e.API(HostA)
		m, err := api.Medium(ctx, roamsign.MediumRequest{User: u.ID})
		if err != nil {
			t.Fatalf("Medium: %v", err)
		}
		if m.Use != roamsign.MediumRoamingOTP || m.Certificate == nil || !strings.Contains(m.Certificate.Subject, "MY") {
			t.Fatalf("Medium: %+v", m)
		}
		hs := Hashes(5)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		secrets.add(otp)
		if ch.ChallengeID == "" || len(ch.Nonce) < 16 || ch.VerificationCode == "" || !ch.ExpiresAt.After(time.Now()) || ch.SentTo == "" {
			t.Fatalf("OTP response incomplete: %+v", ch)
		}
		forms := e.Forms
		if len(forms) == 0 {
			forms = []roamsign.OutputForm{roamsign.FormRaw}
		}
		req := signReq(ch, otp, PIN, hs)
		req.Form = forms[0]
		res, err := api.Sign(ctx, req)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		e.checkSigs(t, forms[0], u.Chain, hs, res)
		st, err := api.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if st.State != roamsign.TxSigned || st.User != u.ID || len(st.Items) != len(hs) {
			t.Fatalf("Status: %+v", st)
		}
		for _, f := range forms[1:] {
			ch, otp := e.Challenge(t, HostA, u.ID, hs)
			req := signReq(ch, otp, PIN, hs)
			req.Form = f
			res, err := api.Sign(ctx, req)
			if err != nil {
				t.Fatalf("Sign %s: %v", f, err)
			}
			if res.Form != f {
				t.Fatalf("form %s, want %s", res.Form, f)
			}
			e.checkSigs(t, f, u.Chain, hs, res)
		}
	})

	t.Run("Unauthenticated", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		_, err := e.API("").RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: Hashes(1)})
		wantKind(t, err, roamsign.ErrUnauthenticated, "RequestOTP without host")
		_, err = e.API("").Medium(ctx, roamsign.MediumRequest{User: u.ID})
		wantKind(t, err, roamsign.ErrUnauthenticated, "Medium without host")
	})

	t.Run("SignWithoutChallenge", func(t *testing.T) {
		e.Enrol(t, HostA)
		hs := Hashes(1)
		nonce := make([]byte, 16)
		_, err := e.API(HostA).Sign(ctx, roamsign.SignRequest{ChallengeID: "bm8tc3VjaC1jaGFsbGVuZ2U", Nonce: nonce, PIN: PIN, OTP: "123456", Hashes: hs, RequestID: RequestID()})
		wantKind(t, err, roamsign.ErrNotFound, "Sign without challenge")
	})

	t.Run("AnotherUsersChallenge", func(t *testing.T) {
		u1 := e.Enrol(t, HostA)
		u2 := e.Enrol(t, HostA)
		hs := Hashes(2)
		ch1, otp1 := e.Challenge(t, HostA, u1.ID, hs)
		ch2, _ := e.Challenge(t, HostA, u2.ID, hs)
		// u1's OTP and PIN against u2's challenge (same hashes).
		req := signReq(ch2, otp1, PIN, hs)
		_, err := e.API(HostA).Sign(ctx, req)
		wantKind(t, err, roamsign.ErrAuthorization, "u1's OTP on u2's challenge")
		// u1's challenge id with u2's nonce.
		req = signReq(ch1, otp1, PIN, hs)
		req.Nonce = ch2.Nonce
		_, err = e.API(HostA).Sign(ctx, req)
		wantKind(t, err, roamsign.ErrAuthorization, "nonce of another challenge")
		// u1's own challenge still works.
		res, err := e.API(HostA).Sign(ctx, signReq(ch1, otp1, PIN, hs))
		if err != nil {
			t.Fatalf("own challenge after failures: %v", err)
		}
		e.checkSigs(t, roamsign.FormRaw, u1.Chain, hs, res)
	})

	t.Run("AnotherHostsCredentials", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(1)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		_, err := e.API(HostB).Sign(ctx, signReq(ch, otp, PIN, hs))
		wantKind(t, err, roamsign.ErrNotFound, "host B signing host A's challenge")
		_, err = e.API(HostB).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		wantKind(t, err, roamsign.ErrNotFound, "host B requesting OTP for host A's user")
		_, err = e.API(HostB).Medium(ctx, roamsign.MediumRequest{User: u.ID})
		wantKind(t, err, roamsign.ErrNotFound, "host B Medium for host A's user")
		res, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs))
		if err != nil {
			t.Fatalf("host A after host B's attempt: %v", err)
		}
		_, err = e.API(HostB).Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
		wantKind(t, err, roamsign.ErrNotFound, "host B Status of host A's transaction")
	})

	t.Run("HashesNotInChallenge", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(3)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		for name, other := range map[string][]roamsign.Hash{
			"other":     Hashes(3),
			"subset":    hs[:2],
			"reordered": {hs[1], hs[0], hs[2]},
		} {
			_, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, other))
			wantKind(t, err, roamsign.ErrAuthorization, "hashes "+name)
		}
		// Three failed tries used the challenge up.
		_, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs))
		wantKind(t, err, roamsign.ErrExpired, "challenge after 3 failed tries")
	})

	t.Run("WrongPINLocks", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(1)
		var spare *roamsign.OTPResponse
		var spareOTP roamsign.Secret
		for i := 1; i <= e.MaxPINFailures; i++ {
			// A new OTP every time: it must not reset the count.
			ch, otp := e.Challenge(t, HostA, u.ID, hs)
			if i == 1 {
				spare, spareOTP = e.Challenge(t, HostA, u.ID, hs)
				secrets.add(spareOTP)
			}
			wrong := "Wr0ng-PIN-" + roamsign.Secret(fmt.Sprint(i))
			secrets.add(wrong)
			_, err := e.API(HostA).Sign(ctx, signReq(ch, otp, wrong, hs))
			if i < e.MaxPINFailures {
				wantKind(t, err, roamsign.ErrAuthorization, fmt.Sprintf("wrong PIN %d", i))
			} else {
				wantKind(t, err, roamsign.ErrLocked, "wrong PIN at the limit")
			}
		}
		_, err := e.API(HostA).Sign(ctx, signReq(spare, spareOTP, PIN, hs))
		wantKind(t, err, roamsign.ErrLocked, "correct PIN after lock")
		_, err = e.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		wantKind(t, err, roamsign.ErrLocked, "RequestOTP after lock")
		secrets.add("N3w-Secret!")
		err = e.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: u.ID, Old: PIN, New: "N3w-Secret!"})
		wantKind(t, err, roamsign.ErrLocked, "SetPIN while locked")
		if err := e.Admin.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: PIN}); err != nil {
			t.Fatalf("ResetPIN: %v", err)
		}
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		if _, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs)); err != nil {
			t.Fatalf("Sign after reset: %v", err)
		}
	})

	t.Run("FailuresLookAlike", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(1)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		wrongOTP := roamsign.Secret(fmt.Sprintf("%06d", (atoi(otp.Reveal())+1)%1000000))
		_, errOTP := e.API(HostA).Sign(ctx, signReq(ch, wrongOTP, PIN, hs))
		_, errPIN := e.API(HostA).Sign(ctx, signReq(ch, otp, "Wr0ng-PIN-x", hs))
		_, errHash := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, Hashes(1)))
		wantKind(t, errOTP, roamsign.ErrAuthorization, "wrong OTP")
		wantKind(t, errPIN, roamsign.ErrAuthorization, "wrong PIN")
		wantKind(t, errHash, roamsign.ErrAuthorization, "wrong hashes")
		if errOTP.Error() != errPIN.Error() || errPIN.Error() != errHash.Error() {
			t.Fatalf("failures differ:\n otp:  %v\n pin:  %v\n hash: %v", errOTP, errPIN, errHash)
		}
		secrets.add(otp, wrongOTP, "Wr0ng-PIN-x")
	})

	t.Run("ReplayRequestID", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(4)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		req := signReq(ch, otp, PIN, hs)
		first, err := e.API(HostA).Sign(ctx, req)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		again, err := e.API(HostA).Sign(ctx, req)
		if err != nil {
			t.Fatalf("replayed Sign: %v", err)
		}
		if again.TransactionID != first.TransactionID || string(again.Items[0].Signature) != string(first.Items[0].Signature) {
			t.Fatalf("replay returned another result")
		}
		other := req
		other.Hashes = Hashes(4)
		_, err = e.API(HostA).Sign(ctx, other)
		wantKind(t, err, roamsign.ErrConflict, "same request id, other hashes")
		fresh := req
		fresh.RequestID = RequestID()
		_, err = e.API(HostA).Sign(ctx, fresh)
		wantKind(t, err, roamsign.ErrUsed, "used challenge, new request id")
	})

	t.Run("ParallelSameOTP", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(2)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		const n = 100
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			ok   []*roamsign.SignResponse
			errs = map[string]int{}
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok = append(ok, res)
					return
				}
				errs[roamsign.KindOf(err).Code()]++
			}()
		}
		wg.Wait()
		if len(ok) != 1 {
			t.Fatalf("%d of %d parallel Sign calls succeeded, want exactly 1 (errors %v)", len(ok), n, errs)
		}
		for k := range errs {
			if k != roamsign.ErrUsed.Code() {
				t.Fatalf("unexpected failure kinds %v", errs)
			}
		}
		e.checkSigs(t, roamsign.FormRaw, u.Chain, hs, ok[0])
	})

	t.Run("ParallelWrongPINs", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(1)
		const n = 10
		secrets.add("Wr0ng-PIN-p")
		reqs := make([]roamsign.SignRequest, n)
		for i := range reqs {
			ch, otp := e.Challenge(t, HostA, u.ID, hs)
			reqs[i] = signReq(ch, otp, "Wr0ng-PIN-p", hs)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.API(HostA).Sign(ctx, reqs[i])
			}()
		}
		wg.Wait()
		count := map[string]int{}
		for _, err := range errs {
			count[roamsign.KindOf(err).Code()]++
		}
		want := map[string]int{roamsign.ErrAuthorization.Code(): e.MaxPINFailures - 1, roamsign.ErrLocked.Code(): n - e.MaxPINFailures + 1}
		if count[roamsign.ErrAuthorization.Code()] != want[roamsign.ErrAuthorization.Code()] || count[roamsign.ErrLocked.Code()] != want[roamsign.ErrLocked.Code()] {
			t.Fatalf("%d parallel wrong PINs gave %v, want %v: more PINs were tried than the limit allows", n, count, want)
		}
		_, err := e.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		wantKind(t, err, roamsign.ErrLocked, "RequestOTP after parallel lock")
	})

	t.Run("ParallelSameRequestID", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(2)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		req := signReq(ch, otp, PIN, hs)
		const n = 20
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.API(HostA).Sign(ctx, req)
				errs[i] = err
				if err == nil {
					ids[i] = res.TransactionID
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("same request id gave two transactions %s and %s", ids[0], ids[i])
			}
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		api := e.API(HostA)
		_, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID})
		wantKind(t, err, roamsign.ErrInvalidInput, "RequestOTP without hashes")
		_, err = api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: []byte{1, 2}}}})
		wantKind(t, err, roamsign.ErrInvalidInput, "short digest")
		_, err = api.Status(ctx, roamsign.StatusRequest{TransactionID: "nope"})
		wantKind(t, err, roamsign.ErrNotFound, "unknown transaction")
		for _, p := range []roamsign.Secret{"12345", "111111", "123456789", "987654", roamsign.Secret(u.ID[:8]), "x" + roamsign.Secret(u.ID[2:9]), "aaaaaaaaaaaaaaaaa"} {
			err := e.Admin.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: p})
			wantKind(t, err, roamsign.ErrInvalidInput, "PIN rule")
		}
		err = e.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: u.ID, Old: "Wr0ng-PIN-x", New: "N3w-Secret!"})
		wantKind(t, err, roamsign.ErrAuthorization, "SetPIN with wrong old PIN")
		err = e.Admin.ImportChain(ctx, roamsign.ImportChainRequest{User: u.ID, Chain: [][]byte{e.CA.Cert.Raw}})
		wantKind(t, err, roamsign.ErrInvalidInput, "chain for another key")
	})

	t.Run("Disabled", func(t *testing.T) {
		u := e.Enrol(t, HostA)
		hs := Hashes(1)
		ch, otp := e.Challenge(t, HostA, u.ID, hs)
		if err := e.Admin.Disable(ctx, roamsign.DisableRequest{User: u.ID, Reason: "left the agency"}); err != nil {
			t.Fatalf("Disable: %v", err)
		}
		_, err := e.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs))
		wantKind(t, err, roamsign.ErrForbidden, "Sign when disabled")
		_, err = e.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		wantKind(t, err, roamsign.ErrForbidden, "RequestOTP when disabled")
	})

	t.Run("AuditChain", func(t *testing.T) {
		if e.Audit == nil {
			t.Skip("deployment exposes no audit log")
		}
		var prev []byte
		var n, signed int
		err := e.Audit(ctx, func(a *roamsign.AuditRecord) error {
			n++
			if prev != nil && string(a.PrevHash) != string(prev) {
				return fmt.Errorf("record %d does not chain to %d", a.Seq, a.Seq-1)
			}
			prev = a.Hash
			if a.Event == roamsign.AuditSigned {
				signed++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || signed == 0 {
			t.Fatalf("audit log has %d records, %d signed", n, signed)
		}
	})

	t.Run("NoSecretsInLogs", func(t *testing.T) {
		if e.Logs == nil {
			t.Skip("deployment exposes no logs")
		}
		logs := e.Logs()
		if len(logs) == 0 {
			t.Fatal("nothing was logged")
		}
		all := append(secrets.all(), PIN.Reveal())
		// The checker must see a leak in this very log: plant one.
		planted := logs + `{"level":"INFO","msg":"planted","otp":"` + all[0] + `"}` + "\n"
		if len(leakcheck.Find(planted, all...)) == 0 {
			t.Fatalf("the leak check missed a planted leak")
		}
		leakcheck.Check(t, "the logs", logs, all...)
	})
}

type secretLog struct {
	mu sync.Mutex
	s  []string
}

func (l *secretLog) add(ss ...roamsign.Secret) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range ss {
		l.s = append(l.s, s.Reveal())
	}
}

func (l *secretLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.s...)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

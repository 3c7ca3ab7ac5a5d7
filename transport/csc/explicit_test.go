package csc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/transport/csc"
)

func isEC(u apitest.User) bool {
	c, err := x509.ParseCertificate(u.Chain[0])
	if err != nil {
		return false
	}
	_, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok
}

func TestInfo(t *testing.T) {
	e := newEnv(t, "", nil)
	in, err := e.client("").Info(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "2.0.0.2", in.Specs)
	assert.Equal(t, "MY", in.Region)
	assert.Contains(t, in.AuthType, "external")
	assert.Contains(t, in.Methods, "signatures/signHash")
	assert.Contains(t, in.Methods, "credentials/getChallenge")
	assert.Contains(t, in.SignAlgorithms.Algos, csc.OIDRSAPSS)
	assert.Contains(t, in.Extensions, csc.ExtChallengeHashes)
}

func TestListAndInfo(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	l, err := e.a.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID)})
	require.NoError(t, err)
	require.Equal(t, []string{csc.CredentialID(u.ID)}, l.CredentialIDs)

	// Host B may not act for the user: no credentials, and the id is invalid.
	l, err = e.b.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID)})
	require.NoError(t, err)
	require.Empty(t, l.CredentialIDs)
	_, err = e.b.CredentialInfo(ctx, csc.CredentialsInfoRequest{CredentialID: csc.CredentialID(u.ID)})
	wantCSC(t, err, badRequest, "invalid_request")

	ci, err := e.a.CredentialInfo(ctx, csc.CredentialsInfoRequest{CredentialID: csc.CredentialID(u.ID)})
	require.NoError(t, err)
	assert.Equal(t, "enabled", ci.Key.Status)
	assert.Equal(t, 256, ci.Key.Len)
	assert.Equal(t, "1.2.840.10045.3.1.7", ci.Key.Curve)
	assert.Equal(t, "2", ci.SCAL)
	assert.Equal(t, 1000, ci.Multisign)
	assert.Equal(t, "explicit", ci.Auth.Mode)
	require.Len(t, ci.Cert.Certificates, 1)

	chain, err := e.a.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID), CredentialInfo: true})
	require.NoError(t, err)
	require.Len(t, chain.CredentialInfos, 1)
	assert.Equal(t, csc.CredentialID(u.ID), chain.CredentialInfos[0].CredentialID)

	_, err = e.a.CredentialInfo(ctx, csc.CredentialsInfoRequest{CredentialID: "RS-123"})
	wantCSC(t, err, badRequest, "invalid_request")
	_, err = e.client("rsk_not-a-key-at-all-but-long-enough-000").Info(ctx)
	require.NoError(t, err, "info needs no authorization")
	_, err = e.client("rsk_not-a-key-at-all-but-long-enough-000").ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID)})
	wantCSC(t, err, http.StatusUnauthorized, "invalid_token")
}

func TestCredentialInfoChainAndAuth(t *testing.T) {
	e := newEnv(t, roamsign.RSA2048, nil)
	u := e.suite.Enrol(t, apitest.HostA)
	var ci csc.CredentialInfo
	postJSON(t, e, e.keyA, "/csc/v2/credentials/info", map[string]any{"credentialID": csc.CredentialID(u.ID),
		"certificates": "chain", "certInfo": true, "authInfo": true}, http.StatusOK, &ci)
	require.Len(t, ci.Cert.Certificates, len(u.Chain))
	for i, c := range ci.Cert.Certificates {
		assert.Equal(t, base64.StdEncoding.EncodeToString(u.Chain[i]), c)
	}
	assert.Equal(t, 2048, ci.Key.Len)
	assert.Contains(t, ci.Key.Algo, csc.OIDSHA256RSA)
	assert.Regexp(t, `^\d{14}Z$`, ci.Cert.ValidFrom)
	assert.Contains(t, ci.Cert.SubjectDN, "CN=PENGUJI")
	assert.Equal(t, "PIN AND OTP", ci.Auth.Expression)
	require.Len(t, ci.Auth.Objects, 2)
	assert.Equal(t, "ChallengeResponse", ci.Auth.Objects[1].Type)
	postJSON(t, e, e.keyA, "/csc/v2/credentials/info", map[string]any{"credentialID": csc.CredentialID(u.ID),
		"certificates": "all"}, badRequest, nil)
}

// TestExplicitFlow: getChallenge with the hashes, authorize with PIN and
// OTP, then signHash in two calls; every signature verifies, and each
// hash is released once.
func TestExplicitFlow(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(3)
	sad := e.authorize(t, e.a, u, hs, nil)

	sigs, err := e.a.SignHash(ctx, signReq(u, sad, hs[:2]))
	require.NoError(t, err)
	for i, s := range sigs {
		apitest.CheckRaw(t, u.Chain, hs[i], s)
	}
	sigs, err = e.a.SignHash(ctx, signReq(u, sad, hs[2:]))
	require.NoError(t, err)
	apitest.CheckRaw(t, u.Chain, hs[2], sigs[0])

	// All three released: the SAD is spent.
	_, err = e.a.SignHash(ctx, signReq(u, sad, hs[:1]))
	wantCSC(t, err, badRequest, "invalid_request")
}

// TestAttacks are the conformance suite's attacks on the signature
// activation, through the CSC face.
func TestAttacks(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	v := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(2)

	t.Run("NoSAD", func(t *testing.T) {
		err := signErr(e.a.SignHash(ctx, signReq(u, "", hs)))
		assert.Contains(t, wantCSC(t, err, badRequest, "invalid_request").Description, "SAD")
	})
	t.Run("UnknownSAD", func(t *testing.T) {
		wantCSC(t, signErr(e.a.SignHash(ctx, signReq(u, "bm90LWEtc2Fk", hs))), badRequest, "invalid_request")
	})
	t.Run("AnotherCredentialsSAD", func(t *testing.T) {
		sad := e.authorize(t, e.a, v, hs, nil)
		wantCSC(t, signErr(e.a.SignHash(ctx, signReq(u, sad, hs))), badRequest, "invalid_request")
		// It stays good for its own credential.
		_, err := e.a.SignHash(ctx, signReq(v, sad, hs))
		require.NoError(t, err)
	})
	t.Run("AnotherHostsSAD", func(t *testing.T) {
		w := e.suite.Enrol(t, apitest.HostA, apitest.HostB)
		sad := e.authorize(t, e.a, w, hs, nil)
		wantCSC(t, signErr(e.b.SignHash(ctx, signReq(w, sad, hs))), badRequest, "invalid_request")
	})
	t.Run("HashesOutsideTheSAD", func(t *testing.T) {
		sad := e.authorize(t, e.a, u, hs, nil)
		other := apitest.Hashes(1)
		err := signErr(e.a.SignHash(ctx, signReq(u, sad, append([]roamsign.Hash{hs[0]}, other...))))
		assert.Contains(t, wantCSC(t, err, badRequest, "invalid_request").Description, "not authorized")
		// Nothing was released by the refused call.
		_, err = e.a.SignHash(ctx, signReq(u, sad, hs))
		require.NoError(t, err)
	})
	t.Run("BeyondNumSignatures", func(t *testing.T) {
		sad := e.authorize(t, e.a, u, hs, nil)
		err := signErr(e.a.SignHash(ctx, signReq(u, sad, []roamsign.Hash{hs[0], hs[1], hs[0]})))
		wantCSC(t, err, badRequest, "invalid_request")
		// numSignatures must match the hashes.
		_, err = e.a.Authorize(ctx, csc.AuthorizeRequest{CredentialID: csc.CredentialID(u.ID), NumSignatures: 3,
			Hashes: csc.Hashes(hs), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
			AuthData: []csc.AuthData{{ID: "PIN", Value: "x"}, {ID: "OTP", Value: "1"}}})
		wantCSC(t, err, badRequest, "invalid_request")
	})
	t.Run("AfterExpiry", func(t *testing.T) {
		sad := e.authorize(t, e.a, u, hs, nil)
		e.clock.Add(5*time.Minute + time.Second)
		err := signErr(e.a.SignHash(ctx, signReq(u, sad, hs)))
		assert.Equal(t, "SAD expired", wantCSC(t, err, badRequest, "invalid_request").Description)
	})
	t.Run("Replayed", func(t *testing.T) {
		sad := e.authorize(t, e.a, u, hs, nil)
		_, err := e.a.SignHash(ctx, signReq(u, sad, hs[:1]))
		require.NoError(t, err)
		wantCSC(t, signErr(e.a.SignHash(ctx, signReq(u, sad, hs[:1]))), badRequest, "invalid_request")
	})
	t.Run("StrictNoHashes", func(t *testing.T) {
		_, err := e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: csc.CredentialID(u.ID), AuthObjectID: "OTP"})
		wantCSC(t, err, badRequest, "invalid_request")
	})
	t.Run("AuthorizeWithoutChallenge", func(t *testing.T) {
		_, err := e.a.Authorize(ctx, csc.AuthorizeRequest{CredentialID: csc.CredentialID(u.ID), NumSignatures: 1,
			Hashes: csc.Hashes(apitest.Hashes(1)), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
			AuthData: []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: "123456"}}})
		wantCSC(t, err, badRequest, "invalid_request")
	})
	t.Run("OTPOfAnotherCredential", func(t *testing.T) {
		// The OTP of v's challenge does not authorise u's hashes.
		_, err := e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: csc.CredentialID(v.ID), AuthObjectID: "OTP",
			Hashes: csc.Hashes(hs), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1"})
		require.NoError(t, err)
		_, err = e.a.Authorize(ctx, csc.AuthorizeRequest{CredentialID: csc.CredentialID(u.ID), NumSignatures: 2,
			Hashes: csc.Hashes(hs), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
			AuthData: []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: e.d.Challenges.LastOTP(v.ID)}}})
		wantCSC(t, err, badRequest, "invalid_request")
	})
	t.Run("WrongOTPThenRight", func(t *testing.T) {
		vc, err := e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: csc.CredentialID(u.ID), AuthObjectID: "OTP",
			Hashes: csc.Hashes(hs), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1"})
		require.NoError(t, err)
		require.NotEmpty(t, vc)
		otp := e.d.Challenges.LastOTP(u.ID)
		wrong := otp[:5] + string('0'+(otp[5]-'0'+1)%10)
		req := csc.AuthorizeRequest{CredentialID: csc.CredentialID(u.ID), NumSignatures: 2, Hashes: csc.Hashes(hs),
			HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
			AuthData:         []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: wrong}}}
		_, err = e.a.Authorize(ctx, req)
		wantCSC(t, err, badRequest, "invalid_authentication_data")
		require.ErrorIs(t, err, roamsign.ErrAuthorization)
		req.AuthData[1].Value = otp
		res, err := e.a.Authorize(ctx, req)
		require.NoError(t, err)
		_, err = e.a.SignHash(ctx, signReq(u, res.SAD, hs))
		require.NoError(t, err)
	})
}

func signErr(_ [][]byte, err error) error { return err }

// TestConcurrentSignHash: 100 concurrent signHash calls with one SAD over
// 20 hashes, each asking for one of them: each hash is signed once.
func TestConcurrentSignHash(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(20)
	sad := e.authorize(t, e.a, u, hs, nil)
	var ok atomic.Int32
	got := make([]atomic.Int32, len(hs))
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := i % len(hs)
			sigs, err := e.a.SignHash(ctx, signReq(u, sad, hs[j:j+1]))
			if err != nil {
				if ce, isCSC := csc.IsCSCError(err); !isCSC || ce.Code != "invalid_request" {
					t.Errorf("call %d: %v", i, err)
				}
				return
			}
			apitest.CheckRaw(t, u.Chain, hs[j], sigs[0])
			ok.Add(1)
			got[j].Add(1)
		}()
	}
	wg.Wait()
	require.Equal(t, int32(len(hs)), ok.Load())
	for j := range got {
		require.Equal(t, int32(1), got[j].Load(), "hash %d", j)
	}
	// One approval, one transaction signed by the service.
	signed := 0
	require.NoError(t, e.d.Store.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditSigned && a.User == u.ID {
			signed++
			require.Equal(t, len(hs), a.Count)
			require.Contains(t, a.DataHeader, "CSC host-a: DOC-1")
		}
		return nil
	}))
	require.Equal(t, 1, signed)
}

func TestExtendTransaction(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(3)
	sad := e.authorize(t, e.a, u, hs, nil)
	_, err := e.a.SignHash(ctx, signReq(u, sad, hs[:1]))
	require.NoError(t, err)

	e.clock.Add(4 * time.Minute)
	ext, err := e.a.ExtendTransaction(ctx, csc.ExtendTransactionRequest{CredentialID: csc.CredentialID(u.ID), SAD: sad,
		Hashes: csc.Hashes(hs[1:2]), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1"})
	require.NoError(t, err)
	require.NotEqual(t, sad, ext.SAD)
	// The old SAD is gone; the new one outlives it.
	wantCSC(t, signErr(e.a.SignHash(ctx, signReq(u, sad, hs[1:2]))), badRequest, "invalid_request")
	e.clock.Add(2 * time.Minute)
	// Extending never adds a hash.
	_, err = e.a.ExtendTransaction(ctx, csc.ExtendTransactionRequest{CredentialID: csc.CredentialID(u.ID), SAD: ext.SAD,
		Hashes: csc.Hashes(apitest.Hashes(1)), HashAlgorithmOID: "2.16.840.1.101.3.4.2.1"})
	wantCSC(t, err, badRequest, "invalid_request")
	sigs, err := e.a.SignHash(ctx, signReq(u, ext.SAD, hs[1:]))
	require.NoError(t, err)
	apitest.CheckRaw(t, u.Chain, hs[2], sigs[1])
	// Spent: nothing to extend.
	_, err = e.a.ExtendTransaction(ctx, csc.ExtendTransactionRequest{CredentialID: csc.CredentialID(u.ID), SAD: ext.SAD})
	wantCSC(t, err, badRequest, "invalid_request")
}

// TestPSS: an RSA credential authorised for RSASSA-PSS (the roamsign
// signAlgo extension) signs PSS; PKCS#1 v1.5 on that SAD is refused.
func TestPSS(t *testing.T) {
	e := newEnv(t, roamsign.RSA2048, nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(2)
	params := csc.PSSParams(roamsign.SHA256)
	sad := e.authorize(t, e.a, u, hs, func(r *csc.AuthorizeRequest) { r.SignAlgo, r.SignAlgoParams = csc.OIDRSAPSS, params })
	wantCSC(t, signErr(e.a.SignHash(ctx, signReq(u, sad, hs))), badRequest, "invalid_request")
	req := signReq(u, sad, hs)
	req.SignAlgo, req.SignAlgoParams, req.HashAlgorithmOID = csc.OIDRSAPSS, params, ""
	sigs, err := e.a.SignHash(ctx, req)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(u.Chain[0])
	require.NoError(t, err)
	for i, s := range sigs {
		require.NoError(t, rsa.VerifyPSS(leaf.PublicKey.(*rsa.PublicKey), hs[i].Algorithm.CryptoHash(), hs[i].Value, s,
			&rsa.PSSOptions{SaltLength: 32, Hash: hs[i].Algorithm.CryptoHash()}))
	}
	// PKCS#1 v1.5 by default, under either OID form.
	hs = apitest.Hashes(1)
	sad = e.authorize(t, e.a, u, hs, nil)
	req = signReq(u, sad, hs)
	req.SignAlgo, req.HashAlgorithmOID = csc.OIDSHA256RSA, ""
	sigs, err = e.a.SignHash(ctx, req)
	require.NoError(t, err)
	apitest.CheckRaw(t, u.Chain, hs[0], sigs[0])
}

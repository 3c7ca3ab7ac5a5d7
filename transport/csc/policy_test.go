package csc_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/transport/csc"
)

func compatible(o *csc.Options) { o.Policy = csc.PolicyCompatible }

// b64 is the standard base64 of each hash, as CSC clients send them.
func b64(hs []roamsign.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h.Value)
	}
	return out
}

// lateAudit returns the audit records of the late-bound authorisations
// and signatures.
func lateAudit(t *testing.T, e *env) []roamsign.AuditRecord {
	t.Helper()
	var out []roamsign.AuditRecord
	require.NoError(t, e.d.Store.ScanAudit(context.Background(), 1, func(a *roamsign.AuditRecord) error {
		if a.Detail == service.DetailLateBound {
			out = append(out, *a)
		}
		return nil
	}))
	return out
}

// TestPolicyStrict: getChallenge (v1: sendOTP) without hashes is refused,
// and info says so.
func TestPolicyStrict(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	in, err := e.a.Info(ctx)
	require.NoError(t, err)
	require.Contains(t, in.Extensions, csc.ExtPolicyStrict)
	require.NotContains(t, in.Extensions, csc.ExtPolicyCompatible)

	_, err = e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: csc.CredentialID(u.ID), AuthObjectID: "OTP"})
	wantCSC(t, err, badRequest, "invalid_request")
	postJSON(t, e, e.keyA, "/csc/v1/credentials/sendOTP", map[string]any{"credentialID": csc.CredentialID(u.ID)}, badRequest, nil)
	require.Empty(t, e.d.Challenges.LastOTP(u.ID), "no OTP sent")
}

// TestPolicyCompatibleV2: an unmodified CSC v2 client asks for the OTP
// without hashes; authorize binds the hashes; the signatures verify and
// the audit records say the hashes were bound at authorize.
func TestPolicyCompatibleV2(t *testing.T) {
	e := newEnv(t, "", compatible)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	credID := csc.CredentialID(u.ID)
	in, err := e.a.Info(ctx)
	require.NoError(t, err)
	require.Contains(t, in.Extensions, csc.ExtPolicyCompatible)

	_, err = e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: credID, AuthObjectID: "OTP"})
	require.NoError(t, err)
	otp := e.d.Challenges.LastOTP(u.ID)
	require.Len(t, otp, 6)
	hs := apitest.Hashes(2)
	oid := hs[0].Algorithm.OID().String()
	auth := func(c *csc.Client, hashes []string) (*csc.AuthorizeResponse, error) {
		return c.Authorize(ctx, csc.AuthorizeRequest{CredentialID: credID, NumSignatures: len(hs), Hashes: hashes, HashAlgorithmOID: oid,
			AuthData: []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: otp}}})
	}
	// Another host cannot use the challenge; SCAL 2 needs the hashes at
	// authorize.
	_, err = auth(e.b, b64(hs))
	wantCSC(t, err, badRequest, "invalid_request")
	postJSON(t, e, e.keyA, "/csc/v2/credentials/authorize", map[string]any{"credentialID": credID, "numSignatures": 2,
		"authData": []map[string]string{{"id": "PIN", "value": apitest.PIN.Reveal()}, {"id": "OTP", "value": otp}}}, badRequest, nil)

	res, err := auth(e.a, b64(hs))
	require.NoError(t, err)
	sigs, err := e.a.SignHash(ctx, signReq(u, res.SAD, hs))
	require.NoError(t, err)
	for i, s := range sigs {
		apitest.CheckRaw(t, u.Chain, hs[i], s)
	}
	_, err = e.a.SignHash(ctx, signReq(u, res.SAD, hs[:1]))
	wantCSC(t, err, badRequest, "invalid_request")
	// The OTP was good for one authorisation.
	_, err = auth(e.a, b64(apitest.Hashes(2)))
	wantCSC(t, err, badRequest, "invalid_request")

	recs := lateAudit(t, e)
	require.Len(t, recs, 2, "authorisation and signature records")
	for _, a := range recs {
		require.Equal(t, u.ID, a.User)
		require.Equal(t, 2, a.Count)
		require.True(t, strings.HasSuffix(a.DataHeader, "[hashes bound at authorize, not shown]"), a.DataHeader)
	}

	// With hashes named, getChallenge binds them as under the strict policy.
	sad := e.authorize(t, e.a, u, hs, nil)
	_, err = e.a.SignHash(ctx, signReq(u, sad, hs))
	require.NoError(t, err)
	require.Len(t, lateAudit(t, e), 2, "a bound challenge is not late-bound")
}

// TestPolicyCompatibleV1 is a CSC v1.0.4 client's flow, field names and
// all: credentials/sendOTP without hash, credentials/authorize with hash,
// PIN and OTP, signatures/signHash with hash and hashAlgo.
func TestPolicyCompatibleV1(t *testing.T) {
	e := newEnv(t, roamsign.RSA2048, compatible)
	u := e.suite.Enrol(t, apitest.HostA)
	credID := csc.CredentialID(u.ID)
	var info csc.InfoResponseV1
	postJSON(t, e, "", "/csc/v1/info", map[string]any{}, http.StatusOK, &info)
	require.Contains(t, info.Extensions, csc.ExtPolicyCompatible)
	require.Contains(t, info.Methods, "credentials/sendOTP")

	var list csc.CredentialsListResponseV1
	postJSON(t, e, e.keyA, "/csc/v1/credentials/list", map[string]any{"userID": string(u.ID), "maxResults": 10}, http.StatusOK, &list)
	require.Equal(t, []string{credID}, list.CredentialIDs)
	var ci csc.CredentialInfoV1
	postJSON(t, e, e.keyA, "/csc/v1/credentials/info", map[string]any{"credentialID": credID, "authInfo": true}, http.StatusOK, &ci)
	require.Equal(t, "true", ci.OTP.Presence)
	require.Equal(t, "online", ci.OTP.Type)

	h := postJSON(t, e, e.keyA, "/csc/v1/credentials/sendOTP", map[string]any{"credentialID": credID}, http.StatusNoContent, nil)
	require.Len(t, h.Get(csc.HeaderVerificationCode), 4)
	hs := apitest.Hashes(3)
	var auth csc.AuthorizeResponse
	postJSON(t, e, e.keyA, "/csc/v1/credentials/authorize", map[string]any{"credentialID": credID, "numSignatures": 3,
		"hash": b64(hs), "PIN": apitest.PIN.Reveal(), "OTP": e.d.Challenges.LastOTP(u.ID)}, http.StatusOK, &auth)
	require.NotEmpty(t, auth.SAD)
	var sh csc.SignHashResponse
	postJSON(t, e, e.keyA, "/csc/v1/signatures/signHash", map[string]any{"credentialID": credID, "SAD": auth.SAD,
		"hash": b64(hs), "hashAlgo": hs[0].Algorithm.OID().String(), "signAlgo": csc.OIDRSA}, http.StatusOK, &sh)
	require.Len(t, sh.Signatures, 3)
	for i, s := range sh.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err)
		apitest.CheckRaw(t, u.Chain, hs[i], sig)
	}
	require.Len(t, lateAudit(t, e), 2)

	// A wrong OTP with a late-bound challenge is the v1 error, and the
	// challenge's next try still works.
	postJSON(t, e, e.keyA, "/csc/v1/credentials/sendOTP", map[string]any{"credentialID": credID}, http.StatusNoContent, nil)
	otp := e.d.Challenges.LastOTP(u.ID)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	postJSON(t, e, e.keyA, "/csc/v1/credentials/authorize", map[string]any{"credentialID": credID, "numSignatures": 1,
		"hash": b64(hs[:1]), "PIN": apitest.PIN.Reveal(), "OTP": wrong}, badRequest, nil)
	postJSON(t, e, e.keyA, "/csc/v1/credentials/authorize", map[string]any{"credentialID": credID, "numSignatures": 1,
		"hash": b64(hs[:1]), "PIN": apitest.PIN.Reveal(), "OTP": otp}, http.StatusOK, &auth)
}

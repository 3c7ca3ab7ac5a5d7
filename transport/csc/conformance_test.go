package csc_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
)

// This file drives the CSC face as an outside CSC API v2.0.0.2 client
// does: raw HTTP with the request bodies of the specification's samples
// (clauses 11.1, 11.4 to 11.8 and 11.10; placeholders replaced by this
// service's values), answers read as untyped JSON and checked against the
// specification's output tables (members, JSON types, encodings), and the
// error answers of clause 10.2. It uses no type of package csc, so a
// renamed member or a changed type fails here.

// rawCall posts body (a JSON text) to the v2 method and returns the
// status, the Content-Type and the decoded answer (nil for none).
func rawCall(t *testing.T, e *env, token, method, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/csc/v2/"+method, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, resp.Header.Get("Content-Type"), nil
	}
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s: answer is not a JSON object: %s", method, raw)
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

var (
	oidPattern  = regexp.MustCompile(`^[0-2](\.[0-9]+)+$`)
	timePattern = regexp.MustCompile(`^\d{14}Z$`)
)

func str(t *testing.T, m map[string]any, k string) string {
	t.Helper()
	v, ok := m[k].(string)
	require.True(t, ok, "%q is a string: %#v", k, m[k])
	return v
}

func strs(t *testing.T, m map[string]any, k string) []string {
	t.Helper()
	arr, ok := m[k].([]any)
	require.True(t, ok, "%q is an array: %#v", k, m[k])
	out := make([]string, len(arr))
	for i, v := range arr {
		out[i], ok = v.(string)
		require.True(t, ok, "%q holds strings", k)
	}
	return out
}

func obj(t *testing.T, m map[string]any, k string) map[string]any {
	t.Helper()
	v, ok := m[k].(map[string]any)
	require.True(t, ok, "%q is an object: %#v", k, m[k])
	return v
}

func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	v, ok := m[k].(float64)
	require.True(t, ok, "%q is a number: %#v", k, m[k])
	return v
}

// checkCredentialInfo checks a CredentialInfo object (clause 11.4's table,
// which clause 11.5 reuses) for a credential whose chain is chain, asked
// for with certificates=chain, certInfo and authInfo.
func checkCredentialInfo(t *testing.T, ci map[string]any, chain [][]byte) {
	t.Helper()
	key := obj(t, ci, "key")
	assert.Contains(t, []string{"enabled", "disabled"}, str(t, key, "status"))
	for _, a := range strs(t, key, "algo") {
		assert.Regexp(t, oidPattern, a)
	}
	assert.Positive(t, num(t, key, "len"))
	leaf, err := x509.ParseCertificate(chain[0])
	require.NoError(t, err)
	if _, isEC := leaf.PublicKey.(*ecdsa.PublicKey); isEC {
		assert.Regexp(t, oidPattern, str(t, key, "curve"), "key/curve is required for an ECDSA key")
	}

	cert := obj(t, ci, "cert")
	assert.Equal(t, "valid", str(t, cert, "status"))
	certs := strs(t, cert, "certificates")
	require.Len(t, certs, len(chain), "certificates=chain: the whole chain")
	for i, c := range certs {
		der, err := base64.StdEncoding.DecodeString(c)
		require.NoError(t, err, "certificates are standard base64")
		assert.Equal(t, chain[i], der, "signer first, then its issuers")
	}
	assert.Contains(t, str(t, cert, "subjectDN"), "CN=")
	assert.Contains(t, str(t, cert, "issuerDN"), "CN=")
	serial, ok := new(big.Int).SetString(str(t, cert, "serialNumber"), 16)
	require.True(t, ok, "serialNumber is hexadecimal")
	assert.Zero(t, serial.Cmp(leaf.SerialNumber))
	assert.Regexp(t, timePattern, str(t, cert, "validFrom"))
	assert.Regexp(t, timePattern, str(t, cert, "validTo"))
	assert.Equal(t, leaf.NotAfter.UTC().Format("20060102150405Z"), str(t, cert, "validTo"))

	auth := obj(t, ci, "auth")
	require.Equal(t, "explicit", str(t, auth, "mode"))
	assert.NotEmpty(t, str(t, auth, "expression"))
	objects, ok := auth["objects"].([]any)
	require.True(t, ok, "auth/objects is an array")
	ids := map[string]bool{}
	for _, o := range objects {
		m, ok := o.(map[string]any)
		require.True(t, ok)
		assert.Contains(t, []string{"Password", "PasswordOOB", "ChallengeResponse", "ChallengeResponseOOB"}, str(t, m, "type"),
			"an authentication type of clause 8.3")
		ids[str(t, m, "id")] = true
		if f, ok := m["format"]; ok {
			assert.Contains(t, []any{"A", "N"}, f)
		}
	}
	assert.True(t, ids["PIN"] && ids["OTP"], "the PIN and the OTP are described")
	assert.Contains(t, []any{"1", "2"}, ci["SCAL"], "SCAL is the string \"1\" or \"2\"")
	assert.GreaterOrEqual(t, num(t, ci, "multisign"), 1.0)
}

// checkError checks an error answer of clause 10.2.
func checkError(t *testing.T, status int, ctype string, body map[string]any, wantStatus int, wantCode, wantDesc string) {
	t.Helper()
	require.Equal(t, wantStatus, status, "%v", body)
	assert.True(t, strings.HasPrefix(ctype, "application/json"), "Content-Type %q", ctype)
	code := str(t, body, "error")
	if wantCode != "" {
		assert.Equal(t, wantCode, code)
	}
	if wantDesc != "" {
		assert.Equal(t, wantDesc, str(t, body, "error_description"))
	}
}

// TestCSCSpecificationSamples is a v2.0.0.2 client's session against the
// example server's policy (getChallenge without hashes, as the
// specification defines it): info, credentials/list, credentials/info,
// getChallenge, authorize, signHash, then the specification's errors.
func TestCSCSpecificationSamples(t *testing.T) {
	e := newEnv(t, roamsign.RSA2048, compatible)
	u := e.suite.Enrol(t, apitest.HostA)
	credID := "RS-" + string(u.ID)

	// 11.1 info: no authorization, body {}.
	status, ctype, info := rawCall(t, e, "", "info", `{}`)
	require.Equal(t, http.StatusOK, status, "%v", info)
	assert.True(t, strings.HasPrefix(ctype, "application/json"))
	assert.Regexp(t, `^2\.0\.\d+\.\d+$`, str(t, info, "specs"))
	for _, k := range []string{"name", "logo", "lang", "description"} {
		assert.NotEmpty(t, str(t, info, k), k)
	}
	assert.Regexp(t, `^[A-Z]{2}$`, str(t, info, "region"), "ISO 3166-1 alpha-2")
	for _, a := range strs(t, info, "authType") {
		assert.Contains(t, []string{"external", "TLS", "basic", "digest", "oauth2code", "oauth2client"}, a)
	}
	methods := strs(t, info, "methods")
	for _, m := range []string{"credentials/list", "credentials/info", "credentials/getChallenge", "credentials/authorize", "signatures/signHash"} {
		assert.Contains(t, methods, m)
	}
	for _, a := range strs(t, obj(t, info, "signAlgorithms"), "algos") {
		assert.Regexp(t, oidPattern, a)
	}
	strs(t, obj(t, info, "signature_formats"), "formats")
	strs(t, info, "conformance_levels")

	// 11.4 credentials/list: the sample body, with the userID a host
	// (external service authorization, not user-specific) must give.
	status, _, list := rawCall(t, e, e.keyA, "credentials/list", `{
		"userID": "`+string(u.ID)+`",
		"credentialInfo": true,
		"certificates": "chain",
		"certInfo": true,
		"authInfo": true,
		"onlyValid": true,
		"lang": "en-US",
		"clientData": "12345678"
	}`)
	require.Equal(t, http.StatusOK, status, "%v", list)
	assert.Equal(t, []string{credID}, strs(t, list, "credentialIDs"))
	assert.Equal(t, true, list["onlyValid"], "onlyValid is returned true when applied")
	infos, ok := list["credentialInfos"].([]any)
	require.True(t, ok)
	require.Len(t, infos, 1)
	first := infos[0].(map[string]any)
	assert.Equal(t, credID, str(t, first, "credentialID"))
	checkCredentialInfo(t, first, u.Chain)

	// The default of certificates is "single" (clause 11.4).
	_, _, single := rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": "`+credID+`"}`)
	assert.Len(t, strs(t, obj(t, single, "cert"), "certificates"), 1)
	_, _, none := rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": "`+credID+`", "certificates": "none"}`)
	assert.NotContains(t, obj(t, none, "cert"), "certificates")

	// 11.5 credentials/info: the sample body.
	status, _, ci := rawCall(t, e, e.keyA, "credentials/info", `{
		"credentialID": "`+credID+`",
		"certificates": "chain",
		"certInfo": true,
		"authInfo": true
	}`)
	require.Equal(t, http.StatusOK, status, "%v", ci)
	assert.NotContains(t, ci, "credentialID", "credentials/info has no credentialID at the top level")
	checkCredentialInfo(t, ci, u.Chain)

	// 11.8 getChallenge, out of band: 204 and no body.
	status, _, body := rawCall(t, e, e.keyA, "credentials/getChallenge", `{"credentialID": "`+credID+`", "authObjectID": "OTP"}`)
	require.Equal(t, http.StatusNoContent, status, "%v", body)
	assert.Nil(t, body)
	otp := e.d.Challenges.LastOTP(u.ID)
	require.Len(t, otp, 6)

	// 11.6 authorize: the sample body with two standard base64 SHA-256
	// hashes, PIN and OTP.
	hs := apitest.Hashes(2)
	h64 := []string{base64.StdEncoding.EncodeToString(hs[0].Value), base64.StdEncoding.EncodeToString(hs[1].Value)}
	status, _, auth := rawCall(t, e, e.keyA, "credentials/authorize", `{
		"credentialID": "`+credID+`",
		"numSignatures": 2,
		"hashes": ["`+h64[0]+`", "`+h64[1]+`"],
		"hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
		"authData": [{"id": "PIN", "value": "`+apitest.PIN.Reveal()+`"}, {"id": "OTP", "value": "`+otp+`"}],
		"clientData": "12345678"
	}`)
	require.Equal(t, http.StatusOK, status, "%v", auth)
	sad := str(t, auth, "SAD")
	if _, ok := auth["expiresIn"]; ok {
		assert.Positive(t, num(t, auth, "expiresIn"))
	}

	// 11.10 signHash: the sample body (rsaEncryption with
	// hashAlgorithmOID); the signatures are standard base64 PKCS#1 v1.5
	// signatures, in the order of the hashes.
	signBody := `{
		"credentialID": "` + credID + `",
		"SAD": "` + sad + `",
		"hashes": ["` + h64[0] + `", "` + h64[1] + `"],
		"hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
		"signAlgo": "1.2.840.113549.1.1.1",
		"clientData": "12345678"
	}`
	status, _, signed := rawCall(t, e, e.keyA, "signatures/signHash", signBody)
	require.Equal(t, http.StatusOK, status, "%v", signed)
	sigs := strs(t, signed, "signatures")
	require.Len(t, sigs, 2)
	leaf, err := x509.ParseCertificate(u.Chain[0])
	require.NoError(t, err)
	for i, s := range sigs {
		sig, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err, "signatures are standard base64")
		require.NoError(t, rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, hs[i].Value, sig), "signature %d", i)
	}

	// 10.2 and the tables' errors.
	status, ctype, body = rawCall(t, e, e.keyA, "signatures/signHash", signBody)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "")
	status, ctype, body = rawCall(t, e, "", "credentials/info", `{"credentialID": "`+credID+`"}`)
	checkError(t, status, ctype, body, http.StatusUnauthorized, "", "")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": 5}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Missing (or invalid type) string parameter credentialID")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": "GX0112348"}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Invalid parameter credentialID")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": "`+credID+`", "certificates": "all"}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Invalid parameter certificates")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/authorize", `{"credentialID": "`+credID+`", "numSignatures": "2"}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Missing (or invalid type) integer parameter numSignatures")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/authorize", `{"credentialID": "`+credID+`", "hashes": ["`+h64[0]+`"]}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Missing (or invalid type) integer parameter numSignatures")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/authorize", `{"credentialID": "`+credID+`", "numSignatures": 0, "hashes": ["`+h64[0]+`"],
		"hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "authData": [{"id": "PIN", "value": "x"}, {"id": "OTP", "value": "1"}]}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Invalid value for parameter numSignatures")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/getChallenge", `{"credentialID": "`+credID+`", "authObjectID": "fallback question"}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Invalid parameter authObjectID")
	status, ctype, body = rawCall(t, e, e.keyA, "signatures/signDoc", `{"credentialID": "`+credID+`"}`)
	checkError(t, status, ctype, body, http.StatusNotImplemented, "", "")
}

// TestCSCExpiredCertificate: a credential whose certificate has expired
// answers getChallenge and authorize with the error of clause 11.10
// ("Signing certificate is expired"): no OTP is sent and nothing is
// signed; credentials/info still describes it, cert/status "expired".
func TestCSCExpiredCertificate(t *testing.T) {
	e := newEnv(t, "", nil)
	u := e.suite.Enrol(t, apitest.HostA)
	credID := "RS-" + string(u.ID)
	leaf, err := x509.ParseCertificate(u.Chain[0])
	require.NoError(t, err)
	e.clock.Add(leaf.NotAfter.Sub(e.clock.Now()) + time.Hour)

	h64 := base64.StdEncoding.EncodeToString(apitest.Hashes(1)[0].Value)
	status, ctype, body := rawCall(t, e, e.keyA, "credentials/getChallenge", `{"credentialID": "`+credID+`", "authObjectID": "OTP",
		"hashes": ["`+h64+`"], "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Signing certificate is expired")
	require.Empty(t, e.d.Challenges.LastOTP(u.ID), "no OTP sent")
	status, ctype, body = rawCall(t, e, e.keyA, "credentials/authorize", `{"credentialID": "`+credID+`", "numSignatures": 1,
		"hashes": ["`+h64+`"], "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
		"authData": [{"id": "PIN", "value": "`+apitest.PIN.Reveal()+`"}, {"id": "OTP", "value": "123456"}]}`)
	checkError(t, status, ctype, body, http.StatusBadRequest, "invalid_request", "Signing certificate is expired")

	status, _, ci := rawCall(t, e, e.keyA, "credentials/info", `{"credentialID": "`+credID+`"}`)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "expired", str(t, obj(t, ci, "cert"), "status"))
}

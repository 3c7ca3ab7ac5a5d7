package csc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/transport/csc"
)

// openAPI is the face's OpenAPI document, parsed, with its schemas
// compiled by an independent JSON Schema (2020-12) validator.
type openAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(csc.OpenAPI()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("openapi.json", doc))
	return &openAPI{doc: doc.(map[string]any), compiler: c}
}

// op returns the operation object of method and path.
func (o *openAPI) op(t *testing.T, method, path string) map[string]any {
	t.Helper()
	item, ok := o.doc["paths"].(map[string]any)[path].(map[string]any)
	require.True(t, ok, "path %s not documented", path)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	require.True(t, ok, "%s %s not documented", method, path)
	return op
}

// ref is the $ref of the schema under content/<type>/schema of v.
func ref(v any, ctype string) string {
	m, _ := v.(map[string]any)
	content, _ := m["content"].(map[string]any)
	ct, _ := content[ctype].(map[string]any)
	s, _ := ct["schema"].(map[string]any)
	r, _ := s["$ref"].(string)
	return r
}

func (o *openAPI) validate(t *testing.T, schemaRef string, body []byte, what string) {
	t.Helper()
	require.NotEmpty(t, schemaRef, "%s: no schema documented", what)
	sch, err := o.compiler.Compile("openapi.json" + schemaRef)
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	require.NoError(t, err, "%s: not JSON: %s", what, body)
	require.NoError(t, sch.Validate(inst), "%s: %s", what, body)
}

// TestOpenAPIExamples: every documented example is valid under its schema.
func TestOpenAPIExamples(t *testing.T) {
	o := loadOpenAPI(t)
	n := 0
	for path, item := range o.doc["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			op := raw.(map[string]any)
			if rb, ok := op["requestBody"].(map[string]any); ok {
				c, _ := rb["content"].(map[string]any)
				j, _ := c["application/json"].(map[string]any)
				if ex, ok := j["example"]; ok {
					b, _ := json.Marshal(ex)
					o.validate(t, ref(rb, "application/json"), b, method+" "+path+" request example")
					n++
				}
			}
			for status, resp := range op["responses"].(map[string]any) {
				r, _ := resp.(map[string]any)
				if r["$ref"] != nil {
					r = o.doc["components"].(map[string]any)["responses"].(map[string]any)["Error"].(map[string]any)
				}
				c, _ := r["content"].(map[string]any)
				j, _ := c["application/json"].(map[string]any)
				if ex, ok := j["example"]; ok {
					b, _ := json.Marshal(ex)
					o.validate(t, ref(r, "application/json"), b, method+" "+path+" "+status+" example")
					n++
				}
			}
		}
	}
	require.Greater(t, n, 30)
}

// exchange is one recorded call.
type exchange struct {
	method, path string
	ctype        string
	req, resp    []byte
	status       int
}

// recorder is an http.RoundTripper that keeps every JSON exchange.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	r.mu.Lock()
	r.log = append(r.log, exchange{method: req.Method, path: req.URL.Path, ctype: req.Header.Get("Content-Type"),
		req: body, resp: out, status: resp.StatusCode})
	r.mu.Unlock()
	return resp, nil
}

// TestBodiesMatchSchemas runs the v2 and v1 explicit flows, the OAuth 2.0
// token calls and some refusals through a recording transport, and checks
// every JSON request and answer against the documented schemas.
func TestBodiesMatchSchemas(t *testing.T) {
	e := oauthEnv(t)
	ctx := context.Background()
	o := loadOpenAPI(t)
	rec := &recorder{next: e.srv.Client().Transport}
	hc := &http.Client{Transport: rec}
	mk := func(base, token string) *csc.Client {
		c, err := csc.NewClient(e.srv.URL+base, csc.ClientOptions{HTTPClient: hc, AccessToken: token})
		require.NoError(t, err)
		return c
	}
	a := mk("/csc/v2", e.keyA)
	u := e.suite.Enrol(t, apitest.HostA)
	_, _ = a.Info(ctx)
	_, _ = a.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID), CredentialInfo: true,
		InfoOptions: csc.InfoOptions{Certificates: "chain", CertInfo: true, AuthInfo: true}})
	hs := apitest.Hashes(2)
	sad := e.authorize(t, a, u, hs, nil)
	_, err := a.SignHash(ctx, signReq(u, sad, hs[:1]))
	require.NoError(t, err)
	ext, err := a.ExtendTransaction(ctx, csc.ExtendTransactionRequest{CredentialID: csc.CredentialID(u.ID), SAD: sad})
	require.NoError(t, err)
	_, err = a.SignHash(ctx, signReq(u, ext.SAD, hs[:1])) // refused: released already
	require.Error(t, err)
	tok, err := a.ClientCredentials(ctx, appID, appSecret)
	require.NoError(t, err)
	require.NoError(t, a.Revoke(ctx, appID, appSecret, tok.AccessToken))

	// v1 in its own words.
	v1 := func(path string, body any, out any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/csc/v1/"+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.keyA)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Less(t, resp.StatusCode, 300, path)
		if out != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
		}
	}
	v1("info", map[string]any{}, nil)
	v1("credentials/list", map[string]any{"userID": u.ID}, nil)
	v1("credentials/info", map[string]any{"credentialID": csc.CredentialID(u.ID), "authInfo": true, "certInfo": true}, nil)
	h1 := csc.Hashes(hs[1:])
	v1("credentials/sendOTP", map[string]any{"credentialID": csc.CredentialID(u.ID), "hash": h1, "hashAlgo": "2.16.840.1.101.3.4.2.1"}, nil)
	var ar csc.AuthorizeResponse
	v1("credentials/authorize", map[string]any{"credentialID": csc.CredentialID(u.ID), "numSignatures": 1, "hash": h1,
		"PIN": apitest.PIN.Reveal(), "OTP": e.d.Challenges.LastOTP(u.ID)}, &ar)
	var sr csc.SignHashResponse
	v1("signatures/signHash", map[string]any{"credentialID": csc.CredentialID(u.ID), "SAD": ar.SAD, "hash": h1,
		"hashAlgo": "2.16.840.1.101.3.4.2.1", "signAlgo": csc.OIDECDSASHA256}, &sr)
	require.Len(t, sr.Signatures, 1)

	checked := 0
	for _, x := range rec.log {
		op := o.op(t, x.method, x.path)
		what := x.method + " " + x.path
		if strings.HasPrefix(x.ctype, "application/json") {
			o.validate(t, ref(op["requestBody"], "application/json"), x.req, what+" request")
		}
		if x.status == http.StatusNoContent {
			continue
		}
		resps := op["responses"].(map[string]any)
		schema := "#/components/schemas/Error"
		if x.status < 300 {
			schema = ref(resps[http.StatusText(0)+itoa(x.status)], "application/json")
		}
		o.validate(t, schema, x.resp, what+" answer "+itoa(x.status))
		checked++
	}
	require.GreaterOrEqual(t, checked, 12)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

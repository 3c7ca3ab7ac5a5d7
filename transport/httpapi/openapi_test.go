package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comps   struct {
		Schemas map[string]struct {
			Properties           map[string]json.RawMessage `json:"properties"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
			Required             []string                   `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

type openAPIOp struct {
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
			Example json.RawMessage `json:"example"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
			Example json.RawMessage `json:"example"`
		} `json:"content"`
	} `json:"responses"`
}

func loadDoc(t *testing.T) *openAPIDoc {
	t.Helper()
	var d openAPIDoc
	require.NoError(t, json.Unmarshal(openAPIDocument, &d), "OpenAPI document is not JSON")
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", d.OpenAPI)
	}
	return &d
}

func allRoutes() []route { return append(append([]route(nil), apiRoutes...), adminRoutes...) }

// TestOpenAPIMatchesRoutes: every route is documented and every documented
// operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadDoc(t)
	var documented, served []string
	for p, ops := range d.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	for _, rt := range allRoutes() {
		served = append(served, rt.method+" "+rt.path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !reflect.DeepEqual(documented, served) {
		t.Fatalf("documented operations\n %v\ndiffer from served routes\n %v", documented, served)
	}
}

// TestOpenAPIExamples: every request and response example decodes strictly
// into the Go type the handler uses, and re-encodes to the same fields.
func TestOpenAPIExamples(t *testing.T) {
	d := loadDoc(t)
	for _, rt := range allRoutes() {
		var op openAPIOp
		require.NoError(t, json.Unmarshal(d.Paths[rt.path][strings.ToLower(rt.method)], &op), "%s %s", rt.method, rt.path)
		if rt.in != nil {
			if op.RequestBody == nil || len(op.RequestBody.Content["application/json"].Example) == 0 {
				t.Fatalf("%s %s: no request example", rt.method, rt.path)
			}
			ex := op.RequestBody.Content["application/json"].Example
			require.NoError(t, decodeStrict(bytes.NewReader(ex), rt.in()), "%s %s: request example does not decode", rt.method, rt.path)
		} else if op.RequestBody != nil {
			t.Fatalf("%s %s documents a body the route does not take", rt.method, rt.path)
		}
		if rt.out != nil {
			ok, found := op.Responses["200"]
			if !found || len(ok.Content["application/json"].Example) == 0 {
				t.Fatalf("%s %s: no 200 example", rt.method, rt.path)
			}
			require.NoError(t, decodeStrict(bytes.NewReader(ok.Content["application/json"].Example), rt.out()), "%s %s: response example does not decode", rt.method, rt.path)
		} else if rt.in != nil {
			if _, found := op.Responses["204"]; !found {
				t.Fatalf("%s %s: no 204 documented", rt.method, rt.path)
			}
		}
		if rt.path != PathOpenAPI {
			if _, found := op.Responses["default"]; !found {
				t.Fatalf("%s %s: no problem response documented", rt.method, rt.path)
			}
		}
	}
}

// TestOpenAPISchemasMatchTypes: the documented properties of each schema
// are exactly the JSON fields of the wire type.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	d := loadDoc(t)
	types := map[string]any{
		"Hash": roamsign.Hash{}, "MediumRequest": roamsign.MediumRequest{}, "MediumResponse": roamsign.MediumResponse{},
		"CertificateSummary": roamsign.CertificateSummary{}, "OTPRequest": roamsign.OTPRequest{},
		"OTPResponse": roamsign.OTPResponse{}, "SignRequest": signWire{}, "SignedItem": roamsign.SignedItem{},
		"SignResponse": roamsign.SignResponse{}, "StatusResponse": roamsign.StatusResponse{},
		"EnrolRequest": roamsign.EnrolRequest{}, "EnrolResponse": roamsign.EnrolResponse{},
		"ImportChainRequest": roamsign.ImportChainRequest{}, "SetPINRequest": setPINWire{},
		"ResetPINRequest": resetPINWire{}, "ClearOTPBackoffRequest": roamsign.ClearOTPBackoffRequest{},
		"RegisterDeviceRequest": roamsign.RegisterDeviceRequest{},
		"DisableRequest":        roamsign.DisableRequest{}, "Problem": Problem{},
	}
	for name, v := range types {
		s, ok := d.Comps.Schemas[name]
		if !ok {
			t.Fatalf("schema %s missing", name)
		}
		var doc, fields []string
		for p := range s.Properties {
			doc = append(doc, p)
		}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				fields = append(fields, tag)
			}
		}
		sort.Strings(doc)
		sort.Strings(fields)
		if !reflect.DeepEqual(doc, fields) {
			t.Errorf("schema %s properties %v, Go type fields %v", name, doc, fields)
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("schema %s requires undocumented %s", name, r)
			}
		}
	}
}

type conflictAPI struct{}

var errConflict = roamsign.E(roamsign.ErrConflict, "test", "reached the API")

func (conflictAPI) Medium(context.Context, roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	return nil, errConflict
}
func (conflictAPI) RequestOTP(context.Context, roamsign.OTPRequest) (*roamsign.OTPResponse, error) {
	return nil, errConflict
}
func (conflictAPI) Sign(context.Context, roamsign.SignRequest) (*roamsign.SignResponse, error) {
	return nil, errConflict
}
func (conflictAPI) Status(context.Context, roamsign.StatusRequest) (*roamsign.StatusResponse, error) {
	return nil, errConflict
}
func (conflictAPI) Enrol(context.Context, roamsign.EnrolRequest) (*roamsign.EnrolResponse, error) {
	return nil, errConflict
}
func (conflictAPI) ImportChain(context.Context, roamsign.ImportChainRequest) error {
	return errConflict
}
func (conflictAPI) SetPIN(context.Context, roamsign.SetPINRequest) error     { return errConflict }
func (conflictAPI) ResetPIN(context.Context, roamsign.ResetPINRequest) error { return errConflict }
func (conflictAPI) ClearOTPBackoff(context.Context, roamsign.ClearOTPBackoffRequest) error {
	return errConflict
}
func (conflictAPI) RegisterDevice(context.Context, roamsign.RegisterDeviceRequest) error {
	return errConflict
}
func (conflictAPI) Disable(context.Context, roamsign.DisableRequest) error { return errConflict }

type anyHost struct{}

func (anyHost) Authenticate(*http.Request) (roamsign.HostID, error) { return "h", nil }

// TestOpenAPIRoutesServed sends each documented operation's example to the
// real handlers and checks that it reaches the API.
func TestOpenAPIRoutesServed(t *testing.T) {
	d := loadDoc(t)
	opts := Options{Auth: anyHost{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	api, admin := Handler(conflictAPI{}, opts), AdminHandler(conflictAPI{}, opts)
	for p, ops := range d.Paths {
		for m, raw := range ops {
			var op openAPIOp
			require.NoError(t, json.Unmarshal(raw, &op), "%s %s", m, p)
			var body io.Reader
			path := strings.ReplaceAll(p, "{transactionId}", "tx1")
			req := httptest.NewRequest(strings.ToUpper(m), path, nil)
			if op.RequestBody != nil {
				body = bytes.NewReader(op.RequestBody.Content["application/json"].Example)
				req = httptest.NewRequest(strings.ToUpper(m), path, body)
				req.Header.Set("Content-Type", "application/json")
			}
			h := api
			if strings.HasPrefix(p, "/v1/admin/") {
				h = admin
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want := http.StatusConflict
			if p == PathOpenAPI {
				want = http.StatusOK
			}
			if rec.Code != want {
				t.Errorf("%s %s: status %d, want %d: %s", m, p, rec.Code, want, rec.Body)
			}
		}
	}
	// The served document is the embedded one.
	rec := httptest.NewRecorder()
	Handler(conflictAPI{}, Options{}).ServeHTTP(rec, httptest.NewRequest("GET", PathOpenAPI, nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatalf("GET %s without credentials: %d", PathOpenAPI, rec.Code)
	}
}

package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
)

func TestPageHelpers(t *testing.T) {
	type in struct {
		A string `json:"a"`
	}
	for _, tc := range []struct {
		ct, body string
		kind     roamsign.Kind
	}{
		{"application/json", `{"a":"x"}`, roamsign.KindUnknown},
		{"text/plain", `{"a":"x"}`, roamsign.ErrInvalidInput},
		{"application/json", `{"a":"x","b":1}`, roamsign.ErrInvalidInput},
		{"application/json", `{"a":"x"} {}`, roamsign.ErrInvalidInput},
		{"application/json", `{"a":"` + strings.Repeat("x", 100) + `"}`, roamsign.ErrTooLarge},
	} {
		r := httptest.NewRequest("POST", "/page", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		w := httptest.NewRecorder()
		var v in
		err := DecodeJSON(w, r, &v, 64)
		if roamsign.KindOf(err) != tc.kind || (err == nil && v.A != "x") {
			t.Errorf("%s %q: err %v (kind %v), want kind %v", tc.ct, tc.body, err, roamsign.KindOf(err), tc.kind)
		}
		if err == nil {
			continue
		}
		WriteProblem(w, r, err)
		var p Problem
		if jerr := json.Unmarshal(w.Body.Bytes(), &p); jerr != nil || w.Code != StatusOf(tc.kind) || p.Code != tc.kind.Code() ||
			w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("problem for %v: status %d body %s", err, w.Code, w.Body.Bytes())
		}
	}
	w := httptest.NewRecorder()
	WriteProblem(w, httptest.NewRequest("GET", "/page", nil), errors.New("database password is hunter2"))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "hunter2") {
		t.Fatalf("internal error leaked its detail: %d %s", w.Code, w.Body.String())
	}
}

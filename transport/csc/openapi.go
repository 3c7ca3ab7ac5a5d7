package csc

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of Handler, its request
// and answer schemas written from the CSC API v2.0.0.2 and v1.0.4 tables;
// a test checks it against the routes and the bodies the handler sends.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns a copy of the OpenAPI 3.1 document of the CSC face.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

func serveOpenAPI(_ *server, w http.ResponseWriter, _ *http.Request, _ *caller) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPIDocument)
}

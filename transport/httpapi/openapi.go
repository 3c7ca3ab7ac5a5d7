package httpapi

import _ "embed"

// openAPIDocument is the OpenAPI 3.1 description of Handler and
// AdminHandler, served at /v1/openapi.json.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns a copy of the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

package verify

import (
	_ "embed"
	"slices"
)

//go:embed result.schema.json
var resultSchema []byte

// ResultSchema returns the JSON Schema (draft 2020-12) of the JSON form of
// a [Result], a slice of Results (VerifyCMS) and a [PDFResult].
func ResultSchema() []byte { return slices.Clone(resultSchema) }

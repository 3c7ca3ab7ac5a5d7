package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func compileResultSchema(t *testing.T) *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ResultSchema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("result.schema.json", doc))
	sch, err := c.Compile("result.schema.json")
	require.NoError(t, err)
	return sch
}

// TestResultSchema validates real results against result.schema.json with
// an independent JSON Schema validator: chains (valid, revoked, no path,
// revocation unknown or not checked), CMS (B-T with a timestamp, legacy
// without signed attributes, a broken signature) and PDFs. The schema's
// sub-indications are exactly SubIndications().
func TestResultSchema(t *testing.T) {
	sch := compileResultSchema(t)
	var docs []any
	p := newPKI(t)
	ctx := context.Background()
	add := func(v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		require.NoError(t, sch.Validate(inst), "%s", b)
		docs = append(docs, inst)
	}
	v := p.verifier()
	add(p.check(v, p.leaf))
	add(v.VerifyChain(ctx, ChainRequest{Leaf: p.leaf}))
	add(p.verifier(func(c *Config) { c.Revocation = RevocationOff }).VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: []*x509.Certificate{p.inter.Cert}}))
	add(p.verifier(func(c *Config) { c.Offline = true }).VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: []*x509.Certificate{p.inter.Cert}}))
	content := []byte("schema")
	tsa := tsaAt(t, p, p.now.Add(-time.Hour), nil)
	bt, err := testpki.BuildCMS(testpki.CMSSpec{Content: content, Key: p.key, Cert: p.leaf, Certs: []*x509.Certificate{p.leaf, p.inter.Cert}, ESSCert: p.leaf, Timestamp: tsa, SigningTime: p.now})
	require.NoError(t, err)
	for _, sig := range [][]byte{bt, opensslSign(t, p, content, false, "-noattr"), append(bt[:len(bt)-4:len(bt)-4], 1, 2, 3, 4)} {
		rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: sig})
		if err == nil {
			add(rs)
		}
	}
	doc := signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{})
	res, err := v.VerifyPDF(ctx, PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
	require.NoError(t, err)
	add(res)
	// A B-LTA document: a signature of each level's fields and a document
	// timestamp.
	lta := newLTVFixture(t)
	res = verifyPDF(t, lta.p.verifier(), lta.blta)
	require.Equal(t, LevelBLTA, res.Signatures[0].Level)
	add(res)
	assert.GreaterOrEqual(t, len(docs), 8)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(ResultSchema(), &raw))
	enum := raw["$defs"].(map[string]any)["subIndication"].(map[string]any)["enum"].([]any)
	var inSchema []string
	for _, e := range enum {
		inSchema = append(inSchema, e.(string))
	}
	var inCode []string
	for _, s := range SubIndications() {
		inCode = append(inCode, string(s))
	}
	slices.Sort(inSchema)
	slices.Sort(inCode)
	assert.Equal(t, inCode, inSchema, "the schema lists exactly the sub-indications of the package")

	// The schema is not vacuous: a result with an unknown sub-indication
	// or without an indication is refused.
	bad, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"verdict":"valid","checks":[],"trustedTime":"2026-01-02T00:00:00Z","timeSource":"verification-time","timestampPresent":false}`)))
	require.NoError(t, err)
	assert.Error(t, sch.Validate(bad))
	bad, err = jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"verdict":"valid","indication":"passed","subIndication":"fine","checks":[],"trustedTime":"2026-01-02T00:00:00Z","timeSource":"verification-time","timestampPresent":false}`)))
	require.NoError(t, err)
	assert.Error(t, sch.Validate(bad))
}

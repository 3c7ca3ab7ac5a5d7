package pdf_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
)

// A visible signature is placed on the page as the reader sees it, and its
// text must be drawable in the embedded font: a character the font lacks
// is refused with a GlyphError that names it, and nothing is written.
func ExampleGlyphError() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	chain := []*x509.Certificate{leaf, root.Cert}
	document := pdfxtest.Generate(pdfxtest.Options{})

	opts := pdf.Options{Appearance: &pdf.Appearance{
		Rect:  [4]float64{40, 40, 300, 100}, // points from the lower-left corner of the page as shown
		Lines: []string{"Disahkan oleh / Approved by", "Aminah binti Ali 李"},
	}}
	err := pdf.Sign(context.Background(), bytes.NewReader(document), int64(len(document)), io.Discard, key, chain, opts)
	var ge *pdf.GlyphError
	if errors.As(err, &ge) {
		fmt.Printf("line %d: no glyph for %q\n", ge.Line, ge.Rune)
	}

	opts.Appearance.Lines[1] = "Aminah binti Ali"
	err = pdf.Sign(context.Background(), bytes.NewReader(document), int64(len(document)), io.Discard, key, chain, opts)
	fmt.Println(err)
	// Output:
	// line 2: no glyph for '李'
	// <nil>
}

package pdf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// TestCompleteLTA: the one-pass completion makes what Extend makes of
// Complete's output, three incremental updates (the signature, the /DSS,
// the document time-stamp) after the original, clean for qpdf, pdfsig,
// openssl ts -verify and verify (B-LTA), for a first signature and for an
// approval added to a document signed before, whose signature's material
// goes into the /DSS too, and for a document time-stamp whose digest
// (SHA-384) is not the signature's (the digest of the original bytes is
// then computed afresh instead of resumed from Prepare's).
func TestCompleteLTA(t *testing.T) {
	f := ltvtest.New(t)
	nss := nssTrusting(t, f.Root.Cert)
	orig := ltvtest.Document()
	for name, tc := range map[string]struct {
		in       []byte
		nss      string
		n, cades int
		hash     roamsign.HashAlgorithm
	}{
		"first signature":                {in: orig, nss: nss, n: 2, cades: 1},
		"second signature":               {in: f.BT(t, orig), n: 3, cades: 2},
		"document time-stamp in SHA-384": {in: orig, n: 2, cades: 1, hash: roamsign.SHA384},
	} {
		t.Run(name, func(t *testing.T) {
			doc := f.LTA(t, tc.in)
			if tc.hash != 0 {
				ctx := context.Background()
				p, err := pdf.Prepare(ctx, bytes.NewReader(tc.in), int64(len(tc.in)), f.Chain, pdf.Options{Timestamper: f.Client})
				require.NoError(t, err)
				sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
				require.NoError(t, err)
				var out bytes.Buffer
				_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator, Hash: tc.hash})
				require.NoError(t, err)
				doc = out.Bytes()
			}
			require.Equal(t, doc[:len(tc.in)], tc.in, "the original bytes come first, unchanged")
			require.Equal(t, 3, bytes.Count(doc[len(tc.in):], []byte("%%EOF")), "three incremental updates")
			res := requireLongTerm(t, f, doc, tc.nss, tc.n, tc.cades)
			for _, s := range res.Signatures {
				if s.Kind != verify.KindDocumentTimestamp {
					require.Equal(t, verify.LevelBLTA, s.Level, s.Field)
				}
			}
		})
	}
}

// TestCompleteLTARefuses: without a signature time-stamp, with a path the
// validator refuses, or with a document changed since Prepare (whichever
// digest the document time-stamp uses), CompleteLTA fails and writes
// nothing.
func TestCompleteLTARefuses(t *testing.T) {
	f := ltvtest.New(t)
	ctx := context.Background()
	other, err := testpki.NewRoot(testpki.Options{Name: "Other Root"})
	require.NoError(t, err)
	stranger, err := ltv.New(verify.Config{Anchors: []*x509.Certificate{other.Cert}})
	require.NoError(t, err)
	prepare := func(doc []byte, opts pdf.Options) (*pdf.Prepared, []byte) {
		p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, opts)
		require.NoError(t, err)
		sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
		require.NoError(t, err)
		return p, sig
	}
	lta := pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator}

	var out bytes.Buffer
	p, sig := prepare(ltvtest.Document(), pdf.Options{})
	_, err = p.CompleteLTA(ctx, sig, &out, lta)
	require.ErrorIs(t, err, pdf.ErrNoSignatureTimestamp)
	require.Zero(t, out.Len())

	p, sig = prepare(ltvtest.Document(), pdf.Options{Timestamper: f.Client})
	_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: stranger})
	require.ErrorIs(t, err, roamsign.ErrInvalidSignature)
	require.Zero(t, out.Len())
	_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "no validator")
	require.Zero(t, out.Len())

	// A byte of the header's binary comment changes after Prepare: the
	// document still reads, but it is not the one signed.
	doc := ltvtest.Document()
	p, sig = prepare(doc, pdf.Options{Timestamper: f.Client})
	i := bytes.IndexByte(doc, '\n') + 2
	doc[i] ^= 0x01
	_, err = p.CompleteLTA(ctx, sig, &out, lta)
	require.ErrorIs(t, err, roamsign.ErrConflict)

	// The same with a document time-stamp in SHA-384, whose digest is not
	// resumed from Prepare's but computed over the changed bytes: the
	// check of the original bytes against those prepared still refuses.
	_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator, Hash: roamsign.SHA384})
	require.ErrorIs(t, err, roamsign.ErrConflict)
}

// TestCompleteLTAConcurrent completes documents of different sizes at
// once, twice over, so that the buffers CompleteLTA reuses pass from one
// document to another of another size: every output holds its own
// original bytes and verifies B-LTA offline.
func TestCompleteLTAConcurrent(t *testing.T) {
	f := ltvtest.New(t)
	ctx := context.Background()
	docs := make([][]byte, 8)
	for i := range docs {
		docs[i] = pdfxtest.Generate(pdfxtest.Options{Pages: 1 + i%3, Padding: i * 3000})
	}
	for range 2 {
		outs := make([][]byte, len(docs))
		var wg sync.WaitGroup
		for i, doc := range docs {
			wg.Go(func() {
				p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{Timestamper: f.Client, Reason: fmt.Sprint("document ", i)})
				if !assert.NoError(t, err) {
					return
				}
				sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
				if !assert.NoError(t, err) {
					return
				}
				var out bytes.Buffer
				_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator})
				assert.NoError(t, err)
				outs[i] = out.Bytes()
			})
		}
		wg.Wait()
		for i, out := range outs {
			require.True(t, bytes.HasPrefix(out, docs[i]), "document %d: its original bytes first", i)
			res := verifyOffline(t, f, out, time.Now())
			require.Len(t, res.Signatures, 2, "document %d", i)
			for _, s := range res.Signatures {
				require.Equal(t, verify.Valid, s.Verdict, "document %d %s: %+v", i, s.Field, s.Failed())
			}
			require.Equal(t, verify.LevelBLTA, res.Signatures[0].Level, "document %d", i)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
)

// maxBatchPDFs bounds a folder batch (the service's default batch limit is
// 1000 hashes per OTP).
const maxBatchPDFs = 1000

// pdfBatch is a folder of PDFs prepared on the host: each has its own
// prepared signature; the server sees only the hashes.
type pdfBatch struct {
	dir    string
	names  []string
	preps  []*pdf.Prepared
	hashes []roamsign.Hash
}

// preparePDFs prepares an invisible PAdES approval signature for every
// *.pdf in dir, reporting progress.
func preparePDFs(ctx context.Context, dir string, chain []*x509.Certificate, reason string, progress io.Writer) (*pdfBatch, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	b := &pdfBatch{dir: dir}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".pdf") {
			b.names = append(b.names, e.Name())
		}
	}
	sort.Strings(b.names)
	switch {
	case len(b.names) == 0:
		return nil, usageError{"no .pdf files in " + dir}
	case len(b.names) > maxBatchPDFs:
		return nil, usageError{fmt.Sprintf("%d PDFs in %s; at most %d per batch", len(b.names), dir, maxBatchPDFs)}
	}
	for i, name := range b.names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		p, err := pdf.Prepare(ctx, bytes.NewReader(data), int64(len(data)), chain, pdf.Options{Reason: reason})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		b.preps = append(b.preps, p)
		b.hashes = append(b.hashes, roamsign.Hash{Algorithm: p.Hash(), Value: p.Digest()})
		fmt.Fprintf(progress, "\rprepared %d/%d", i+1, len(b.names))
	}
	fmt.Fprintln(progress)
	return b, nil
}

// complete embeds each signature into its PDF under dir/signed/.
func (b *pdfBatch) complete(ctx context.Context, resp *roamsign.SignResponse, progress io.Writer) error {
	out := filepath.Join(b.dir, "signed")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var failed []string
	for i, name := range b.names {
		if i >= len(resp.Items) || resp.Items[i].Status != roamsign.ItemSigned {
			failed = append(failed, name)
			continue
		}
		var buf bytes.Buffer
		if err := b.preps[i].Complete(ctx, resp.Items[i].Signature, &buf); err != nil {
			failed = append(failed, name+" ("+err.Error()+")")
			continue
		}
		if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(progress, "\rsigned %d/%d", i+1-len(failed), len(b.names))
	}
	fmt.Fprintf(progress, "\ntransaction %s: %d of %d PDFs signed into %s\n", resp.TransactionID, len(b.names)-len(failed), len(b.names), out)
	if len(failed) > 0 {
		return fmt.Errorf("not signed: %s", strings.Join(failed, ", "))
	}
	return nil
}

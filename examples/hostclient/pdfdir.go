package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// maxBatchPDFs bounds a folder batch (the service's default batch limit is
// 1000 hashes per OTP).
const maxBatchPDFs = 1000

// pdfBatch is a folder of PDFs prepared on the host: each has its own
// prepared signature; the server sees only the hashes.
type pdfBatch struct {
	dir    string
	names  []string
	paths  []string // the file each signature is over: the PDF, or its repaired copy
	states [][]byte // each prepared signature (pdf.Prepared.MarshalBinary)
	sizes  []int64
	hashes []roamsign.Hash
}

// preparePDFs prepares an invisible PAdES approval signature for every
// *.pdf in dir, reporting progress. With repair, a PDF that pdf.Prepare
// refuses as damaged, or as encrypted with permissions only, is repaired
// (decrypted) into dir/repaired/ and the copy is prepared instead;
// without it, such a PDF stops the batch with the reason and the advice,
// as does, always, one that needs a password to open.
func preparePDFs(ctx context.Context, dir string, chain []*x509.Certificate, reason string, repair bool, progress io.Writer) (*pdfBatch, error) {
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
	bar := newProgress(progress, "prepared", len(b.names))
	defer bar.Done()
	for i, name := range b.names {
		path := filepath.Join(dir, name)
		err := b.prepare(ctx, path, chain, reason)
		if repair && (errors.Is(err, pdf.ErrRepairable) || errors.Is(err, pdf.ErrOwnerEncrypted)) {
			if path, err = repairPDF(ctx, dir, name, progress); err == nil {
				err = b.prepare(ctx, path, chain, reason)
			}
		}
		if err != nil {
			return nil, refusedPDF(name, err)
		}
		bar.Step(i + 1)
	}
	return b, nil
}

// prepare prepares the signature of one file, read from disk in chunks
// (never whole into memory), and keeps its state: the file is closed
// until the signature comes back, so a batch holds no open files.
func (b *pdfBatch) prepare(ctx context.Context, path string, chain []*x509.Certificate, reason string) error {
	f, size, err := openSized(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := pdf.Prepare(ctx, f, size, chain, pdf.Options{Reason: reason})
	if err != nil {
		return err
	}
	state, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	b.states, b.sizes, b.paths = append(b.states, state), append(b.sizes, size), append(b.paths, path)
	b.hashes = append(b.hashes, roamsign.Hash{Algorithm: p.Hash(), Value: p.Digest()})
	return nil
}

// openSized opens a file and returns its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// complete embeds each signature into its PDF under dir/signed/.
func (b *pdfBatch) complete(ctx context.Context, resp *roamsign.SignResponse, progress io.Writer) error {
	out := filepath.Join(b.dir, "signed")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var failed []string
	bar := newProgress(progress, "completed", len(b.names))
	for i, name := range b.names {
		if i >= len(resp.Items) || resp.Items[i].Status != roamsign.ItemSigned {
			failed = append(failed, name)
			continue
		}
		if err := b.completeOne(ctx, i, resp.Items[i].Signature, filepath.Join(out, name)); err != nil {
			failed = append(failed, name+" ("+err.Error()+")")
			continue
		}
		bar.Step(i + 1)
	}
	bar.Done()
	fmt.Fprintf(progress, "transaction %s: %d of %d PDFs signed into %s\n", resp.TransactionID, len(b.names)-len(failed), len(b.names), out)
	if len(failed) > 0 {
		return fmt.Errorf("not signed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// completeOne embeds signature into file i and streams the signed document
// to dst through a temporary file beside it, renamed into place only once
// complete: a failed completion leaves no partial PDF under dst's name.
func (b *pdfBatch) completeOne(ctx context.Context, i int, signature []byte, dst string) error {
	f, size, err := openSized(b.paths[i])
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := pdf.Resume(b.states[i], f, size, nil)
	if err != nil {
		return err
	}
	return streamToFile(dst, func(w io.Writer) error { return p.Complete(ctx, signature, w) })
}

// streamToFile streams what write produces to dst through a temporary file
// beside it, renamed into place only once complete: a failure leaves no
// partial file under dst's name.
func streamToFile(dst string, write func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".writing-*.pdf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// repairPDF writes a repaired copy of dir/name to dir/repaired/name (the
// encryption removed when it has permissions only), says what was wrong
// and what was changed, and returns the copy's path.
func repairPDF(ctx context.Context, dir, name string, progress io.Writer) (string, error) {
	out := filepath.Join(dir, "repaired")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	f, size, err := openSized(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	dst := filepath.Join(out, name)
	var rep *pdf.RepairReport
	err = streamToFile(dst, func(w io.Writer) error {
		var err error
		rep, err = pdf.Repair(ctx, f, size, w, pdf.RepairOptions{RemoveEncryption: true})
		return err
	})
	if err != nil {
		return "", err
	}
	what := rep.Damage
	if what == "" {
		what = "not damaged"
	}
	fmt.Fprintf(progress, "\rrepaired %s (%s): %s; signing the copy %s\n", name, what, strings.Join(rep.Fixes, ", "), dst)
	return dst, nil
}

// hashFile returns the SHA-256 hash of a file, read in chunks.
func hashFile(path string) (roamsign.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return roamsign.Hash{}, err
	}
	defer f.Close()
	h := roamsign.SHA256.CryptoHash().New()
	if _, err := io.Copy(h, f); err != nil {
		return roamsign.Hash{}, err
	}
	return roamsign.Hash{Algorithm: roamsign.SHA256, Value: h.Sum(nil)}, nil
}

// refusedPDF names the file of a PDF that could not be prepared and, for
// signer/pdf's refusals, keeps what to do (repair it, remove the
// encryption, decrypt it with the password) in the words printed for a
// person (httpapi.Describe shows only the outermost message).
func refusedPDF(name string, err error) error {
	k := roamsign.KindOf(err)
	if k == roamsign.KindUnknown {
		return fmt.Errorf("%s: %w", name, err)
	}
	msg := name + ": " + httpapi.PublicDetail(err)
	for _, advice := range []error{pdf.ErrPasswordRequired, pdf.ErrOwnerEncrypted, pdf.ErrRepairable, pdf.ErrEncrypted} {
		if errors.Is(err, advice) {
			msg += ": " + advice.Error()
			break
		}
	}
	return roamsign.Wrap(k, "hostclient", err, msg)
}

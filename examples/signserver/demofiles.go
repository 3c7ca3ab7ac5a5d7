package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// demoMaxStreamUpload bounds an upload sent as the request body to
// /demo/api/upload: it is streamed to disk, never held in memory.
const demoMaxStreamUpload = 1 << 30

// demoFiles keeps the demo's documents on disk: uploads, the copies being
// signed and the signed results, each in its own file of a private
// temporary folder, read and written in chunks.
type demoFiles struct {
	once sync.Once
	dir  string
	err  error
}

// create streams what write produces into a new file and returns its path.
func (f *demoFiles) create(write func(w io.Writer) error) (string, error) {
	f.once.Do(func() { f.dir, f.err = os.MkdirTemp("", "roamsign-demo-*") })
	if f.err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, "demo.files", f.err, "cannot store documents")
	}
	tmp, err := os.CreateTemp(f.dir, "doc-*.pdf")
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, "demo.files", err, "cannot store the document")
	}
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = roamsign.Wrap(roamsign.ErrUnavailable, "demo.files", cerr, "cannot store the document")
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// fromBytes stores b.
func (f *demoFiles) fromBytes(b []byte) (string, error) {
	return f.create(func(w io.Writer) error { _, err := w.Write(b); return err })
}

// openSized opens a stored document and returns its size.
func openSized(path string) (*os.File, int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, roamsign.Wrap(roamsign.ErrNotFound, "demo.files", err, "the document is no longer available")
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, roamsign.Wrap(roamsign.ErrUnavailable, "demo.files", err, "cannot read the document")
	}
	return fh, st.Size(), nil
}

// repairStored writes a repaired copy of the stored document at path and
// returns the copy's path and what was wrong and changed, in plain words.
func (f *demoFiles) repairStored(ctx context.Context, path string) (string, string, error) {
	in, size, err := openSized(path)
	if err != nil {
		return "", "", err
	}
	defer in.Close()
	var rep *pdf.RepairReport
	out, err := f.create(func(w io.Writer) error {
		var err error
		rep, err = pdf.Repair(ctx, in, size, w, pdf.RepairOptions{})
		return err
	})
	if err != nil {
		return "", "", err
	}
	what := strings.Join(rep.Fixes, "; ")
	if rep.Damage != "" {
		what = rep.Damage + ": " + what
	}
	return out, what, nil
}

type demoUpload struct {
	path    string
	created time.Time
}

// upload stores the request body, a PDF of at most demoMaxStreamUpload
// bytes, streamed to disk, and returns its id for a prepare request
// ("uploadId").
func (d *hostDemo) upload(w http.ResponseWriter, r *http.Request) {
	const op = "demo.upload"
	body := http.MaxBytesReader(w, r.Body, demoMaxStreamUpload)
	path, err := d.files.create(func(w io.Writer) error {
		_, err := io.Copy(w, body)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return roamsign.E(roamsign.ErrTooLarge, op, "upload larger than %d MiB", demoMaxStreamUpload>>20)
		}
		if err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "the upload was cut short")
		}
		return nil
	})
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	id := randomID()
	d.mu.Lock()
	d.gc()
	if d.uploads == nil {
		d.uploads = map[string]*demoUpload{}
	}
	d.uploads[id] = &demoUpload{path: path, created: d.now()}
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"upload": id})
}

// takeUpload returns and forgets the stored upload id.
func (d *hostDemo) takeUpload(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.uploads[id]
	delete(d.uploads, id)
	if !ok {
		return "", false
	}
	return u.path, true
}

// prepareRepairing prepares doc's signature with prepare; when the
// document is refused as damaged or encrypted and its user asked for a
// repair (doc.repair), the repaired copy replaces it and is prepared.
func prepareRepairing(ctx context.Context, doc *demoDoc, prepare func(f *os.File, size int64) (*pdf.Prepared, error)) (*pdf.Prepared, error) {
	for try := 0; ; try++ {
		f, size, err := openSized(doc.path)
		if err != nil {
			return nil, err
		}
		doc.file = f
		prep, err := prepare(f, size)
		if err == nil || try > 0 || doc.repair == nil || !(errors.Is(err, pdf.ErrRepairable) || errors.Is(err, pdf.ErrEncrypted)) {
			return prep, err
		}
		f.Close()
		doc.file = nil
		p, what, rerr := doc.repair.repairStored(ctx, doc.path)
		if rerr != nil {
			return nil, rerr
		}
		os.Remove(doc.path)
		doc.path, doc.Repaired = p, what
	}
}

// release closes the document and removes its file, if it has one.
func (doc *demoDoc) release() {
	if doc.file != nil {
		doc.file.Close()
		doc.file = nil
	}
	if doc.path != "" {
		os.Remove(doc.path)
	}
}

// releaseAll releases the documents' files.
func releaseAll(docs []*demoDoc) {
	for _, doc := range docs {
		doc.release()
	}
}

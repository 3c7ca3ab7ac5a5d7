package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
)

// demoFiles keeps the demo's documents on disk: uploads, the copies being
// signed and the signed results, each in its own file of dir (DataDir/
// demo-work, on the file system of the archive, so that a signed file is
// renamed into the archive, not copied), read and written in chunks.
type demoFiles struct {
	dir  string
	once sync.Once
	err  error
}

// demoLeftover is the age beyond which a file found in the work directory
// when the demo first writes there is a crash's leftover: every file of a
// running demo is removed within demoSessionTTL.
const demoLeftover = 2 * demoSessionTTL

// open makes the work directory on first use and removes the files a
// crash left behind.
func (f *demoFiles) open() error {
	f.once.Do(func() {
		if f.err = os.MkdirAll(f.dir, 0o700); f.err != nil {
			return
		}
		entries, _ := os.ReadDir(f.dir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > demoLeftover {
				_ = os.RemoveAll(filepath.Join(f.dir, e.Name()))
			}
		}
	})
	if f.err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, "demo.files", f.err, "cannot store documents")
	}
	return nil
}

// create streams what write produces into a new file and returns its path;
// on error nothing is left behind.
func (f *demoFiles) create(write func(w io.Writer) error) (string, error) {
	if err := f.open(); err != nil {
		return "", err
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

// copyOf stores a copy of the file at path.
func (f *demoFiles) copyOf(path string) (string, error) {
	in, _, err := openSized(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	return f.create(func(w io.Writer) error { _, err := io.Copy(w, in); return err })
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

// repairNote is what a repair found and changed, in plain words, for the
// signing screen, the result and the archive.
type repairNote struct {
	Damage string   `json:"damage,omitempty"`
	Fixes  []string `json:"fixes"`
}

// repairStored writes a repaired copy of the stored document at path (the
// encryption removed when it has permissions only) and returns the copy's
// path and what the repair found and changed.
func (f *demoFiles) repairStored(ctx context.Context, path string) (string, *repairNote, error) {
	in, size, err := openSized(path)
	if err != nil {
		return "", nil, err
	}
	defer in.Close()
	var rep *pdf.RepairReport
	out, err := f.create(func(w io.Writer) error {
		var err error
		rep, err = pdf.Repair(ctx, in, size, w, pdf.RepairOptions{RemoveEncryption: true})
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return out, &repairNote{Damage: rep.Damage, Fixes: rep.Fixes}, nil
}

type demoUpload struct {
	path    string
	created time.Time
}

// upload stores the request body, a PDF of at most d.maxUpload bytes,
// streamed to disk in chunks (the memory it takes does not grow with the
// file), and returns its id for a prepare request ("uploadId"). A larger
// body gets the one refusal of uploadTooLarge.
func (d *hostDemo) upload(w http.ResponseWriter, r *http.Request) {
	const op = "demo.upload"
	if r.ContentLength > d.maxUpload {
		writeDemoProblem(w, r, uploadTooLarge(d.maxUpload))
		return
	}
	// A large file takes longer to arrive than the server's read timeout,
	// which is meant for API requests.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(demoTransferTime))
	body := http.MaxBytesReader(w, r.Body, d.maxUpload)
	path, err := d.files.create(func(w io.Writer) error {
		_, err := io.Copy(w, body)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return uploadTooLarge(d.maxUpload)
		}
		if err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "the upload was cut short")
		}
		return nil
	})
	if err != nil {
		writeDemoProblem(w, r, err)
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
// document is refused as damaged or encrypted with permissions only and
// its user asked for a repair (doc.repair), the repaired copy replaces it
// (the upload as sent is removed) and is prepared; doc.repaired then says
// what was fixed.
func prepareRepairing(ctx context.Context, doc *demoDoc, prepare func(f *os.File, size int64) (*pdf.Prepared, error)) (*pdf.Prepared, error) {
	for try := 0; ; try++ {
		f, size, err := openSized(doc.path)
		if err != nil {
			return nil, err
		}
		doc.file = f
		prep, err := prepare(f, size)
		if err == nil || try > 0 || doc.repair == nil || !(errors.Is(err, pdf.ErrRepairable) || errors.Is(err, pdf.ErrOwnerEncrypted)) {
			return prep, err
		}
		f.Close()
		doc.file = nil
		p, note, rerr := doc.repair.repairStored(ctx, doc.path)
		if rerr != nil {
			return nil, rerr
		}
		os.Remove(doc.path)
		doc.path, doc.repaired = p, note
	}
}

// release closes the document and removes its files, if it has any (a
// file the archive moved is gone already).
func (doc *demoDoc) release() {
	if doc.file != nil {
		doc.file.Close()
		doc.file = nil
	}
	for _, p := range []string{doc.path, doc.copy} {
		if p != "" {
			os.Remove(p)
		}
	}
}

// releaseAll releases the documents' files.
func releaseAll(docs []*demoDoc) {
	for _, doc := range docs {
		doc.release()
	}
}

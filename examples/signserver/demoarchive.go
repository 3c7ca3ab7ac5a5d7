package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// demoRetention is how long the host demo keeps signed PDFs in the data
// directory (DataDir/demo-signed); older ones are deleted when the next
// documents are signed.
const demoRetention = 7 * 24 * time.Hour

// demoArchive keeps the signed PDFs of the host demo on disk, one
// directory per transaction (meta.json, N.pdf and, for a document
// repaired before it was signed, N-repaired.pdf), so that the download
// links and the next approval level survive a restart of the server.
type demoArchive struct {
	dir  string
	keep time.Duration
	now  func() time.Time
}

// archiveMeta describes a transaction's documents; File is empty for a
// document that was not signed, Copy names the repaired copy that was
// signed, and Repaired says what its repair fixed.
type archiveMeta struct {
	Docs []archiveDoc `json:"docs"`
}

type archiveDoc struct {
	Name       string      `json:"name"`
	DataHeader string      `json:"dataHeader"`
	File       string      `json:"file,omitempty"`
	Copy       string      `json:"copy,omitempty"`
	Repaired   *repairNote `json:"repaired,omitempty"`
}

const archiveMetaFile = "meta.json"

// txDir returns the directory of transaction tx, refusing an id that is
// not a plain name (it comes from a URL).
func (a *demoArchive) txDir(tx string) (string, error) {
	if tx == "" || len(tx) > 128 || safeName(tx) != tx {
		return "", roamsign.E(roamsign.ErrNotFound, "demo.archive", "no signed documents for that transaction")
	}
	return filepath.Join(a.dir, tx), nil
}

// store keeps the documents of transaction tx (no path: not signed): it
// moves their files (on the same file system, see demoFiles) into a
// temporary directory renamed into place, and deletes transactions older
// than the retention period.
func (a *demoArchive) store(tx string, docs []*demoDoc) error {
	dir, err := a.txDir(tx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return err
	}
	a.sweep()
	tmp, err := os.MkdirTemp(a.dir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename
	var meta archiveMeta
	for i, doc := range docs {
		d := archiveDoc{Name: doc.Name, DataHeader: doc.DataHeader, Repaired: doc.repaired}
		if doc.path != "" {
			d.File = fmt.Sprintf("%d.pdf", i)
			if err := os.Rename(doc.path, filepath.Join(tmp, d.File)); err != nil {
				return err
			}
		}
		if doc.copy != "" {
			d.Copy = fmt.Sprintf("%d-repaired.pdf", i)
			if err := os.Rename(doc.copy, filepath.Join(tmp, d.Copy)); err != nil {
				return err
			}
		}
		meta.Docs = append(meta.Docs, d)
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, archiveMetaFile), b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// meta reads the description of transaction tx.
func (a *demoArchive) meta(tx string) (string, *archiveMeta, error) {
	dir, err := a.txDir(tx)
	if err != nil {
		return "", nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, archiveMetaFile))
	if err != nil {
		return "", nil, roamsign.Wrap(roamsign.ErrNotFound, "demo.archive", err,
			fmt.Sprintf("no signed documents for that transaction (the demo keeps them %d days)", int(a.keep.Hours()/24)))
	}
	var m archiveMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return "", nil, roamsign.Wrap(roamsign.ErrInternal, "demo.archive", err, "unreadable description of the signed documents")
	}
	return dir, &m, nil
}

// load returns copies in files of the signed documents of transaction
// tx, for the next approval level (the copies are the caller's to
// release, the archive keeps its own). On error, nothing is left behind.
func (a *demoArchive) load(tx string, files *demoFiles) ([]*demoDoc, error) {
	dir, m, err := a.meta(tx)
	if err != nil {
		return nil, err
	}
	var docs []*demoDoc
	for _, d := range m.Docs {
		if d.File == "" {
			continue
		}
		p, err := files.copyOf(filepath.Join(dir, filepath.Base(d.File)))
		if err != nil {
			releaseAll(docs)
			return nil, err
		}
		docs = append(docs, &demoDoc{Name: d.Name, path: p})
	}
	return docs, nil
}

// open returns the i-th signed PDF of transaction tx, or the repaired copy
// that was signed, and the document's name.
func (a *demoArchive) open(tx string, i int, repaired bool) (*os.File, string, error) {
	dir, m, err := a.meta(tx)
	if err != nil {
		return nil, "", err
	}
	if i < 0 || i >= len(m.Docs) {
		return nil, "", roamsign.E(roamsign.ErrNotFound, "demo.archive", "no such signed document")
	}
	file := m.Docs[i].File
	if repaired {
		file = m.Docs[i].Copy
	}
	if file == "" {
		return nil, "", roamsign.E(roamsign.ErrNotFound, "demo.archive", "no such signed document")
	}
	f, err := os.Open(filepath.Join(dir, filepath.Base(file)))
	return f, m.Docs[i].Name, err
}

// sweep deletes the transactions kept longer than the retention period
// and temporary directories a crash left behind.
func (a *demoArchive) sweep() {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		age := a.now().Sub(info.ModTime())
		if age > a.keep || strings.HasPrefix(e.Name(), ".tmp-") && age > time.Hour {
			_ = os.RemoveAll(filepath.Join(a.dir, e.Name()))
		}
	}
}

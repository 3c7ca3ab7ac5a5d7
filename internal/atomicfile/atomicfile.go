// Package atomicfile writes files so that a reader sees either the old
// content or the whole new content, never a part: the data goes to a
// temporary file in the same directory, which is synced and then renamed
// (or hard-linked) onto the name, and the directory is synced.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExist is returned by Create when the name is taken.
var ErrExist = fs.ErrExist

// Replace writes data to path with mode perm, replacing any existing file.
func Replace(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// Create writes data to path with mode perm only if path does not exist;
// otherwise it returns an error matching fs.ErrExist. A file that appears
// while the data is written is not overwritten either.
func Create(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil || !replace {
			_ = os.Remove(tmp)
		}
	}()
	// Set the mode before any content is written.
	if err = f.Chmod(perm); err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		// A hard link publishes the file only if the name is still free.
		err = os.Link(tmp, path)
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir syncs a directory, so that renames and removals in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

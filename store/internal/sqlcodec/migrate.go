package sqlcodec

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// Migrations lists the embedded migration files (migrations/*.sql) in the
// order they apply.
func Migrations(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// MustCount returns the number of migrations in fsys, the schema version a
// build writes; it panics if the embedded files cannot be listed.
func MustCount(fsys fs.FS) int {
	names, err := Migrations(fsys)
	if err != nil {
		panic(err)
	}
	return len(names)
}

// Apply runs the migrations names[from:] in order with exec, recording the
// new schema version after each with set. A database newer than names is
// [store.ErrSchemaTooNew].
func Apply(fsys fs.ReadFileFS, names []string, from int, exec func(body string) error, set func(version int) error) error {
	if from > len(names) {
		return TooNew(from, len(names))
	}
	for i := from; i < len(names); i++ {
		body, err := fsys.ReadFile(names[i])
		if err != nil {
			return err
		}
		if err := exec(string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", names[i], err)
		}
		if err := set(i + 1); err != nil {
			return err
		}
	}
	return nil
}

// TooNew reports a database schema version v newer than the known one.
func TooNew(v, known int) error {
	return fmt.Errorf("%w: database has version %d, this build knows %d", store.ErrSchemaTooNew, v, known)
}

// TooOld reports a database schema version v older than the one needed.
func TooOld(v, need int) error {
	return fmt.Errorf("%w: database has version %d, this build needs %d", store.ErrSchemaTooOld, v, need)
}

// AlreadyClassified reports whether err needs no classification by a
// backend: nil, or already a [*roamsign.Error].
func AlreadyClassified(err error) bool {
	var re *roamsign.Error
	return err == nil || errors.As(err, &re)
}

package store

import "github.com/roamsign/roamsign"

// Errors that backends return when opening a database. Match them with
// errors.Is; they also match their root kind.
var (
	// ErrSchemaTooNew: the database was migrated by a newer build; this
	// build refuses to use it rather than misread it. Kind ErrUnsupported.
	ErrSchemaTooNew = roamsign.E(roamsign.ErrUnsupported, "store.Open", "database schema is newer than this build")
	// ErrSchemaTooOld: a read-only open found a schema that needs migrating.
	// Kind ErrUnavailable.
	ErrSchemaTooOld = roamsign.E(roamsign.ErrUnavailable, "store.Open", "database schema needs migrating and the database is read-only")
	// ErrCorrupt: the database file is corrupt or not a database. Kind
	// ErrInternal.
	ErrCorrupt = roamsign.E(roamsign.ErrInternal, "store.Open", "database is corrupt or not a database")
)

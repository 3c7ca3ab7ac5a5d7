-- The short-lived state of the API faces (the CSC face's SADs, tokens,
-- authorization codes, pending challenges, signing pages), shared by
-- replicas: store.SessionStore. key is a digest of the handle, never the
-- handle; expires_at is in Unix microseconds.
CREATE TABLE sessions (
	kind       TEXT    NOT NULL,
	key        BLOB    NOT NULL,
	value      BLOB    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT;
CREATE INDEX sessions_expiry ON sessions (kind, expires_at);

-- The short-lived state of the API faces (the CSC face's SADs, tokens,
-- authorization codes, pending challenges, signing pages), shared by
-- replicas: store.SessionStore. key is a digest of the handle, never the
-- handle.
CREATE TABLE sessions (
	kind       TEXT        NOT NULL,
	key        BYTEA       NOT NULL,
	value      BYTEA       NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX sessions_expiry ON sessions (kind, expires_at);

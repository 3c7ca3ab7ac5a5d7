-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL is the zero time.
-- Lists (hosts, media, devices, certificate chains, items) are JSON text.

CREATE TABLE challenges (
	id            TEXT    PRIMARY KEY,
	user_id       TEXT    NOT NULL,
	host          TEXT    NOT NULL,
	nonce         BLOB    NOT NULL,
	mac           BLOB    NOT NULL,
	hash_list     BLOB    NOT NULL,
	count         INTEGER NOT NULL,
	data_header   TEXT    NOT NULL,
	channel       TEXT    NOT NULL,
	sent_to       TEXT    NOT NULL,
	created_at    INTEGER,
	expires_at    INTEGER NOT NULL,
	tries         INTEGER NOT NULL,
	max_tries     INTEGER NOT NULL,
	consumed      INTEGER NOT NULL,
	consumed_at   INTEGER,
	undeliverable INTEGER NOT NULL
) STRICT;
CREATE INDEX challenges_user ON challenges (user_id, created_at);
CREATE INDEX challenges_host ON challenges (host, created_at);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE users (
	id           TEXT    PRIMARY KEY,
	name         TEXT    NOT NULL,
	hosts        TEXT    NOT NULL,
	media        TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	devices      TEXT    NOT NULL,
	key_ref      TEXT    NOT NULL,
	chain        TEXT    NOT NULL,
	disabled     INTEGER NOT NULL,
	pin_verifier BLOB,
	pin_failures INTEGER NOT NULL,
	locked       INTEGER NOT NULL,
	locked_at    INTEGER,
	otp_failures INTEGER NOT NULL,
	created_at   INTEGER,
	updated_at   INTEGER
) STRICT;

CREATE TABLE transactions (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL,
	host         TEXT    NOT NULL,
	request_id   TEXT    NOT NULL,
	challenge_id TEXT    NOT NULL,
	hash_list    BLOB    NOT NULL,
	count        INTEGER NOT NULL,
	form         TEXT    NOT NULL,
	state        TEXT    NOT NULL,
	items        TEXT    NOT NULL,
	chain        TEXT    NOT NULL,
	sig_alg      TEXT    NOT NULL,
	error        TEXT    NOT NULL,
	created_at   INTEGER,
	updated_at   INTEGER,
	UNIQUE (host, request_id)
) STRICT;
CREATE INDEX transactions_pending ON transactions (state, created_at);
CREATE INDEX transactions_updated ON transactions (state, updated_at);

CREATE TABLE audit (
	seq            INTEGER PRIMARY KEY,
	time           INTEGER NOT NULL,
	event          TEXT    NOT NULL,
	user_id        TEXT    NOT NULL,
	host           TEXT    NOT NULL,
	data_header    TEXT    NOT NULL,
	hash_list      BLOB,
	count          INTEGER NOT NULL,
	cert_serial    TEXT    NOT NULL,
	channel        TEXT    NOT NULL,
	outcome        TEXT    NOT NULL,
	transaction_id TEXT    NOT NULL,
	detail         TEXT    NOT NULL,
	prev_hash      BLOB    NOT NULL,
	hash           BLOB    NOT NULL
) STRICT;

-- The chain head: one row, updated in the same transaction as each append.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

-- The audit log is append-only: the application never updates or deletes
-- it. These triggers stop accidents; the hash chain detects the rest.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

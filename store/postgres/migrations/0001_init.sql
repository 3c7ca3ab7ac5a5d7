-- Times are TIMESTAMPTZ (microsecond precision, UTC); NULL is the zero time.
-- Lists (hosts, media, devices, certificate chains, items) are JSON text.

CREATE TABLE challenges (
	id            TEXT        PRIMARY KEY,
	user_id       TEXT        NOT NULL,
	host          TEXT        NOT NULL,
	nonce         BYTEA       NOT NULL,
	mac           BYTEA       NOT NULL,
	hash_list     BYTEA       NOT NULL,
	count         INTEGER     NOT NULL,
	data_header   TEXT        NOT NULL,
	channel       TEXT        NOT NULL,
	sent_to       TEXT        NOT NULL,
	created_at    TIMESTAMPTZ,
	expires_at    TIMESTAMPTZ NOT NULL,
	tries         INTEGER     NOT NULL,
	max_tries     INTEGER     NOT NULL,
	consumed      BOOLEAN     NOT NULL,
	consumed_at   TIMESTAMPTZ,
	undeliverable BOOLEAN     NOT NULL
);
CREATE INDEX challenges_user ON challenges (user_id, created_at);
CREATE INDEX challenges_host ON challenges (host, created_at);
CREATE INDEX challenges_expires ON challenges (expires_at);

CREATE TABLE users (
	id           TEXT        PRIMARY KEY,
	name         TEXT        NOT NULL,
	hosts        TEXT        NOT NULL,
	media        TEXT        NOT NULL,
	email        TEXT        NOT NULL,
	devices      TEXT        NOT NULL,
	key_ref      TEXT        NOT NULL,
	chain        TEXT        NOT NULL,
	disabled     BOOLEAN     NOT NULL,
	pin_verifier BYTEA,
	pin_failures INTEGER     NOT NULL,
	locked       BOOLEAN     NOT NULL,
	locked_at    TIMESTAMPTZ,
	otp_failures INTEGER     NOT NULL,
	created_at   TIMESTAMPTZ,
	updated_at   TIMESTAMPTZ
);

CREATE TABLE transactions (
	id           TEXT        PRIMARY KEY,
	user_id      TEXT        NOT NULL,
	host         TEXT        NOT NULL,
	request_id   TEXT        NOT NULL,
	challenge_id TEXT        NOT NULL,
	hash_list    BYTEA       NOT NULL,
	count        INTEGER     NOT NULL,
	form         TEXT        NOT NULL,
	state        TEXT        NOT NULL,
	items        TEXT        NOT NULL,
	chain        TEXT        NOT NULL,
	sig_alg      TEXT        NOT NULL,
	error        TEXT        NOT NULL,
	created_at   TIMESTAMPTZ,
	updated_at   TIMESTAMPTZ,
	UNIQUE (host, request_id)
);
CREATE INDEX transactions_pending ON transactions (state, created_at);
CREATE INDEX transactions_updated ON transactions (state, updated_at);

CREATE TABLE audit (
	seq            BIGINT      PRIMARY KEY,
	time           TIMESTAMPTZ NOT NULL,
	event          TEXT        NOT NULL,
	user_id        TEXT        NOT NULL,
	host           TEXT        NOT NULL,
	data_header    TEXT        NOT NULL,
	hash_list      BYTEA,
	count          INTEGER     NOT NULL,
	cert_serial    TEXT        NOT NULL,
	channel        TEXT        NOT NULL,
	outcome        TEXT        NOT NULL,
	transaction_id TEXT        NOT NULL,
	detail         TEXT        NOT NULL,
	prev_hash      BYTEA       NOT NULL,
	hash           BYTEA       NOT NULL
);

-- The chain head: one row, locked (FOR UPDATE) and updated in the same
-- transaction as each append, which serialises appends across replicas.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT  NOT NULL,
	hash BYTEA
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

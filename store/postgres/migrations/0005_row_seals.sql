-- Row integrity (store.Sealer): every user, challenge and transaction row
-- carries a seal, HMAC-SHA-256 under the row key held in the key store,
-- and an epoch counting its sealed writes. Rows written before this
-- version have no seal (NULL): a store with a row key refuses them until
-- an operator seals them (`signserver store seal`).
ALTER TABLE users ADD COLUMN seal BYTEA;
ALTER TABLE users ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
-- The key a challenge was issued for: Sign uses no other.
ALTER TABLE challenges ADD COLUMN key_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE challenges ADD COLUMN seal BYTEA;
ALTER TABLE challenges ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN seal BYTEA;
ALTER TABLE transactions ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
-- One transaction per challenge: a consumed challenge put back as open
-- still has its transaction, so it cannot authorise a second one.
CREATE UNIQUE INDEX transactions_challenge ON transactions (challenge_id);

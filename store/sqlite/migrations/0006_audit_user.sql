-- The latest audit event of a user (store.UserEvents), read at signing to
-- check a user row's lock state against the audit log.
CREATE INDEX audit_user ON audit (user_id, seq);

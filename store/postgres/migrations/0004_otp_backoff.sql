-- OTP failures are counted per (user, host) with a back-off that expires
-- on its own (roamsign.OTPBackoff), no longer per user with a permanent
-- lock that any host could set for every host.
CREATE TABLE otp_backoff (
	user_id       TEXT        NOT NULL,
	host          TEXT        NOT NULL,
	failures      INTEGER     NOT NULL,
	blocked_until TIMESTAMPTZ,
	updated_at    TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (user_id, host)
);
ALTER TABLE users DROP COLUMN otp_failures;

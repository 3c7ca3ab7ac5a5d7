-- Last accepted offline-OTP (TOTP) time step per user, against replays.
CREATE TABLE otp_steps (
	user_id TEXT   PRIMARY KEY,
	step    BIGINT NOT NULL
);

// Package otp issues and verifies one-time-password challenges bound to a
// server nonce and to the exact list of hashes to be signed, delivers the
// OTP (app push, e-mail, development console), and checks offline OTPs
// (TOTP, OCRA) from an app holding a seed.
//
// # Overview
//
// [Manager.Issue] creates a challenge for a user, a host, a data header and
// a hash list: a 128-bit random id, a 128-bit random nonce, a 6-digit OTP
// drawn uniformly from crypto/rand, an expiry (5 minutes by default, at
// most 10) and the hash-list digest (roamsign.HashListDigest). It stores
// only HMAC-SHA-256 under the server key ([MACKey]) over
//
//	"roamsign/otp-mac/v1" 0x00 ‖ len16(id) ‖ id ‖ len16(nonce) ‖ nonce ‖ len16(otp) ‖ otp ‖ digest
//
// and sends the OTP with the 4-digit [VerificationCode] (derived from nonce
// and digest, shown on the host's signing screen too), the data header and
// the expiry. The host receives id, nonce, expiry, the channel used and a
// masked destination; never the OTP.
//
// [Manager.Verify] checks id, nonce, OTP and hashes and consumes the
// challenge. [Manager.Check] does the same checks without consuming, for a
// caller that consumes the challenge inside its own database transaction;
// [Manager.CheckTried] is Check for a caller that has taken the attempt's
// try of the challenge itself (the service, whose attempts can also fail
// on the PIN: Sign takes one try, CheckTried, then the store's
// BeginTransaction runs ConsumeChallenge atomically with the transaction
// and audit records).
//
// Refusals are distinct errors that also match root kinds: [ErrWrongNonce],
// [ErrHashMismatch] and [ErrWrongOTP] (roamsign.ErrAuthorization),
// [ErrExpired] and [ErrTooManyTries] (roamsign.ErrExpired: request a new
// OTP), [ErrAlreadyUsed] (roamsign.ErrUsed), [ErrBackoff] and
// [ErrRateLimited] (roamsign.ErrRateLimited, carrying the wait:
// roamsign.RetryAfterOf), [ErrUndeliverable] (roamsign.ErrDelivery).
//
// # OTP failures
//
// Wrong OTPs are counted per (user, host), never per user alone: a host
// can hold back only itself. From the fifth consecutive wrong OTP of a
// host for a user that host waits before its next attempt or OTP for the
// user: a minute, doubling after each further failure up to an hour
// ([Config].Backoff, [roamsign.OTPBackoff]). Waits expire on their own;
// nothing here locks a user (the permanent lock is the PIN's, kept by the
// service, and a PIN is tried only with the right OTP). Each attempt is
// counted before its OTP is compared, in one atomic step of the store, so
// the count is exact across replicas; a right OTP clears the host's count,
// and so does an administrator. A wrong OTP that starts or lengthens a
// wait is recorded in the audit log (roamsign.AuditOTPBackoff).
//
// # Delivery
//
// [Delivery] is the channel policy: app push ([PushSender]) first when the
// user has a registered device; e-mail ([SMTPSender]) when there is no
// device or the push fails, unless ForbidEmail is set; the development
// console ([NewDevConsoleSender]) only when configured. The channel that
// delivered and the masked destination are stored with MarkDelivered and
// named in the [Challenge] (and the service's OTP response). When no channel
// delivers, the challenge is marked undeliverable (it can never be used)
// and Issue returns an error matching [ErrUndeliverable] and
// roamsign.ErrDelivery.
//
// The e-mail is bilingual (Malay, then English), UTF-8 and
// quoted-printable, with Date and Message-ID headers, sent over STARTTLS or
// implicit TLS with AUTH PLAIN; plain-text SMTP is not offered. The push
// request is JSON ([PushRequest]) whose HMAC-SHA-256 under a key shared
// with the gateway travels in [PushSignatureHeader]; 5xx answers and
// network errors are retried with backoff, all attempts together within
// [Delivery].AppBudget (default 5 s) before the e-mail fallback, so a slow
// gateway delays an OTP by at most that much. The gateway URL must be
// https ([CheckPushURL]): the OTP travels in the request; plain http only
// where a development server allows it (PushConfig.AllowHTTP).
//
// # Offline OTP
//
// [TOTP] and [TOTPVerifier] implement RFC 6238; [ParseSuite], [Suite] and
// [OCRAVerifier] implement RFC 6287 OCRA. [Suite.Question] derives the OCRA
// challenge from a challenge's nonce and hash-list digest, so the app's
// response approves exactly that signing. A [StepStore] refuses a code for
// a time step already accepted (or older); use one StepStore per method.
//
// # Configuration
//
// [Config] zero values select the defaults: TTL 5 minutes (max 10), 3
// attempts per challenge, the back-off above, and at most 20 challenges
// per user, 5 per user from one host and 1000 per host in 15 minutes,
// counted and inserted in one atomic step of the store.
//
// # Concurrency
//
// A Manager holds no mutable state and is safe for concurrent use; all
// state is in the [Store]. Single use is the store's ConsumeChallenge
// compare-and-set: of many concurrent correct submissions exactly one
// succeeds. Every attempt takes one of the challenge's tries with the
// store's TakeTry before any comparison, so parallel guesses never compare
// more OTPs than a challenge allows. The stored Tries therefore counts
// attempts (the successful one included) and MaxTries is the number of
// attempts allowed.
//
// # Security
//
// The OTP is never stored, logged or put in an error; [Message].OTP is a
// roamsign.Secret. Comparisons are constant-time (hmac.Equal,
// crypto/subtle). The key may live in an HSM behind [MACKey].
//
// # Limitations
//
// The per-host issuance limit is counted in the same step as the insert but
// serialised only per user across replicas, so concurrent issuance for
// different users of one host may exceed it by the number in flight.
// Counter-based OCRA suites are computed but not verified (no counter
// store).
package otp

// Package service is the roamsign server core: it implements
// [roamsign.API] and [roamsign.Admin] by assembling the parts (key store,
// OTP challenges, store, output-form signers) behind narrow interfaces.
//
// # Overview
//
// A host system calls Medium, then RequestOTP with the hashes to sign; the
// service binds a challenge to the user, the host, the data header and the
// exact hash list and delivers the OTP through the [Challenger]. The host
// then calls Sign with the challenge id, nonce, PIN, OTP, the same hashes
// and a request id. Sign runs signature activation (one function, see
// below), signs the batch with the user's key from the [KeyStore], checks
// every signature against the certificate, commits the transaction with its
// audit entry and only then returns signatures, chain and transaction id.
//
// # Signature activation
//
// All checks that guard a key live in one function. In order: the challenge
// exists and belongs to the calling host (another host's challenge is
// "not found"); it is unconsumed, delivered, unexpired and has tries left;
// the user is enrolled for the host, not disabled, not locked, has a
// certificate and a PIN, and the audit log does not say locked (a row put
// back from before a lock); the challenge was issued for the user's key,
// and the user's certificate certifies that key and names the user (the
// steps ImportChain applies, applied again before every use of the key);
// the attempt takes one of the challenge's tries
// (the store's TakeTry, atomic across replicas), so every failed attempt
// spends exactly one whichever factor failed; the nonce and the hash-list
// digest and count match the challenge; the OTP matches (Challenger.CheckOTP); the PIN
// matches its Argon2id verifier. Then one store transaction consumes the
// challenge (compare-and-set), records the pending transaction, bound to
// user, key, hash-list digest and count, and appends the audit entry.
//
// Every failure of nonce, hashes, OTP or PIN returns the same
// [roamsign.ErrAuthorization] error, and the PIN is evaluated on every
// attempt, so neither the answer nor its timing says which factor failed.
// A wrong PIN counts towards the lock only when the OTP was right, so a
// party without the user's OTP cannot lock the user out; at the limit the
// answer is [roamsign.ErrLocked] and only ResetPIN clears it. The lock is
// the only permanent one: wrong OTPs make only the host that sent them
// wait, for a time (the Challenger's back-off per user and host,
// [roamsign.OTPBackoff]: [roamsign.ErrRateLimited] carrying the wait,
// cleared early by ClearOTPBackoff). Neither answer names the factor that
// failed. A new OTP
// never resets the count; only a fully successful approval does. The PIN
// attempt is counted in the store before the PIN is evaluated (and the
// count reset on success), so parallel guesses, on one replica or many,
// never get more evaluations than the limit.
//
// # Late binding
//
// With Config.LateBinding a host may ask for an OTP before it names the
// hashes ([Service.RequestOTPLateBound]); the challenge's one Sign then
// binds the hashes it names, and the authorisation and signature audit
// records carry [DetailLateBound]. The OTP still binds user, host, nonce
// and data header, is single-use and limited in time and tries, and the
// PIN is checked as always; what is lost is the signer seeing the
// verification code of the exact hashes in the OTP message. It serves
// signature applications that cannot name the data first (the CSC API's
// getChallenge); it is off by default.
//
// # Idempotency
//
// (host, request id) names a Sign call. A retry with the same id and the
// same challenge, hashes and form returns the first result without signing
// again (waiting up to Config.ReplayWait while the first call is still in
// flight); the same id with other content is [roamsign.ErrConflict]. A
// different request id with a used challenge is [roamsign.ErrUsed].
//
// # Configuration
//
// [Config] holds policy with documented zero-value defaults: at most 5
// consecutive PIN failures (1 to 10), Argon2id at 19 MiB, 2 passes, 1 lane
// ([PINParams]), at most 1000 hashes per batch, 30 days of transaction
// retention, 5 minutes before a pending transaction counts as expired.
// [Deps] injects the parts and the clock; an optional [Pepper] MACs PINs
// with an HSM-held key before Argon2id.
//
// # Concurrency
//
// A Service is safe for concurrent use and keeps no state of its own
// beyond a semaphore bounding concurrent Argon2id evaluations
// (Config.ArgonConcurrency) and striped per-user locks that run one
// activation attempt per user at a time in the process; all shared state is
// in the store, so any number of replicas may share one PostgreSQL
// database. Single use under
// concurrency rests on the store's compare-and-set in BeginTransaction.
// The raw form signs a batch on up to RawSigner.Workers goroutines.
//
// # Security
//
// PINs exist in clear only during the activation check and SetPIN; they
// are stored as PHC-encoded Argon2id verifiers and compared in constant
// time. Logs carry request ids, masked user ids, host ids, challenge and
// transaction ids, kinds and counts, never a PIN, OTP, nonce or key
// material; errors never contain them either. Once a [Pepper] is
// configured, a verifier made without it (which anyone who can write the
// database can compute) is refused. A stored key, certificate or PIN
// verifier that does not belong together is refused with
// [roamsign.ErrUnavailable], an ALARM in the log and a
// [roamsign.AuditTampered] audit record (docs/row-integrity.md, with the
// stores' row seals). PIN rules: 6 to 16
// characters, no single repeated character, no ascending or descending
// run, not a common PIN, not the user id or 6 consecutive digits of it.
//
// Every signature is verified against the user's certificate before the
// transaction is committed and anything is returned (FormSigner.CheckBatch).
// For RSA this stops a faulty CRT computation in the key store from
// leaking the private key through a returned signature; for every key type
// it stops a signature by the wrong key (a key store that resolved the
// key to another object after a fault or re-initialisation) or a corrupted
// value from reaching the host. It is never skipped. Its price is one
// public-key operation per signature: a few percent of an RSA-2048 HSM
// signature, but for P-256 about half the CPU of a SoftHSM2 signature, which
// shows in benchmarks where the HSM and the service share the same cores
// (docs/performance.md); with a hardware HSM the check runs on the
// server's own CPUs beside the HSM's work.
//
// # Limitations
//
// Rate limiting of OTP issuance is the Challenger's job (package otp). A
// transaction left pending by a crash is only resolved by
// [Service.Sweep], which marks it failed.
package service

// Package roamsign is the shared vocabulary of the roamsign SDK: server-side
// ("roaming") digital signing authorised by a certificate PIN and a one-time
// password.
//
// # Overview
//
// A signer's private key lives in a server HSM instead of a USB token. A host
// system (an agency's "ICT system") asks for each signature, or a batch of
// signatures, on the signer's behalf; the signer approves it with the
// certificate PIN and a 6-digit OTP delivered to a phone app or by e-mail. The
// OTP is bound to a server nonce and to the exact list of hashes, so an
// approval can never be moved to other data.
//
// The flow a host follows:
//
//  1. Medium: which signing medium (token, softcert, roaming, roaming+OTP)
//     does the user hold, and which one is used for this host?
//  2. RequestOTP: the server binds a random nonce and a fresh OTP to the user
//     and the hashes, stores only a MAC of the OTP, and delivers the OTP.
//  3. Sign: the server checks nonce + OTP + PIN and the hashes in one place,
//     signs every hash with the user's HSM key, records an audit entry and
//     returns signatures, the certificate chain and a transaction id.
//  4. Status: pending, signed, failed or expired, for hosts that poll.
//  5. Verify: the host checks each signature (chain, CRL, validity at a
//     trusted time, key usage) with package verify.
//
// # Packages
//
// This package imports nothing of the module and only the standard library.
// It holds the [API] interface with its request and response types, the media
// kinds ([MediumKind]), hash descriptors ([HashAlgorithm], [Hash]), user ids
// ([UserID]), the error kinds ([Kind], [Error]) and the one way a key is
// called ([SignContext], with the optional [ContextSigner] and [Concurrent])
// that every other package uses:
//
//	medium/      signing-medium lookup (static, SQL-backed, HTTP directory, caching)
//	otp/         nonce + OTP challenges bound to hashes; OTP senders; TOTP/OCRA
//	hsm/         key custody: PKCS#11 key store and an encrypted software key store
//	signer/      raw and batch signing; signer/cms (CAdES), signer/pdf (PAdES)
//	tsa/         RFC 3161 time-stamping client, every token verified before use
//	verify/      chains, CRL, OCSP; raw, CMS and PDF verification; levels
//	store/       persistence: store/sqlite (embedded default), store/postgres,
//	             store/memory; store/storetest, the one conformance suite
//	service/     the server core implementing [API] and [Admin]; signature
//	             activation; audit. service/adapt connects the parts to it
//	transport/   faces of [API]: transport/httpapi (handler and client),
//	             transport/csc (CSC API v2); transport/ops (health, metrics)
//	servercert/  the server-certificate toolkit: CSR, bundle check, TLS grade
//	internal/    pdfx (strict PDF reader and incremental writer, shared by
//	             signer/pdf and verify), cms (the CMS parser and encoder shared
//	             by signer/cms, tsa and verify), and test support: testpki,
//	             softhsmtest, pgtest, smtptest, apitest, leakcheck
//	examples/    signserver (runnable, embedded defaults), hostclient, certcheck
//
// The parts never import one another: each consumer defines the narrow
// interface it needs; package service assembles them and service/adapt
// wires the parts to its interfaces.
//
// # Security
//
// The PIN is an activation secret kept only as a salted Argon2id verifier,
// with a consecutive-failure limit and a lock that only an administrator can
// clear. OTPs are 6 uniform digits from a CSPRNG, valid for minutes, tried at
// most a few times, single use, stored only as a MAC over challenge id, nonce,
// OTP and the digest of the hash list. Neither PIN nor OTP ever appears in a
// log line, an error or storage in clear. Keys are generated inside the HSM,
// sensitive and non-extractable. Every error carries a [Kind] so callers can
// branch with [errors.Is] without parsing messages.
package roamsign

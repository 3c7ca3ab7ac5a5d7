// Package hsm holds signing keys behind [crypto.Signer]: a PKCS#11 key
// store for hardware security modules and a software key store for
// development and embedded use.
//
// # Overview
//
// A [KeyStore] generates key pairs (RSA 2048/3072/4096, ECDSA P-256/384/521)
// under an ID and a label, looks them up, lists and deletes them, and keeps
// each key's certificate chain. Every [Key] is a [crypto.Signer] with a
// context-aware SignContext ([roamsign.ContextSigner]); consumers such as
// package signer accept any crypto.Signer, call it through
// [roamsign.SignContext] and need not import this package.
//
// Two backends implement the same interface and pass the same conformance
// tests:
//
//   - [OpenPKCS11]: keys live in a PKCS#11 token (an HSM, or SoftHSM2 in
//     tests), generated inside it and never leaving it.
//   - [OpenSoftware]: keys live in files in a directory, encrypted at rest.
//
// Both stores also hold secret HMAC-SHA256 keys ([MACKeyStore]): in
// PKCS#11 a non-extractable CKK_GENERIC_SECRET key used with
// CKM_SHA256_HMAC, in software a sealed random key. The service can use one
// as a PIN-verifier pepper or an OTP MAC key.
//
// # Provisioning
//
// A service's MAC keys (an OTP MAC key, a PIN pepper) are made on its
// first start by [ProvisionMACKeys]: every replica looks its keys up, and
// only when one is missing takes a lock that all replicas share — their
// database, as a [Locker] (a PostgreSQL advisory lock, a SQLite write
// transaction) — looks again and generates what is still missing. Replicas
// starting together on a fresh token therefore make exactly one key of
// each, and a restart takes no lock at all. A separate one-time set-up
// step would avoid the race too, but every deployment would have to run it
// first and a replica started without it would fail; the lock keeps each
// replica's start self-contained at the cost of one lock on the first
// start. A token that already holds two keys with one ID is refused with
// roamsign.ErrConflict and advice on the repair.
//
// # Signatures
//
// The digest passed to Sign must be the output of opts.HashFunc(), one of
// SHA-256, SHA-384 and SHA-512; another length gives roamsign.ErrInvalidInput,
// another hash roamsign.ErrUnsupported, and nil options (raw signing)
// roamsign.ErrInvalidInput.
//
//   - RSA with a crypto.Hash: RSASSA-PKCS1-v1_5. The PKCS#11 backend builds
//     the DigestInfo itself and uses CKM_RSA_PKCS.
//   - RSA with *rsa.PSSOptions: RSASSA-PSS with MGF1 over the same hash
//     (CKM_RSA_PKCS_PSS). rsa.PSSSaltLengthEqualsHash and
//     rsa.PSSSaltLengthAuto both sign with a salt as long as the hash (the
//     stdlib's Auto would use the longest salt; tokens and RFC 8017
//     recommend the hash length, and Auto verifiers accept it). A positive
//     salt length is used as given.
//   - ECDSA: the signature is returned as an ASN.1 DER Ecdsa-Sig-Value; the
//     PKCS#11 backend converts CKM_ECDSA's r‖s.
//
// # Configuration
//
// A PKCS#11 store is named by an RFC 7512 URI (see [ParseURI]):
//
//	pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/roamsign/token.pin
//
// The path selects the token by token (label), serial, manufacturer, model
// and slot-id; id and object may name a key for [PKCS11Store.URIKey]. The
// query gives module-path (required) and the user PIN as pin-source (a file;
// preferred) or pin-value. Unknown, repeated or contradictory attributes are
// rejected with roamsign.ErrInvalidInput. [PKCS11Config.Sessions] sets the
// pool size.
//
// A software store needs a directory and a passphrase ([SoftwareConfig]).
//
// # Sessions and concurrency
//
// A PKCS#11 store keeps one logged-in session, which holds the token login
// for the application, and a bounded pool of Sessions sessions opened on
// first use. Every operation borrows one session for its whole duration
// (one goroutine per session at a time) and waits for a free one no longer
// than its context allows; the wait ends with roamsign.ErrUnavailable
// wrapping the context's error. Key handles and public keys are cached, so a
// signature costs C_SignInit + C_Sign on a borrowed session. A key's
// Concurrency ([roamsign.Concurrent]) reports the pool size so batch
// signers can size their worker pools. Keys and stores are safe for concurrent use.
//
// Calls into a PKCS#11 library are ordered by one lock per module in the
// process: operations on pooled sessions share it; opening, closing and
// logging in sessions and initialising the library take it alone. So the
// library is never initialised or finalised under another call, and a
// session handle the library hands out again after a fault is taken from
// its stale holder before anyone uses it, never used by two goroutines.
//
// Software keys are decrypted once, on first use, and sign in process;
// their Concurrency is GOMAXPROCS.
//
// # Fault recovery
//
// When a PKCS#11 call fails with CKR_SESSION_HANDLE_INVALID,
// CKR_SESSION_CLOSED, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
// CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_ERROR, CKR_CRYPTOKI_NOT_INITIALIZED,
// or CKR_SLOT_ID_INVALID, the store drops the
// session, re-initialises the module if it was finalised, finds the token
// again (by the label and serial found at open; slot numbers may change),
// reads its PIN flags, logs in again, finds the key again by CKA_ID
// (re-checking its attributes), and retries the operation once. A second
// failure fails closed with roamsign.ErrUnavailable. One goroutine recovers
// for all; the others reopen their sessions lazily. A stale key handle
// (CKR_KEY_HANDLE_INVALID) only makes the key be found again by CKA_ID.
//
// A lost token is recovered by re-initialising the module (C_Finalize,
// C_Initialize), since a module may keep a token that went away, and its
// objects, in a failed state until then, even once the token is back
// (SoftHSM2 does when its token directory is taken away). The token is
// lost when a call fails with CKR_TOKEN_NOT_PRESENT or CKR_DEVICE_REMOVED,
// when a key is not found while the token no longer answers on its slot,
// or when the token cannot be found again. The store then re-initialises
// the module, logs in and finds its keys again (checking their attributes
// and public keys); while the token stays lost, attempts are spaced by a
// back-off (100 ms, doubling up to 5 s) and calls in between fail at once
// with roamsign.ErrUnavailable. Calls drive the recovery: a readiness probe
// (see Readiness) keeps it going when no other call comes. Re-initialising
// ends the sessions of every store on the module in the process; they
// recover as after any fault.
//
// At open, a store that initialised the library itself retries for about
// a second when no token matches (initialising the library again: a
// module's token scan can miss a token that other processes are writing)
// and when the login fails without a verdict on the PIN. Only a PIN
// verdict (CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE,
// CKR_PIN_EXPIRED, CKR_PIN_LOCKED) is latched as described under Security.
//
// # Readiness
//
// [ReadinessCheck] is a readiness probe for a service's key store: both
// stores implement [KeyChecker], which finds the service's MAC keys and
// the signing key that signed most recently in the store itself, not in a
// cache, and reports roamsign.ErrUnavailable while one is missing or the
// token is lost.
//
// The PKCS#11 library is shared process-wide: stores on the same module
// share one initialisation, counted by reference, and the library is
// finalised on the last Close only if this package initialised it.
//
// # Security
//
//   - Keys are generated in the token with CKA_TOKEN, CKA_PRIVATE,
//     CKA_SENSITIVE and CKA_SIGN true and CKA_EXTRACTABLE, CKA_DECRYPT,
//     CKA_UNWRAP and CKA_DERIVE false. A private key that is not
//     CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE (for example one
//     imported or created extractable by another tool) is refused with
//     roamsign.ErrForbidden.
//   - The token's PIN flags are read before every login: a locked PIN, or
//     one on its final try, is not tried (roamsign.ErrLocked). A login
//     rejected once is never tried again by the store (the error is
//     latched), so a wrong or changed PIN cannot lock the token.
//     CKR_USER_ALREADY_LOGGED_IN is accepted.
//   - Errors and logs never contain a PIN, a passphrase or key material;
//     [URI.String] redacts pin-value.
//   - Software keys are PKCS#8 encrypted with AES-256-GCM under a key
//     derived from the passphrase with Argon2id (parameters and salt in the
//     store header, checked against a sealed marker so a wrong passphrase is
//     roamsign.ErrUnauthenticated). Each file's ID, label, algorithm and
//     public key are bound as associated data, so edited or swapped files
//     are refused. Files are 0600 in a 0700 directory and written through a
//     synced temporary file and a rename (or a link, so an existing key is
//     never overwritten), then the directory is synced.
//
// # Limitations
//
//   - Sign of a crypto.Signer uses context.Background(): use SignContext to
//     bound the wait for a session. A call already inside the token cannot
//     be cancelled.
//   - Key IDs are 1 to 64 characters from [A-Za-z0-9._-]; List shows only
//     keys whose CKA_ID has that form.
//   - The software store assumes one process writes to its directory.
//   - Without cgo, [OpenPKCS11] returns roamsign.ErrUnsupported.
package hsm

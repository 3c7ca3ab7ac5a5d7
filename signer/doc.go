// Package signer signs digests ("Data Hash To Sign") with any
// [crypto.Signer], one at a time or in batches.
//
// # Overview
//
// [Signer.Sign] signs one [roamsign.Hash] (SHA-256, SHA-384 or SHA-512; its
// length is checked) with RSA PKCS #1 v1.5, RSASSA-PSS or ECDSA. ECDSA
// signatures are ASN.1 DER by default, or r‖s with [Options].RawECDSA.
// [Signer.SignBatch] signs N digests and returns N [Result]s in input
// order, each with its own [Status]; the digests are spread over the key's
// parallel sessions. Detached CMS (CAdES) signatures are in package
// signer/cms.
//
// # Configuration
//
// [Config] has documented zero values: a batch limit of
// [DefaultMaxBatch] (beyond it [roamsign.ErrTooLarge]), and a parallelism
// taken from the key when it implements [roamsign.Concurrent] (a PKCS #11
// key with a pool of sessions), else GOMAXPROCS.
//
// # Concurrency
//
// A [Signer] is immutable and safe for concurrent use. A batch runs at most
// Config.Concurrency signatures at a time, each worker taking the next
// unsigned item. Every key is called through [roamsign.SignContext]: keys
// that implement [roamsign.ContextSigner] receive the caller's context, so
// waiting for a session or a slow token can be cancelled; when the context
// is cancelled, the batch stops and every item not signed by then is
// reported failed with an error wrapping the context's error.
//
// # Security
//
// An item is reported [StatusSigned] only with a signature the key
// returned without error, of the right form, and (for RSA always, for
// ECDSA with Config.VerifyECDSA) verified with the public key; the zero
// [Status] is failed. A panicking key fails its item with
// [roamsign.ErrInternal] instead of taking down the process. Logs carry
// counts and durations, never digests or signatures.
//
// # Limitations
//
// RSA keys of 2048 bits or more and ECDSA keys only; Ed25519 is not
// supported.
package signer

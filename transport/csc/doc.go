// Package csc is the Cloud Signature Consortium API face of
// [roamsign.API]: a server [Handler] speaking CSC API v2 (v2.0.0.2) under
// /csc/v2/ with CSC v1.0.4 aliases under /csc/v1/, and a v2 [Client] that
// works with any CSC service. Like transport/httpapi it knows only
// roamsign.API, so every CSC signature goes through the service's one
// signature activation (Sign) with its single-use and audit guarantees.
//
// # Overview
//
// The methods (POST, JSON): info, credentials/list, credentials/info,
// credentials/getChallenge (v1: credentials/sendOTP),
// credentials/authorize, credentials/extendTransaction and
// signatures/signHash. A user holds one credential, "RS-" followed by the
// user id ([CredentialID]); a host lists it with credentials/list and
// userID. Errors are the specification's JSON body {"error",
// "error_description"} with the statuses of its tables: 400
// invalid_request for request problems (invalid_authentication_data for a
// wrong PIN or OTP), 401 for missing or bad authorization, 429 and 503
// with Retry-After, 501 for CSC methods not implemented.
//
// # Signature activation data
//
// A SAD stands for one approved roamsign transaction. The explicit flow:
// credentials/getChallenge names the credential and the exact hashes
// (roamsign extension, announced in info as ExtChallengeHashes); the
// service binds a new OTP to them (RequestOTP) and sends it by app push or
// e-mail, the verification code in the message and in the answer's
// Roamsign-Verification-Code header. credentials/authorize then gives PIN
// and OTP for the same credential and hash multiset: the handler calls
// Sign, which checks everything in one place, signs every hash once and
// records the audit entry, and the handler keeps the result as the SAD's
// server-side record. The SAD itself is 256 random bits, opaque, stored
// only as a digest, bound to the credential, the calling host and OAuth
// client, the exact multiset of hashes and their count, valid at most 5
// minutes. signatures/signHash releases the signature of each hash at
// most once, all or nothing per call; a hash outside the SAD, a hash
// already released, another caller's or credential's SAD or an expired
// one are refused. extendTransaction replaces a SAD with a new one for
// the signatures it has left, within the transaction's lifetime (15
// minutes by default); it never adds a hash.
//
// Policy is strict: getChallenge without hashes is refused, so an OTP is
// never sent for data the signer has not been shown.
//
// SCAL is "2" and numSignatures must equal the number of hashes. RSA
// credentials sign PKCS#1 v1.5 unless credentials/authorize names
// RSASSA-PSS in signAlgo/signAlgoParams (extension ExtAuthorizeSignAlgo,
// needs roamsign.FormRawPSS in the service); ECDSA credentials sign DER
// ECDSA values.
//
// # Client authentication
//
// Hosts authenticate as they do on transport/httpapi (Options.Auth: API
// key as a bearer token, or a verified TLS client certificate):
// authType "external" and "TLS".
//
// # Limits
//
// Request bodies are limited (1 MiB), every server-side table (SADs,
// pending challenges, tokens) is bounded (Options.MaxRecords) and expires
// its records. Unknown JSON members are ignored, as OAuth 2.0 ignores
// unknown parameters. The SADs live in the handler's memory: replicas
// behind one address need session affinity for a transaction, or one
// shared handler.
//
// # Concurrency
//
// Handler and Client are safe for concurrent use.
package csc

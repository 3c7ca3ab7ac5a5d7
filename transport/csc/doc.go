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
// # Policy: getChallenge without hashes
//
// CSC clients that follow the specification alone call getChallenge (v1:
// sendOTP) with the credential only and name the hashes at authorize.
// Options.Policy decides, and info announces it in "extensions":
// PolicyStrict (ExtPolicyStrict, the default) refuses such a challenge, so
// an OTP is never sent for data the signer has not been shown;
// PolicyCompatible (ExtPolicyCompatible) sends an OTP bound to the
// credential, the caller (host and OAuth client) and a nonce, through the
// service's late binding (an API implementing [LateBinder], with
// service.Config.LateBinding), and the one credentials/authorize that uses
// it binds the hashes it names to the transaction and the SAD. What the
// compatible policy gives up is the signer seeing the verification code of
// the exact hashes in the OTP message: the OTP approves "a signature with
// this credential by this signature application", and the application
// decides what is signed. What it keeps: the OTP is single-use, short-lived
// and limited in tries, usable only by the caller that asked for it and
// only for its credential; PIN and OTP are checked by the service's one
// signature activation; numSignatures must equal the hashes, so the count
// is bound; the SAD releases each of those hashes once. The data header of
// the OTP message ends "[hashes bound at authorize, not shown]", and the
// service's audit records of the authorisation and of the signatures carry
// service.DetailLateBound. The hashes are bound at authorize, not at the
// first signHash: SCAL 2 (credentials/info) requires them there, and
// binding them later would mean keeping PIN and OTP, or an authorisation
// bound to no data, between calls.
//
// SCAL is "2" and numSignatures must equal the number of hashes. RSA
// credentials sign PKCS#1 v1.5 unless credentials/authorize names
// RSASSA-PSS in signAlgo/signAlgoParams (extension ExtAuthorizeSignAlgo,
// needs roamsign.FormRawPSS in the service); ECDSA credentials sign DER
// ECDSA values.
//
// # OAuth 2.0: the signer approves on the service's own page
//
// With Options.Clients registered, the face is an OAuth 2.0 authorization
// server under /csc/v2/oauth2/ (and /csc/v1/oauth2/). oauth2/authorize
// takes scope=credential with credentialID, numSignatures, hashes (comma
// separated base64url) and hashAlgorithmOID, or authorization_details of
// type "credential" with documentDigests; PKCE with S256 and a state are
// required, and the redirect URI must be one the client registered
// (loopback URIs match any port, RFC 8252). An unknown client or redirect
// URI is shown on the page, never redirected to. The handler sends the
// OTP bound to the hashes (RequestOTP) and renders the signing page
// (Options.Page) with the data header, every hash and the verification
// code; the signer types PIN and OTP, the handler calls Sign, and the
// browser goes back to the client (303) with a code that is good once for
// one minute. oauth2/token trades it, with the PKCE verifier and the same
// redirect URI, for a credential access token: the token is the SAD
// (signatures/signHash needs no SAD parameter). A code used twice is
// refused and the token of its first use revoked. oauth2/pushed_authorize
// (RFC 9126) takes the same parameters from an authenticated client and
// answers a request_uri for oauth2/authorize. The client credentials grant
// gives a confidential client a service access token (scope "service",
// one hour) acting for its host system; oauth2/revoke (RFC 7009) ends
// tokens. Refresh tokens and scope=service through the code flow are not
// offered.
//
// Clients come from Options.Clients; [ParseClients] reads them from a
// file (id, name, host, hashed secret, redirect URIs, scopes), refusing
// redirect URIs that are not https, or http on a loopback address,
// outside development. A client obtains only its scopes: "credential"
// (the code flow) and "service" (client credentials).
//
// # Client authentication
//
// Hosts authenticate as they do on transport/httpapi (Options.Auth: API
// key as a bearer token, or a verified TLS client certificate):
// authType "external" and "TLS". OAuth clients use client_secret_basic or
// client_secret_post ("oauth2client"), or PKCE alone when public. A SAD
// is bound to the host and the client that obtained it.
//
// # Versions and what is not offered
//
// /csc/v1/ serves the same operations with the v1.0.4 names:
// credentials/sendOTP (with the extension "hash" and "hashAlgo"),
// credentials/authorize with "hash", "PIN" and "OTP" (the hash algorithm
// is inferred from the digest length), credentials/info with "authMode",
// "PIN" and "OTP", signatures/signHash with "hash" and "hashAlgo",
// credentials/list with "maxResults" (one credential per user, so no
// pages). Not offered (501 or refused with invalid_request): auth/login
// and auth/revoke, credentials/authorizeCheck, signatures/signDoc,
// signatures/signPolling, signatures/timestamp, asynchronous operationMode
// "A", signatureQualifier without credentialID, account_token, refresh
// tokens, and credentials/getChallenge without hashes under the strict
// policy.
//
// # Limits
//
// Request bodies are limited (1 MiB), every kind of server-side record
// (SADs, pending challenges, tokens, codes, pages) is bounded
// (Options.MaxRecords) and expires. Unknown JSON members are ignored, as
// OAuth 2.0 ignores unknown parameters.
//
// # Replicas
//
// The records live in Options.State: by default the handler's memory (one
// replica); with the service's store (store.SessionStore, SQLite or
// PostgreSQL) replicas behind one address share them, so getChallenge,
// authorize, the signing page, the token exchange and signHash may each
// reach a different replica. Releasing hashes from a SAD is one atomic
// update of its record in the store, so concurrent signHash calls with one
// SAD on several replicas release each hash once. Records are kept under
// the SHA-256 digest of their handle, never the handle.
//
// # Concurrency
//
// Handler and Client are safe for concurrent use.
package csc

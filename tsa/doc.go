// Package tsa is an RFC 3161 time-stamping client: it asks one or more
// time-stamping authorities (TSAs) over HTTP for a token over a digest and
// returns it only after verifying it, so that a signature never carries a
// time-stamp that cannot be validated.
//
// # Overview
//
// [New] builds a [Client] from a [Config]: the authorities in order of
// preference ([TSA]: URL, optional policy, published quota, extra headers)
// and a [ChainChecker] that validates a TSA's certificate path. Then
//
//   - [Client.Stamp] returns a verified [Token] over a digest: its DER,
//     genTime, serial, policy, the TSA's certificate and the certificates
//     the token carries (for B-LT validation material);
//   - [Client.Timestamp] returns the DER token over the hash of some data,
//     the Timestamper of signer/pdf (PAdES-B-T, document time-stamps) and
//     signer/cms (CAdES-B-T).
//
// Each request (RFC 3161 section 2.4.1) carries the message imprint
// (SHA-256, SHA-384 or SHA-512, parameters absent as RFC 5754 says), a
// fresh 64-bit random nonce, certReq TRUE and, when configured, reqPolicy.
// It is POSTed as application/timestamp-query (section 3.4).
//
// # Verification
//
// A reply is used only when all of these hold, checked in this order; the
// first that fails gives the [Reason]:
//
//  1. HTTP 200 with type application/timestamp-reply, within
//     Config.MaxReplySize (read with a cap, never whole) and Config.Timeout;
//  2. a TimeStampResp whose PKIStatus is granted or grantedWithMods and
//     that carries a token (section 2.4.2);
//  3. the token is a CMS SignedData (RFC 5652) encapsulating a TSTInfo,
//     with one SignerInfo and no unknown critical TSTInfo extension;
//  4. the token carries the certificate its SignerInfo names;
//  5. the content-type attribute is id-ct-TSTInfo, the message-digest
//     attribute matches the TSTInfo, and the signature over the signed
//     attributes verifies (SHA-2 only; RSA PKCS #1 v1.5, RSASSA-PSS or
//     ECDSA);
//  6. an ESS signing-certificate (RFC 2634, ESSCertID) or
//     signing-certificate-v2 (RFC 5816, ESSCertIDv2) attribute is present,
//     and each present names the signer's certificate first (hash, and
//     issuer and serial when given);
//  7. the tsa field, when present, names the signer's certificate;
//  8. the signer's certificate is a TSA certificate (section 2.3): exactly
//     one extended key usage extension, critical, whose only purpose is
//     id-kp-timeStamping, and digitalSignature or nonRepudiation when it
//     has a key usage;
//  9. the message imprint (algorithm and digest), the nonce and the
//     requested policy are the request's;
//  10. genTime lies between the sending of the request and the arrival of
//     the reply, widened by Config.MaxClockSkew;
//  11. the caller's [ChainChecker] accepts the signer's path at genTime.
//
// Any failure fails over to the next authority; the error of [Client.Stamp]
// lists each attempt as an [*Error] whose Reason says what was wrong.
//
// # Quotas and back-off
//
// Public TSAs block callers that exceed a quota (one national TSA allows
// 20 requests per 20 minutes). With TSA.Quota set, the client never sends
// more than Quota.Requests within any sliding window of Quota.Per: a
// request sent at t counts until t + Per. An authority that answers HTTP
// 429 or 503, or a PKIStatus other than granted, is in back-off: for its
// Retry-After when it sent one (at most MaxRetryAfter), else for
// Config.BackOff doubled with each consecutive refusal up to
// Config.MaxBackOff. A limited authority is skipped (ReasonLimited, not
// sent) and the next one asked; when every one is limited the error is of
// kind roamsign.ErrRateLimited and carries the shortest wait
// (roamsign.RetryAfterOf). The quota is counted per Client: replicas of a
// server that share a TSA account should each be given their share.
//
// # Metrics
//
// Config.Metrics receives an [Observation] per attempt (authority, sent or
// not, Reason, latency), so a server can export requests, failures by
// reason and latency per TSA; this package imports no metrics library.
//
// # Configuration
//
// [Config] has documented zero values: SHA-256 imprints, a 10 s timeout
// per attempt, a 64 KiB reply cap, 5 minutes of clock skew, 30 s first
// back-off up to 30 minutes, an HTTP client that follows no redirects,
// crypto/rand nonces. A Config without authorities or without a
// ChainChecker is refused.
//
// # Concurrency
//
// A Client is safe for concurrent use; quotas and back-off are shared by
// all calls through it.
//
// # Security
//
// Nothing the authority says is trusted before it is checked: the token's
// signature, the TSA's certificate purpose and path, and the binding to
// the request (imprint, nonce, policy, time). Replies are read with a size
// cap, parsed by the bounded parsers of internal/cms (fuzzed here with the
// reply parser), and free text from the TSA is trimmed to printable
// characters before it reaches an error. A TSA URL may not carry
// credentials (they would reach logs and metrics); TSA.Header is never
// logged.
//
// # Limitations
//
// [Roots] checks the TSA's path without revocation (and remembers a path
// it validated, for the same certificates within their validity); a
// revocation-checking ChainChecker is the caller's (package verify's
// Verifier configured with the TSA's anchors and the time-stamping
// purpose, wired by the application). Only HTTP transport is supported (no TCP or e-mail of RFC
// 3161 section 3). Requests carry no extensions. The quota is kept in
// memory.
package tsa

// Package verify checks signatures the way a host must before it acts on a
// signed financial document: it fails closed. A signature is "valid" only
// when every rule passed; anything that cannot be decided (no usable CRL, a
// server that is down, an unknown critical extension) is "indeterminate",
// never "valid".
//
// # Overview
//
// A [Verifier] holds the trust anchors and the revocation configuration and
// offers:
//
//   - [Verifier.VerifyChain]: path building to the configured anchors only
//     (certificates carried in a signature are candidate intermediates, never
//     anchors) at a trusted time, key usage, and revocation of every
//     certificate below the anchor;
//   - [Verifier.VerifyDigest] and [VerifyDigestSignature]: raw signatures
//     over a digest (RSA PKCS#1 v1.5 and PSS, ECDSA with DER signatures);
//   - [Verifier.VerifyCMS]: CMS SignedData, attached or detached, parsed by
//     a strict DER parser of this package: exactly one content-type (id-data)
//     and one message-digest attribute of the right types, the digest, ESS
//     signing-certificate(-v2) and CMSAlgorithmProtection when present, the
//     signature, an RFC 3161 timestamp token when present (its own
//     signature, imprint and TSA chain), then chain and revocation.
//   - [Verifier.VerifyPDF]: every signature of a PDF (approval and
//     certification signatures, document timestamps), each reported with
//     signer, claimed time, reason, DocMDP level, chain and revocation
//     status, whether a timestamp is present, and whether the document was
//     modified after signing.
//
// Every call returns a [Result]: an overall [Verdict] (valid, invalid,
// indeterminate) and one [Check] per rule with a reason, the signer, the
// validated chain, the revocation status of each certificate (with reason
// and time when revoked), and the time the chain was evaluated at. A Result
// marshals to JSON for display and storage. Malformed input is reported as a
// typed error (roamsign.ErrInvalidInput, roamsign.ErrTooLarge) instead.
//
// # Trusted time
//
// The chain and revocation are evaluated at a trusted time: the genTime of a
// verified RFC 3161 timestamp token when the signature carries one, else the
// verification time (Config.Now). The self-asserted signing-time attribute
// is reported (Result.ClaimedSigningTime) but never used. A certificate
// revoked after a timestamped signing time is reported with
// RevocationInfo.AfterSigningTime and, unless
// Config.RejectRevokedAfterSigning is set, does not make the signature
// invalid; the earlier of revocation date and invalidity date counts.
//
// # Revocation
//
// CRLs are fetched from the certificate's distribution points through a
// [Fetcher] ([HTTPFetcher]: http only unless AllowHTTPS, a timeout,
// redirects only within the same scheme, a size cap enforced while reading;
// [FileFetcher] for tests and offline use). A CRL is accepted only when its
// issuer name equals the certificate issuer, the issuer has cRLSign, the
// authority key identifier (when present) matches, the signature verifies,
// thisUpdate ≤ now < nextUpdate (a CRL without nextUpdate is refused), it
// carries no unknown critical extension on the list or on any entry, and
// its issuing distribution point (when present) covers the certificate.
// certificateHold counts as revoked. CRL numbers never go backwards: an
// older list from the same issuer and URL (a replay) does not replace a
// newer one. Delta CRLs advertised by a freshestCRL
// extension (on the certificate or the complete CRL) must be obtained and
// must be newer than, of the same issuer as, and based on no newer number
// than the complete CRL; a removeFromCRL entry releases a hold. A complete
// CRL issued after the certificate expired decides nothing unless it
// carries expiredCertsOnCRL. OCSP ([OCSPClient]) is an optional source with
// the same fail-closed rules (a responder certificate must carry the
// OCSPSigning purpose; stale, future or unknown answers decide nothing),
// optionally cached per issuer, serial and responder until nextUpdate with
// single-flight queries ([OCSPCache]); [RevocationPolicy] selects CRL, OCSP
// or CRL with OCSP fallback.
//
// # PDF
//
// The document is read with the strict, bounded reader of internal/pdfx. A
// signature's /ByteRange must be four integers starting at 0; its gap must
// be exactly the hexadecimal /Contents string of the signature dictionary
// as the signed revision stores it (the dictionary object starts before the
// gap and nothing but its own keys lies between), and the signed range
// must end at that revision's %%EOF. Whatever later revisions changed is
// compared object by object with the signed revision: later signatures,
// document timestamps and DSS validation data are allowed; filling in
// existing form fields is allowed under DocMDP P=2 and 3 (and for approval
// signatures, which are judged as P=2); adding annotations only under P=3;
// anything else (page content, the page tree, the catalog, fonts, deleting
// objects, replacing a signature value) is reported as "modified after
// signing" and makes that signature invalid. Under P=1 only DSS data and
// document timestamps may follow. A signature field whose value is not a
// readable signature dictionary is reported as invalid, never skipped.
//
// # Configuration
//
// [Config] has documented zero values: key usage digitalSignature or
// nonRepudiation; extended key usage, when the certificate has one, one of
// emailProtection, documentSigning, Microsoft document signing or Adobe
// authentic documents (anyExtendedKeyUsage only with AllowAnyEKU); CRLs
// only; a 32 MiB CRL cap; a 4 MiB CMS cap; a 512 MiB PDF cap.
//
// # Concurrency
//
// A Verifier is safe for concurrent use. Parsed CRLs live in a [CRLCache]
// keyed by issuer and URL until their nextUpdate (or Config.CRLMaxAge); it
// may be shared between verifiers, and concurrent requests for the same CRL
// share one download (single flight), so a thousand verifications against
// a cold cache fetch each CRL once. Revocation lookups are O(1) map lookups
// after one parse. Validated paths and parsed certificates are cached too,
// so a CMS verification with warm caches costs about one signature check.
//
// # Security
//
// Nothing here trusts the signature to describe itself: anchors come only
// from the configuration, algorithms are allow-listed (SHA-1 and unknown
// algorithms are refused), parsers accept DER only and enforce size and
// count limits, and parser faults are recovered and reported as malformed
// input. Fuzz targets cover CRL parsing and checking, CMS verification and
// PDF signature extraction and verification.
//
// # Limitations
//
// Indirect CRLs, CRLs scoped to some reasons, and CRLs signed by a key
// other than the certificate issuer's are not used (the status is then
// indeterminate). Name comparison is byte-wise on the DER encoding. BER
// (indefinite-length) CMS is refused. Ed25519 and Ed448 signers are not
// supported in CMS. OCSP answers are cached only when an [OCSPCache] is configured. Only one timestamp token
// per signer is considered; archive timestamps and long-term validation
// data (DSS/VRI) are not evaluated. Extended key usage constraints on
// intermediate CAs are not enforced. PDF: field locks (/Lock) and
// FieldMDP are not evaluated, encrypted documents are refused, and the
// change analysis judges the final state of each changed object (an object
// changed and changed back in between counts as unchanged).
package verify

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
//     anchors) and RFC 5280 section 6.1 path validation at the validation
//     time, key usage, and revocation of every certificate below the anchor;
//   - [Verifier.VerifyDigest] and [VerifyDigestSignature]: raw signatures
//     over a digest (RSA PKCS#1 v1.5 and PSS, ECDSA with DER signatures);
//   - [Verifier.VerifyCMS]: CMS SignedData, attached or detached, DER or BER
//     (parsed by internal/cms, shared with signer/cms): exactly one
//     content-type (id-data)
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
// indeterminate), an [Indication] and [SubIndication] modelled on ETSI EN
// 319 102-1, the [Level] of the signature, and one [Check] per rule with a
// reason, the signer, the validated chain, the revocation status of each
// certificate (with reason and time when revoked, and the [RevocationInfo]
// Origin of the evidence that decided), and the time the chain was
// evaluated at. A Result marshals to JSON for display and storage; its
// schema is result.schema.json. Result.Validation holds the certificates,
// CRLs and OCSP responses that validated the signer, for a signer that
// embeds them. Malformed input is reported as a typed error
// (roamsign.ErrInvalidInput, roamsign.ErrTooLarge) instead.
//
// # Time
//
// One validation time is used for the path, the validity periods and the
// freshness of revocation evidence: the genTime of a verified RFC 3161
// timestamp token when the signature carries one (a proof of existence),
// else ChainRequest.At, else the verifier's clock (Config.Now). The
// self-asserted signing-time attribute is reported
// (Result.ClaimedSigningTime) but never used.
//
// A timestamp token proves the existence of what it covers only when its
// own time is proven (ETSI EN 319 102-1 clause 5.6, proofs of existence):
// its TSA path must be valid at the verification time, or at the genTime
// of a later valid document timestamp that covers it (a PDF's document
// timestamps are checked newest first, each proving the earlier ones, the
// signatures and the /DSS it covers). A token whose authority is no
// longer valid and that nothing later proves is indeterminate
// (out_of_bounds_no_poe, or revoked_no_poe), and so is the expiry of a
// signer whose timestamp is. The newest document timestamp of a PDF is the
// exception: with its authority's certificate expired, its path is
// validated at its own genTime, and it stands only when the revocation
// evidence that decides that path is carried by the document (its /DSS)
// or the token: an archive keeps its own evidence, and renewal
// (signer/pdf Extend) adds a newer timestamp before that one weakens.
//
// # Levels
//
// Each signature reports the baseline level it reaches ([Level]; ETSI
// EN 319 122-1 for CMS, EN 319 142-1 for PDF): B-B for signed attributes
// with an ESS signing-certificate(-v2) (and, in a PDF, /SubFilter
// ETSI.CAdES.detached); B-T with a valid signature timestamp or a valid
// document timestamp covering the signature; B-LT when the certificates
// below the anchor and the CRLs or OCSP responses that decide the
// signer's path (at the signature's proven time) and that timestamp's
// authority's path (at its genTime) are all carried by the signature or
// the /DSS (not fetched, not supplied); B-LTA when a valid document
// timestamp covers a revision whose /DSS holds them.
//
// Freshness (ETSI EN 319 102-1 clause 5.2.5): a CRL or OCSP response is
// evidence for validation time t when it was not issued in the future of
// the verifier's clock (5 minutes of skew allowed), and either t is before
// its nextUpdate or, when Config.MaxRevocationFreshness is set, it was
// issued no longer than that before t. Evidence issued after t is
// acceptable, so an archive verified years later can rely on CRLs fetched
// on the day of signing or later, provided they still cover the
// certificate: a CRL issued after the certificate expired decides nothing
// unless it carries expiredCertsOnCRL (an OCSP response issued after expiry
// decides nothing). With Config.RevocationGracePeriod g, evidence for a
// timestamped signature must be issued at least g after the signing time
// (the grace period of RFC 5126): until then the status is indeterminate
// (try_later). A certificate revoked after a timestamped signing time is
// reported with RevocationInfo.AfterSigningTime and, unless
// Config.RejectRevokedAfterSigning is set, does not make the signature
// invalid; the earlier of revocation date and invalidity date counts.
//
// # Path validation
//
// Paths are built from the signature's certificates, the request's and
// Config.Supplied certificates, to the configured anchors, and validated as
// RFC 5280 section 6.1 says (not with crypto/x509's Verify): signatures,
// validity, name chaining with names compared as section 7.1 says (case and
// insignificant spaces ignored), basic constraints and path length (self-
// issued certificates not counted), keyCertSign, name constraints for
// directory names, rfc822 names (and subject e-mail addresses), DNS names,
// URIs and IP addresses, certificate policies with Config.Policy's inputs
// (initial policy set, explicit policy, policy mapping and anyPolicy
// inhibition) and any unknown critical extension. The whole NIST PKITS
// suite runs in the tests (testdata/pkits).
//
// # Revocation
//
// Revocation follows RFC 5280 section 6.3: for each distribution point of
// the certificate (and then for CRLs of the certificate issuer found by
// name, when the distribution points did not decide), complete CRLs whose
// issuer, issuing distribution point scope (names, user/CA/attribute
// certificates, reasons) and freshness fit are used until every reason is
// covered; indirect CRLs (cRLIssuer, certificateIssuer entries) are
// supported. A CRL signed by a key other than the certificate issuer's
// needs a certificate of the CRL issuer with cRLSign whose own path leads
// to the same anchor and whose own status is good. Delta CRLs must be
// newer than, of the same issuer, scope and key as, and based on no newer
// number than the complete CRL; an advertised delta CRL (freshestCRL) must
// be found; a removeFromCRL entry releases a hold. certificateHold counts
// as revoked. Unknown critical extensions on a CRL or an entry make it
// decide nothing.
//
// Evidence comes from, in order: material supplied in Config.Supplied or a
// request; material embedded in the signature (CMS certificates and crls,
// including RFC 5940 OCSP responses, and the adbe-revocationInfoArchival
// signed attribute; a PDF's /DSS); Config.CRLSources such as a
// [CRLDirectory] (a folder of CRLs indexed by issuer); then, unless
// Config.Offline, the distribution points through a [Fetcher]
// ([HTTPFetcher]: http only unless AllowHTTPS, a timeout, redirects only
// within the same scheme, a size cap enforced while reading; [FileFetcher]
// for tests and offline use; a Fetcher implementing
// [DistributionPointFetcher] learns the certificate and issuer, and is also
// asked for directoryName distribution points). Fetched CRLs signed by the
// issuer are cached; CRL numbers never go backwards: an older list from
// the same issuer and URL (a replay) does not replace a newer one.
//
// OCSP ([OCSPClient]) has the same fail-closed rules (a delegated responder
// certificate must be issued by the CA and carry the OCSPSigning purpose,
// and, unless it carries id-pkix-ocsp-nocheck, its own status by the CA's
// CRLs must be good when the answer was produced; stale, future or unknown
// answers decide nothing), optionally cached per
// issuer, serial and responder until nextUpdate with single-flight queries
// ([OCSPCache]). [RevocationPolicy] selects CRL (with supplied or embedded
// OCSP responses as fallback), OCSP, or CRL with OCSP fallback;
// RevocationOff turns checking off, and results then say "revocation not
// checked" and are never valid.
//
// # PDF
//
// The document is read with the strict, bounded reader of internal/pdfx,
// under one budget for the whole document (32 MiB plus four times its
// size, every revision, object stream and signature /Contents included):
// a document that needs more gives roamsign.ErrTooLarge. A
// signature's /ByteRange must be four integers starting at 0; its gap must
// be exactly the hexadecimal /Contents string of the signature dictionary
// as the signed revision stores it (the dictionary object starts before the
// gap and nothing but its own keys lies between), and the signed range
// must end at that revision's %%EOF. Whatever later revisions changed is
// compared object by object with the signed revision: later signatures,
// document timestamps and DSS validation data are allowed; form filling
// (changing the value and the appearance of an existing field that is
// neither read-only nor hidden) is allowed under DocMDP P=2 and 3 (and
// for approval signatures, which are judged as P=2); adding annotations
// only under P=3; anything else (page content, the page tree, the catalog,
// fonts, deleting objects, replacing a signature value, making a hidden
// field visible, moving or resizing a widget, changing field flags, adding
// widgets, a cross-reference entry that does not lead to its object) is
// reported as "modified after signing", naming the object, and makes that
// signature invalid. Under P=1 only DSS data and document timestamps may
// follow. When the newest revisions cannot be read, the signatures of the
// newest revision that can are reported, each "modified after signing:
// later revision unreadable". A signature field whose value is not a
// readable signature dictionary is reported as invalid, never skipped.
//
// # Configuration
//
// [Config] has documented zero values: key usage digitalSignature or
// nonRepudiation; extended key usage, when the certificate has one, one of
// emailProtection, documentSigning, Microsoft document signing or Adobe
// authentic documents (anyExtendedKeyUsage only with AllowAnyEKU); CRLs
// (with supplied or embedded OCSP responses as fallback); network allowed;
// any certificate policy; a 32 MiB CRL cap; a 4 MiB CMS cap; a 2 GiB PDF
// cap (a PDF is streamed: memory does not grow with its size).
//
// # Concurrency
//
// A Verifier is safe for concurrent use. Parsed CRLs live in a [CRLCache]
// keyed by issuer and URL until their nextUpdate (or Config.CRLMaxAge); it
// may be shared between verifiers, and concurrent requests for the same CRL
// share one download (single flight), so a thousand verifications against
// a cold cache fetch each CRL once. Revocation lookups are O(1) map lookups
// after one parse. Parsed certificates, their extensions and every
// certificate and CRL signature check are memoised, so a CMS verification
// with warm caches costs one signature check plus path validation and the
// revocation rules (BenchmarkCMSVsRaw: about 0.7 of the raw ECDSA P-256
// verification rate in CPU).
//
// # Security
//
// Nothing here trusts the signature to describe itself: anchors come only
// from the configuration, embedded material is only evidence judged by the
// same rules as any other, algorithms are allow-listed (SHA-1, DSA and
// unknown algorithms are refused: crypto_constraints_failure), parsers
// enforce size and count limits (BER only for CMS, re-encoded as DER
// before anything is hashed), the policy tree is bounded, and parser
// faults are recovered and reported as malformed input. Fuzz targets cover
// CRL parsing and checking, CMS parsing and verification, and PDF
// signature extraction and verification.
//
// # Limitations
//
// DSA keys and signatures (and other algorithms crypto/x509 does not
// verify) are reported as crypto_constraints_failure; DSA keys with
// inherited parameters do not parse ([ParseCertificate] says
// ErrUnsupported). Name comparison ignores case and insignificant spaces
// but applies no Unicode normalisation. Name constraints on otherName,
// x400Address, ediPartyName and registeredID forms, and constraints with
// minimum or maximum, make the certificate unusable. Ed25519 and Ed448
// signers are not supported in CMS. OCSP answers are cached only when an
// [OCSPCache] is configured. Only one timestamp token per signer is
// considered; CAdES archive timestamps (archive-time-stamp-v3) are not
// evaluated, so a CMS signature's time is proven only while its TSA is
// valid. Extended key usage constraints on intermediate CAs
// are not enforced. PDF: field locks (/Lock) and
// FieldMDP are not evaluated, encrypted documents are refused, and the
// change analysis judges the final state of each changed object (an object
// changed and changed back in between counts as unchanged).
package verify

// Package cms is the one CMS (RFC 5652) parser and encoder of the module,
// shared by signer/cms (which builds SignedData) and verify (which checks
// it), as internal/pdfx is for PDF.
//
// # Overview
//
// [ParseSignedData] reads a ContentInfo holding SignedData: DER, or BER
// (indefinite lengths and constructed OCTET STRINGs, as older signers and
// many PDF products write it), which is first re-encoded as DER by [ToDER].
// It returns the encapsulated content, the certificates, the revocation
// information (CRLs, and OCSP responses carried as
// id-ri-ocsp-response other revocation information, RFC 5940), and every
// SignerInfo with its signed and unsigned attributes. The signed
// attributes are kept as the DER SET OF that RFC 5652 section 5.4 says the
// signature covers ([SignerInfo.SignedAttrsDER]), whatever encoding the
// input used.
//
// [ParseAlgorithm], [DigestAlgorithm] and [SignatureAlgorithm] map
// AlgorithmIdentifiers to hashes and x509 algorithms, refusing SHA-1 and
// anything unknown; [SignerAlgorithm] is the inverse used when signing.
// [ReadTime] and [ReadInteger] read the DER time and integer profiles of
// RFC 5280. Encoding is done with cryptobyte only ([AddAttribute],
// [SortSet]).
//
// For RFC 3161 time-stamp tokens, [ParseTSTInfo] reads a TSTInfo in full
// (accuracy, ordering, nonce, tsa name, extensions), [ParseESSCertIDs] the
// ESS signing-certificate(-v2) identifiers (RFC 2634, RFC 5035) with
// [ESSCertID.Matches], and [SignerInfo.CheckSignature] verifies a signer
// over its signed attributes with crypto/x509.
//
// # Security
//
// Every parser has a size limit given by the caller, counts bounded by
// constants ([MaxCertificates], [MaxSigners], [MaxAttributes],
// [MaxRevocationInfos]), a nesting limit for BER, and recovers from faults;
// malformed input gives an error of kind roamsign.ErrInvalidInput (or
// ErrTooLarge), never a panic. All parsers are fuzzed.
package cms

// Package cms builds detached CMS SignedData (RFC 5652) in the CAdES-B-B
// profile (ETSI EN 319 122-1), in two halves so that the private key may sit
// on another machine and see only a hash.
//
// # Overview
//
// [Prepare] takes the digest of the content and the certificate chain (leaf
// first) and builds the signed attributes: content-type, message-digest,
// signing-time (unless omitted), ESS signing-certificate-v2 (RFC 5035, the
// SHA-256 hash and issuer/serial of the leaf) and, on request,
// CMSAlgorithmProtection (RFC 6211). [Prepared.Digest] is the hash of their
// DER encoding: the "Data Hash To Sign" that a remote key signs with
// [Prepared.SignerOpts]. [Prepared.Complete] checks the returned signature
// against the leaf's public key and assembles the ContentInfo: the chain in
// certificates, the signer named by issuerAndSerialNumber, and the signature
// algorithm rsaEncryption, RSASSA-PSS (explicit parameters, salt = digest
// length) or ecdsa-with-SHA256/384/512.
//
// [Prepared.MaxSize] bounds the final size, for callers that reserve
// space (a PDF /Contents entry) before the signature exists.
//
// [SignDigest] and [Sign] are the one-step forms for a local
// [crypto.Signer]; they run the same two halves. [SignatureValue] and
// [AddTimestampToken] add an RFC 3161 signature-time-stamp (CAdES-B-T /
// PAdES-B-T) once a TSA has stamped the signature value;
// [AddSignatureTimestamp] does both through a [Timestamper] such as
// package tsa's Client, and [Prepared.CompleteTimestamped] completes a
// prepared signature with its signature-time-stamp in one step.
//
// CAdES-B-LT (ETSI EN 319 122-1) keeps the validation material in the
// SignedData itself: [AddCertificates] adds the certificates of the
// signer's and the TSA's paths to SignedData.certificates and
// [AddRevocationInfo] the CRLs and OCSP responses to SignedData.crls, as
// package verify returns them in Result.Validation. Neither field is
// signed, so the signature and its time-stamp stay valid.
//
// # Configuration
//
// [Options] has documented zero values: SHA-256, signing time from the
// clock (Options.Now, default time.Now), content type id-data, PKCS #1 v1.5
// for RSA keys.
//
// # Concurrency
//
// A [Prepared] is immutable after Prepare or [UnmarshalPrepared] and may be
// used from several goroutines. The package holds no global state.
//
// # Security
//
// Complete never embeds a signature that does not verify with the leaf's
// key ([roamsign.ErrInvalidSignature]), so a faulty or wrong remote signer
// cannot produce an invalid file. The one-step [SignDigest] refuses a key
// that does not match the leaf before using it and verifies RSA signatures;
// it does not re-verify ECDSA signatures of that local key. The state written by
// [Prepared.MarshalBinary] holds only public data; [UnmarshalPrepared]
// accepts at most [MaxStateSize] bytes and checks that the attributes name
// the leaf certificate. [SignatureValue] and [AddTimestampToken] accept at
// most [MaxCMSSize] bytes of DER and refuse a token whose message imprint is
// not the digest of the signature value. All parsers are fuzzed.
//
// # Limitations
//
// One SignerInfo per SignedData; RSA (2048 bits or more) and ECDSA P-256,
// P-384, P-521 keys; SHA-2 digests only. Parsing accepts DER, not BER
// (indefinite lengths), which is what this package and RFC 3161 TSAs
// produce. The timestamp token's own signature and the chain are checked by
// package verify, not here.
package cms

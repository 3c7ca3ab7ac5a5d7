// Package servercert is the toolkit an agency uses to receive, check,
// install and grade a TLS server certificate: key and CSR generation, a
// check of the bundle the CA delivered, a TLS grade of the live endpoint,
// and the acceptance / installation / warranty deadlines.
//
// # Overview
//
// The life of a server certificate, and the call for each step:
//
//  1. Key and request: [GenerateKey] (RSA 2048/3072/4096, ECDSA P-256/P-384)
//     and [WriteKeyFile] (0600, atomic, never overwrites), then [CreateCSR]
//     with the subject and every host name (multi-domain and wildcard).
//     [SendInstructions] prints what to give the CA. For a reissue, or for
//     an extra server of a multi-domain or wildcard certificate (one key and
//     CSR per server), [RequestFromCertificate] and [RequestFromCSR] give
//     the same content to sign with a new or existing key. Any
//     [crypto.Signer] may sign, so a key held in an HSM works the same way.
//  2. Delivery and acceptance: [ComputeDeadlines] turns the delivery,
//     acceptance and installation dates into a checklist with due dates
//     (acceptance ≥ delivery + 1 day; installation and warranty claim ≤
//     acceptance + 14 days) and says what is overdue.
//  3. Bundle check: [CheckBundle] reads the received certificate in any
//     common form ([ParseCertificates]: PEM, DER .cer/.crt, a pasted e-mail,
//     bare base64, a certs-only PKCS#7 .p7b in DER or PEM), the chain files
//     and the private key, and reports: key matches certificate, chain
//     complete and in order up to a trusted root (reordered when needed,
//     a missing intermediate named with its download address), validity
//     dates, host names covered (RFC 6125 wildcard rules), key and signature
//     algorithms. [FetchIssuer] downloads a missing intermediate from the
//     certificate's AIA address. [BundleReport.FullChainPEM] writes the ordered
//     fullchain.pem for nginx and Apache, [BundleReport.PKCS12] a .pfx for
//     IIS. A certificate that does not parse is a
//     [*CorruptCertificateError] naming the warranty-claim deadline.
//  4. Installation and grade: [Grade] probes the live endpoint and grades
//     it A+ to F, or T / M, with the reasons.
//
// # Grading rules
//
// The rules are modelled on the public SSL Labs SSL Server Rating Guide;
// they are this package's own reading of it and make no claim to match
// that service's results.
//
// Score. Protocol support (30 %) averages the best and worst version
// offered (TLS 1.3 and 1.2: 100, TLS 1.1: 95, TLS 1.0: 90). Key exchange
// (30 %) takes the weakest exchange in RSA-equivalent bits, the certificate
// key included (<512: 20, <1024: 40, <2048: 80, <4096: 90, else 100; ECDHE
// on P-256/X25519 counts as 3072 bits, P-384 and hybrid ML-KEM groups as
// 7680). Cipher strength (40 %) averages the strongest and weakest suite
// (<128 bits: 20, <256: 80, ≥256: 100; 3DES counts 112). The score gives A
// (≥ 80), B (≥ 65), C (≥ 50), D (≥ 35), E (≥ 20) or F.
//
// Caps. The grade is then limited by every rule that applies:
//
//	condition                                              at most
//	---------------------------------------------------    -------
//	RSA certificate key below 1024 bits                     F
//	neither TLS 1.2 nor TLS 1.3                             C
//	RC4 suites enabled                                      C
//	3DES suites enabled (Sweet32)                           C
//	TLS 1.0 or TLS 1.1 enabled                              B
//	intermediate not sent (chain completes only with
//	  intermediates known to the grader)                    B
//	no forward secrecy (no ECDHE suite, no TLS 1.3)         B
//	no AEAD suite (GCM or ChaCha20-Poly1305)                B
//	RSA certificate key of 1024–2047 bits                   B
//	chain served out of order or with unrelated certs       A-
//	RSA key-exchange suites enabled beside ECDHE ones       A-
//	CBC suites with a SHA-1 MAC enabled                     A-
//
// A+ is given to an A with an HSTS header (max-age ≥ 180 days,
// [HSTSMinMaxAge]) and TLS 1.3; without them the grade stays A and the
// reason is listed.
//
// Trust. A certificate that is expired or not yet valid, does not chain to
// a trusted root (unknown CA, self-signed, intermediate missing and unknown
// to the grader), is signed with SHA-1 or MD5, or is revoked by its stapled
// OCSP response gets T. A certificate whose names do not cover the host
// name gets M (T wins when both apply). [GradeReport.GradeIgnoringTrust]
// keeps the grade the configuration would earn once the certificate is
// fixed.
//
// Also reported without changing the grade: OCSP stapling (and the stapled
// status), the suite a modern client gets, the served chain.
//
// # Configuration
//
// Every request struct documents its zero values: nil Roots means the
// system roots, nil Now means [time.Now], zero timeouts and limits take
// the defaults named on each field. [GradeRequest.Intermediates] lets the
// grader tell a forgotten intermediate (B) from an untrusted chain (T), as
// a browser's intermediate cache does.
//
// # Concurrency
//
// Every function is safe for concurrent use; nothing is shared between
// calls. [Grade] runs its probes one after another on fresh connections,
// each bounded by the request timeout and by ctx.
//
// # Security
//
// Private keys are written only by [WriteKeyFile] (mode 0600, published
// atomically with a hard link so that an existing key is never replaced)
// and into password-protected PKCS#12 files; they never appear in reports,
// instructions or errors. A key that cannot be exported (an HSM key) is
// refused for PKCS#12 with [roamsign.ErrUnsupported] rather than copied.
// Every parser has a size limit ([MaxInputSize], [MaxCertificates]) and a
// fuzz target, and bad input gets a typed error ([roamsign.ErrInvalidInput],
// [roamsign.ErrTooLarge]). The grader's probes skip certificate checks on
// purpose so that a bad certificate can be reported; the chain is then
// verified separately against the given roots.
//
// # Limitations
//
//   - Go's TLS client cannot speak SSLv2 or SSLv3, so those protocols are
//     reported as "not tested", and export, NULL and anonymous suites
//     cannot be probed.
//   - TLS 1.3 suites cannot be chosen by Go's client; the negotiated one is
//     reported. Finite-field DHE suites are not offered by Go's client and
//     are not probed.
//   - [CheckBundle] and [Grade] do no network fetches of their own: a
//     missing intermediate is named with its AIA address, and
//     [FetchIssuer] downloads it on request (certcheck bundle
//     --fetch-missing); the fetched certificate counts only if the chain
//     then verifies to a trusted root.
//   - PKCS#7 bundles must be DER (or PEM of DER); BER with indefinite
//     lengths is refused.
//   - PKCS#12 output uses software.sslmate.com/src/go-pkcs12; choose
//     [PKCS12Options.Legacy] for Windows Server 2016 and older.
package servercert

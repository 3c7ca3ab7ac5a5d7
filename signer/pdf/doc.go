// Package pdf adds PAdES signatures to PDF documents by incremental update.
//
// # Overview
//
// A signature is made in two halves so that the private key may live
// elsewhere (a remote signing service that sees only hashes):
//
//  1. [Prepare] reads the document through an io.ReaderAt, builds an
//     incremental update that adds a signature field (invisible, or visible
//     with an appearance showing signer, date and reason), a signature
//     dictionary with a /Contents placeholder sized for the certificate
//     chain and an optional timestamp, and computes the digest of the
//     /ByteRange while streaming the file. It then prepares the CMS signed
//     attributes over that digest. [Prepared.Digest] is the "Data Hash To
//     Sign".
//  2. [Prepared.Complete] turns the signature value into a CMS SignedData
//     (CAdES, /SubFilter /ETSI.CAdES.detached), optionally adds an RFC 3161
//     signature timestamp (PAdES-B-T), and writes the original bytes
//     followed by the update with the CMS hex-encoded in /Contents. No other
//     byte changes. [Prepared.CompleteCMS] embeds a CMS built elsewhere.
//
// [Sign] does both halves with a local crypto.Signer.
//
// A PDF 1.x document also declares, in its catalog, the developer
// extension ETSI EN 319 142-1 recommends for these features (/Extensions
// /ESIC, /BaseVersion /1.7: level 2 with an ETSI.CAdES.detached
// signature, level 1 with a /DSS or a document time-stamp; a higher level
// is kept, and a document older than 1.7 gets /Version /1.7). ISO 32000-2
// defines them, so a PDF 2.0 document declares nothing.
//
// Approval signatures and certification signatures (DocMDP P=1, 2 or 3,
// /Perms /DocMDP and a /Reference with /TransformMethod /DocMDP) are
// supported; several signatures are added one after another, each in its
// own revision, and every earlier signature stays valid.
//
// # Long-term validation
//
// After completion, further incremental updates make a B-T signature last
// (ETSI EN 319 142-1): [AddLTV] adds a /DSS with the validated material of
// every signer and time-stamping authority path (B-LT),
// [AddDocumentTimestamp] adds a /DocTimeStamp (B-LTA when it follows the
// DSS), and [Extend] does both in one pass and renews an archive's newest
// time-stamp when needed, writing nothing when nothing needs adding. A
// host that signs at B-LTA completes with [Prepared.CompleteLTA], which
// writes the signature, the /DSS and the document time-stamp in one pass
// (the same three revisions as Complete then Extend, without reading the
// signed document back). Material is embedded only after a [ChainValidator] validated it (package
// ltv adapts package verify), and a document time-stamp's token only after
// it is verified here.
//
// # Configuration
//
// [Options] has documented zero values: SHA-256, an invisible approval
// signature named after the signer certificate, dated by the injected clock,
// no timestamp, a 2 GiB input limit. [TSAClient] is a [Timestamper] for
// an RFC 3161 TSA reached by HTTP POST.
//
// # Input handling
//
// The reader (internal/pdfx) handles classic cross-reference tables, xref
// streams, hybrid files (/XRefStm), object streams, any number of earlier
// revisions, linearized files and PDF 1.x and 2.0 headers. The update uses
// an xref stream when the newest section is one, else a table.
//
// Bytes before the "%PDF-" header (which ISO 32000 allows; the offsets
// then count from the header) are kept: the update counts its offsets the
// same way, and the signature's /ByteRange, in positions of the whole
// file, covers them too.
//
// Encrypted documents are refused with roamsign.ErrUnsupported and
// [ErrEncrypted]: with [ErrOwnerEncrypted] when the document opens without
// a password (it has permissions set by an owner password only), which
// [Repair] with RepairOptions.RemoveEncryption turns into a decrypted
// copy to sign; with [ErrPasswordRequired] when it needs a password to
// open, which roamsign cannot remove. Damaged documents give roamsign.ErrInvalidInput and no
// output; that includes files that do not end with "startxref … %%EOF" or
// whose cross-reference data is not where the file says: such files are
// refused with [ErrRepairable], not repaired in passing, because a repair
// rewrites bytes the signer never saw. Every refusal says what is wrong
// and what to do. Inputs beyond
// Options.MaxSize and structures beyond the reader's limits (objects,
// nesting, stream sizes) give roamsign.ErrTooLarge.
//
// # Concurrency
//
// Prepare and Sign may run concurrently on different documents. A
// [Prepared] is not safe for concurrent use. The document must not change
// between Prepare and Complete; Complete re-reads it, and if its CRC-32C
// differs from the one Prepare saw it fails with roamsign.ErrConflict (the
// output is then incomplete and must be discarded). The check is against
// accidents: a changed document cannot gain a valid signature, since the
// signature covers the digest computed by Prepare.
//
// # Security
//
// Memory use does not grow with the document: the file is hashed and
// copied in fixed-size chunks, and only cross-reference data and the few
// objects touched are held. What reading one document may cost in total
// (memory for its cross-reference data, object streams and objects, and
// the bytes parsed, all revisions together) is bounded by 32 MiB plus four
// times its size, at most 512 MiB; a document built to cost more, whatever
// its trick, gives roamsign.ErrTooLarge. A 1 GB document of 1,000 pages
// is signed with under 1 MiB of Go heap (BenchmarkLargeFile measures 10 MB,
// 100 MB and 1 GB files beside the raw hashing rate). PAdES puts the claimed signing time in /M, so
// the CMS carries no signing-time attribute; a trusted time comes only from
// a timestamp.
//
// # Limitations
//
// Appearance text is drawn in Go Regular (Latin, Greek and Cyrillic
// scripts) or the caller's TrueType font (Appearance.Font), embedded as a
// subset of the glyphs used with a /ToUnicode map, so a PDF/A document
// keeps only embedded fonts; text with a character the font lacks is
// refused with [GlyphError]. Characters are drawn one by one,
// without kerning or complex-script shaping. The appearance rectangle is
// given on the page as shown (rotation and crop box applied). An
// appearance may show a JPEG or PNG image. Existing empty signature fields are not filled; each signature
// adds its own field.
package pdf

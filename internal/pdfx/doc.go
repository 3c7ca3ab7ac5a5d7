// Package pdfx is a small, strict PDF reader and incremental-update writer
// used to sign PDF files and, later, to verify them.
//
// # Overview
//
// [Open] reads the header, the trailer and every cross-reference section of a
// file through an [io.ReaderAt] (classic tables, xref streams, hybrid files
// with /XRefStm, /Prev chains of any number of revisions) and keeps only the
// cross-reference entries in memory. Objects are parsed on demand by [Reader.Get],
// including objects stored in object streams. [Reader.Sections] exposes each
// revision's own entries and trailer, so a verifier can tell which objects
// a later revision changed.
//
// [Reader.NewUpdate] collects new and replaced objects and serializes them as
// an incremental update whose cross-reference section has the same kind as
// the file's newest one (an xref stream after an xref stream, else a table),
// chained by /Prev. The original bytes are never rewritten: the caller
// appends [Update.Bytes] to them. [Placeholder] objects reserve bytes whose
// final value is known only later (a signature's /ByteRange and /Contents).
//
// # For verifiers
//
// [Reader.Sections] gives each revision's own entries and trailer (newest
// first), so the objects a later revision added or replaced are known.
// [EOFMarkers] lists where revisions end (a signature's ByteRange should end
// at one of them). [Reader.ReadObjectAt] parses the object at an offset
// whatever the cross-reference says, and [ParseObject] parses one object
// from bytes. References to free or missing objects resolve to null, an
// entry that points at another object is an error, and loops in /Prev are
// refused.
//
// # Limits
//
// Every read is bounded by [Limits]: object count, nesting depth, the bytes
// one object may span and the decoded size of xref and object streams.
// Exceeding one gives roamsign.ErrTooLarge; malformed input gives
// roamsign.ErrInvalidInput; nothing panics.
//
// Files that do not start with "%PDF-" or do not end with
// "startxref … %%EOF" are refused, not repaired: repairing would change bytes
// that a signature is meant to cover. Rewrite such files with a PDF tool
// before signing.
//
// # Concurrency
//
// A [Reader] caches objects and is not safe for concurrent use; open one per
// goroutine (they may share the underlying io.ReaderAt).
//
// # Limitations
//
// Only /FlateDecode (with PNG predictors) is decoded, which is what xref and
// object streams use. Encrypted files can be opened to learn that they are
// encrypted ([Reader.Encrypted]); their strings and streams are not decrypted.
package pdfx

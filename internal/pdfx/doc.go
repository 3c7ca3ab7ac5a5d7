// Package pdfx is the small, strict PDF reader and incremental-update
// writer shared by signer/pdf, which signs PDF files, and verify, which
// verifies their signatures and what later revisions changed.
//
// # Overview
//
// [Open] reads the header, the trailer and every cross-reference section of a
// file through an [io.ReaderAt] (classic tables, xref streams, hybrid files
// with /XRefStm, /Prev chains of any number of revisions) and keeps only the
// cross-reference entries in memory, 24 bytes each in one index sorted by
// object number and section. Objects are parsed on demand by [Reader.Get],
// including objects stored in object streams.
//
// [Reader.NewUpdate] collects new and replaced objects and serializes them as
// an incremental update whose cross-reference section has the same kind as
// the file's newest one (an xref stream after an xref stream, else a table),
// chained by /Prev. The original bytes are never rewritten: the caller
// appends [Update.Bytes] to them. [Placeholder] objects reserve bytes whose
// final value is known only later (a signature's /ByteRange and /Contents).
// [Update.Applied] reads the file as it will be with an update appended,
// taking the update's objects as they were built, so that a further update
// (a PDF document time-stamp after a /DSS) needs no second reading.
//
// # For verifiers
//
// [Reader.Revision] opens an earlier revision of the same file (as if the
// file ended at one of its %%EOF markers, see [EOFMarkers]); it shares the
// budget and, where the sections are the same bytes, the index, so reading
// every revision costs about as much as reading the file once.
// [Reader.Changes] lists the objects whose entries differ between two
// revisions, and [Reader.Sections] with [Reader.SectionEntries] gives each
// section's own entries and trailer (newest first). [Reader.ReadObjectAt]
// parses the object at an offset whatever the cross-reference says, and
// [ParseObject] parses one object from bytes. References to free or
// missing objects resolve to null, an entry that points at another object
// is an error, and loops in /Prev are refused.
//
// # Repair
//
// [Rebuild] reads a damaged file without its cross-reference data, from
// the objects a streamed scan finds, and [Reader.WriteFull] writes what a
// Reader sees as a clean file of one revision, copying stream data in
// chunks. They serve an explicit repair (signer/pdf's Repair), never a
// signature over the original bytes.
//
// # Limits
//
// Every read is bounded by [Limits]: object count, nesting depth, the bytes
// one object may span and the decoded size of xref and object streams.
// Above these, one [Budget] bounds the total cost of a document: memory
// for its cross-reference entries, object streams, decoded data and
// parsed objects, and the bytes scanned, charged as they happen for every
// section, object stream and revision, and never refunded. A limit per
// piece would multiply (forty chained xref streams, each within its own
// limit, once took a server down); a total does not. Cross-reference data
// is also bounded by what the file can hold: every entry a section
// declares (its /Size or /Index ranges) needs at least one byte of file.
// Exceeding a limit gives roamsign.ErrTooLarge; malformed input gives
// roamsign.ErrInvalidInput; nothing panics.
//
// The "%PDF-" header may follow other bytes (at most 1024, such as a mail
// header left in front): the file's offsets then count from the header,
// as ISO 32000 allows, and the Reader turns them into positions in the
// whole file ([Reader.HeaderOffset]); an [Update] writes its offsets the
// same way. Files that have no header or do not end with
// "startxref … %%EOF", or whose cross-reference data is not where it
// says, are refused, not repaired: repairing would change bytes that a
// signature is meant to cover. Such faults are a [DamageError] (signer/pdf
// can write a repaired copy to sign instead).
//
// # Concurrency
//
// A [Reader] caches objects and is not safe for concurrent use; open one per
// goroutine (they may share the underlying io.ReaderAt).
//
// # Limitations
//
// Only /FlateDecode (with PNG predictors) is decoded, which is what xref and
// object streams use.
//
// # Encryption
//
// Encrypted files open as any other ([Reader.Encrypted] tells), their
// strings and streams as they are in the file. [Reader.Decrypt] makes a
// reader present them decrypted, for an explicit removal of the
// encryption ([Reader.WriteFull] then writes an unencrypted copy); it
// implements the standard security handler (ISO 32000-2, 7.6.4) with the
// empty user password only: RC4 of 40 to 128 bits (versions 1, 2 and 4),
// AES-128 (version 4, /AESV2) and AES-256 (version 5, revisions 5 and 6),
// so files with an owner password only. A file that needs a password to
// open gives [ErrPasswordRequired]; public-key handlers, other versions
// and crypt filters give [ErrUnsupportedEncryption]. The user password
// check compares in constant time; decryption is done in place or
// streamed in chunks (WriteFull), within the same budget.
package pdfx

// Package medium answers which signing medium a user holds — USB token,
// software certificate, roaming key, or roaming key with OTP — and which
// one to use with a given host system.
//
// # Overview
//
// A [Resolver] returns an [Answer]: the user's media, the one to use with
// the calling host, and for a server-side (roaming) medium the certificate
// summary the signing screen shows (subject, issuer, serial, validity),
// parsed from the stored chain with [Summarize]. A user may hold several
// media during a transition; the choice is the host's preference when the
// user holds it, else roaming+OTP, roaming, softcert, token in that order
// ([Choose]). Server-side media count only for hosts the user is enrolled
// for (listed in the user's hosts: an empty list is no host, the rule of
// roamsign.UserRecord.EnrolledFor) and only while roaming is not disabled.
//
// Implementations: [Static] (in memory), [StoreResolver] (the service's
// user records through the narrow [UserStore]), [HTTPResolver] (an
// external directory web service speaking JSON, see [DirectoryRecord]) and
// [Cache] (TTL cache with single-flight lookups in front of any of them).
//
// User ids are validated with roamsign.ParseUserID (12-digit MyKad number
// with a plausible date of birth and a valid place-of-birth code).
//
// # Errors
//
// An unknown user gives [ErrNotFound] (roamsign.ErrNotFound); a directory
// that cannot be reached, times out or answers nonsense gives
// [ErrUnavailable] (roamsign.ErrUnavailable); a malformed id gives
// roamsign.ErrInvalidInput; a user with no medium usable with the host
// gives roamsign.ErrForbidden.
//
// # Configuration
//
// [HTTPConfig]: BaseURL (GET {BaseURL}/users/{id}?host={host}), Client (for
// mTLS), Timeout (default 5s), Header (for example Authorization). Answers
// are limited to [MaxDirectoryResponse] bytes. [CacheConfig]: TTL (default
// 5 minutes), NegativeTTL (0: unknown users are not cached), MaxEntries,
// LookupTimeout, Now.
//
// # Concurrency
//
// All resolvers are safe for concurrent use. The cache runs one lookup per
// user and host at a time; callers waiting for it stop when their own
// context ends. Errors other than "unknown user" are never cached.
package medium

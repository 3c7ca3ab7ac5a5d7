package roamsign

import (
	"unicode"
	"unicode/utf8"
)

// CheckDataHeader checks the characters of a data header, the host's
// document reference that the signing screen, the OTP message and the
// audit log show beside the hashes. It must be valid UTF-8 without control
// characters (Cc: C0, DEL, C1), format characters (Cf: the bidirectional
// marks, embeddings, overrides and isolates U+200E–U+200F, U+202A–U+202E,
// U+2066–U+2069, zero-width characters, the soft hyphen and every other
// Cf code point) or line and paragraph separators, so that what the
// signer reads is what the host sent: "PV2026/\u202e321000" would display
// as another voucher number. Length limits are the caller's.
func CheckDataHeader(h string) error {
	const op = "roamsign.CheckDataHeader"
	if !utf8.ValidString(h) {
		return E(ErrInvalidInput, op, "data header is not valid UTF-8")
	}
	for i, r := range h {
		if invisible(r) {
			return E(ErrInvalidInput, op, "data header has a control, format or separator character (U+%04X) at byte %d", r, i)
		}
	}
	return nil
}

// invisible reports characters that change or hide how text around them
// is displayed.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

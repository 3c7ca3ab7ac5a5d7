package roamsign

import (
	"fmt"
	"time"
)

// UserID is a signer's identity: a 12-digit MyKad number (YYMMDD-PB-NNNN
// without dashes). Use [ParseUserID] to obtain a validated one.
type UserID string

// ParseUserID validates a MyKad number. Dashes and spaces between the three
// groups are accepted and removed ("900101-14-5678" and "900101145678" are
// the same id). The first six digits must be a plausible date of birth
// (YYMMDD, any century) and the next two a valid place-of-birth code.
func ParseUserID(s string) (UserID, error) {
	const op = "roamsign.ParseUserID"
	if len(s) > 32 {
		return "", E(ErrInvalidInput, op, "user id too long (%d characters)", len(s))
	}
	b := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b = append(b, c)
		case (c == '-' || c == ' ') && (len(b) == 6 || len(b) == 8):
			// separator between groups
		default:
			return "", E(ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
		}
	}
	if len(b) != 12 {
		return "", E(ErrInvalidInput, op, "user id must be a 12-digit MyKad number, got %d digits", len(b))
	}
	yy := int(b[0]-'0')*10 + int(b[1]-'0')
	mm := int(b[2]-'0')*10 + int(b[3]-'0')
	dd := int(b[4]-'0')*10 + int(b[5]-'0')
	if !plausibleDate(yy, mm, dd) {
		return "", E(ErrInvalidInput, op, "user id does not start with a valid date of birth (YYMMDD)")
	}
	pb := int(b[6]-'0')*10 + int(b[7]-'0')
	if !ValidPlaceOfBirth(pb) {
		return "", E(ErrInvalidInput, op, "user id has an invalid place-of-birth code %02d", pb)
	}
	return UserID(b), nil
}

// Valid reports whether id is a valid, normalised MyKad number.
func (id UserID) Valid() bool {
	v, err := ParseUserID(string(id))
	return err == nil && v == id
}

// Masked returns the id with its middle digits hidden, for logs:
// "9001******78".
func (id UserID) Masked() string {
	s := string(id)
	if len(s) < 6 {
		return "****"
	}
	return s[:4] + "******" + s[len(s)-2:]
}

// String returns the id.
func (id UserID) String() string { return string(id) }

func plausibleDate(yy, mm, dd int) bool {
	if mm < 1 || mm > 12 || dd < 1 {
		return false
	}
	// Both centuries are possible; a date valid in either is plausible.
	for _, century := range []int{1900, 2000} {
		t := time.Date(century+yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
		if t.Day() == dd && int(t.Month()) == mm {
			return true
		}
	}
	return false
}

// ValidPlaceOfBirth reports whether code is a place-of-birth code assigned by
// the National Registration Department: 01–16 and 21–59 (states and federal
// territories), 82 (state unknown) and the foreign-country codes 60–68, 71,
// 72, 74–79, 83–93, 98 and 99. Codes 00, 17–20, 69, 70, 73, 80, 81 and 94–97
// are not assigned.
func ValidPlaceOfBirth(code int) bool {
	switch {
	case code >= 1 && code <= 16, code >= 21 && code <= 59, code >= 60 && code <= 68:
		return true
	case code == 71, code == 72, code >= 74 && code <= 79, code == 82, code >= 83 && code <= 93, code == 98, code == 99:
		return true
	}
	return false
}

// MarshalText implements encoding.TextMarshaler.
func (id UserID) MarshalText() ([]byte, error) { return []byte(id), nil }

// UnmarshalText validates and normalises the id.
func (id *UserID) UnmarshalText(b []byte) error {
	v, err := ParseUserID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

var _ fmt.Stringer = UserID("")

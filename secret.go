package roamsign

import (
	"fmt"
	"log/slog"
)

// Secret holds a PIN or OTP in transit through the API. It never shows its
// value when printed, logged or marshalled: fmt verbs, slog and JSON all
// render "[redacted]". Use [Secret.Reveal] where the value is really needed
// (the activation check, or a transport's own wire struct).
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps the secret out of structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON writes "[redacted]", so a request struct marshalled by
// accident leaks nothing. Transports send the value through their own wire
// types.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText writes "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Empty reports whether no secret was given.
func (s Secret) Empty() bool { return s == "" }

package roamsign

import "strings"

// MediumKind is a kind of signing medium a user may hold.
type MediumKind string

// The signing media. A user may hold several during a transition from tokens
// to roaming keys; the host picks the flow from the answer of API.Medium.
const (
	// MediumToken: a USB token (or smart card) held by the signer; signing
	// happens on the signer's machine, not on the server.
	MediumToken MediumKind = "token"
	// MediumSoftcert: a software certificate held by the signer's machine.
	MediumSoftcert MediumKind = "softcert"
	// MediumRoaming: a key held by the server HSM, authorised by PIN only.
	MediumRoaming MediumKind = "roaming"
	// MediumRoamingOTP: a key held by the server HSM, authorised by PIN and
	// a one-time password. This is the flow this SDK serves.
	MediumRoamingOTP MediumKind = "roaming+otp"
)

// Valid reports whether k is one of the defined kinds.
func (k MediumKind) Valid() bool {
	switch k {
	case MediumToken, MediumSoftcert, MediumRoaming, MediumRoamingOTP:
		return true
	}
	return false
}

// ServerSide reports whether the medium's key is held by the server.
func (k MediumKind) ServerSide() bool { return k == MediumRoaming || k == MediumRoamingOTP }

// ParseMediumKind parses a kind name, ignoring case; "roaming_otp" and
// "roamingotp" are accepted for "roaming+otp".
func ParseMediumKind(s string) (MediumKind, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "roaming_otp", "roamingotp", "roaming-otp":
		v = string(MediumRoamingOTP)
	}
	k := MediumKind(v)
	if !k.Valid() {
		if len(s) > 32 {
			s = s[:32] + "…"
		}
		return "", E(ErrInvalidInput, "roamsign.ParseMediumKind", "unknown signing medium %q", s)
	}
	return k, nil
}

// Channel is an OTP delivery channel.
type Channel string

// The OTP delivery channels. App push is the stronger channel; e-mail is the
// fallback that policy may forbid. ChannelConsole is for development only.
const (
	ChannelApp     Channel = "app"
	ChannelEmail   Channel = "email"
	ChannelConsole Channel = "console"
)

// Valid reports whether c is a defined channel.
func (c Channel) Valid() bool {
	return c == ChannelApp || c == ChannelEmail || c == ChannelConsole
}

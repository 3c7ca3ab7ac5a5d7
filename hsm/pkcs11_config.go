package hsm

import "log/slog"

// DefaultSessions is the session pool size used when PKCS11Config.Sessions
// is zero.
const DefaultSessions = 4

// MaxSessions bounds PKCS11Config.Sessions.
const MaxSessions = 256

// PKCS11Config configures [OpenPKCS11]. It can be loaded from a file; the
// zero value of each field is documented.
type PKCS11Config struct {
	// URI names the module, the token and the PIN, for example
	// "pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/roamsign/token.pin".
	// See [ParseURI]. Required.
	URI string
	// Sessions is the size of the session pool, that is how many signatures
	// run at once. 0 means [DefaultSessions]; at most [MaxSessions].
	Sessions int
	// Logger receives recovery and warning events (never PINs or key
	// material). nil means slog.Default().
	Logger *slog.Logger
}

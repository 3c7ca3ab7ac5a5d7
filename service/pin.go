package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/roamsign/roamsign"
)

// PINParams are the Argon2id parameters of new PIN verifiers. The zero
// value means the defaults (OWASP's second recommended set): 19 MiB, 2
// passes, 1 lane, 16-byte salt, 32-byte tag.
type PINParams struct {
	MemoryKiB uint32 // default 19456 (19 MiB); 8 .. 1048576
	Time      uint32 // passes, default 2; 1 .. 16
	Threads   uint8  // lanes, default 1
	SaltLen   int    // default 16; 16 .. 64
	KeyLen    uint32 // default 32; 16 .. 64
}

const (
	maxArgonMemory = 1 << 20 // KiB, 1 GiB
	maxArgonTime   = 16
)

func (p PINParams) withDefaults() (PINParams, error) {
	const op = "service.PINParams"
	if p.MemoryKiB == 0 {
		p.MemoryKiB = 19456
	}
	if p.Time == 0 {
		p.Time = 2
	}
	if p.Threads == 0 {
		p.Threads = 1
	}
	if p.SaltLen == 0 {
		p.SaltLen = 16
	}
	if p.KeyLen == 0 {
		p.KeyLen = 32
	}
	if err := p.check(); err != nil {
		return p, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "")
	}
	return p, nil
}

func (p PINParams) check() error {
	switch {
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgonMemory:
		return fmt.Errorf("argon2 memory %d KiB out of range", p.MemoryKiB)
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2 time %d out of range", p.Time)
	case p.Threads < 1:
		return fmt.Errorf("argon2 threads must be at least 1")
	case p.SaltLen < 16 || p.SaltLen > 64:
		return fmt.Errorf("salt length %d out of range", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("tag length %d out of range", p.KeyLen)
	}
	return nil
}

// Verifier encoding (PHC string format):
//
//	$argon2id$v=19$m=19456,t=2,p=1[,pep=1]$<salt b64>$<tag b64>
//
// pep=1 records that the PIN was MACed with the pepper first.
const maxVerifierLen = 512

// makeVerifier derives a new verifier for pin.
func (s *Service) makeVerifier(ctx context.Context, pin string) ([]byte, error) {
	p := s.cfg.PIN
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, "service.makeVerifier", err, "random source failed")
	}
	in, peppered, err := s.pinInput(ctx, pin, s.pep != nil)
	if err != nil {
		return nil, err
	}
	tag, err := s.argon(ctx, in, salt, p)
	if err != nil {
		return nil, err
	}
	pep := ""
	if peppered {
		pep = ",pep=1"
	}
	enc := base64.RawStdEncoding
	v := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d%s$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, pep,
		enc.EncodeToString(salt), enc.EncodeToString(tag))
	return []byte(v), nil
}

// pinInput returns the bytes fed to Argon2id: the PIN, or its MAC under the
// pepper.
func (s *Service) pinInput(ctx context.Context, pin string, peppered bool) ([]byte, bool, error) {
	if !peppered {
		return []byte(pin), false, nil
	}
	if s.pep == nil {
		return nil, false, roamsign.E(roamsign.ErrUnavailable, "service.pinInput", "PIN verifier needs the pepper key, which is not configured")
	}
	m, err := s.pep.MAC(ctx, []byte("roamsign/pin/v1\x00"+pin))
	if err != nil {
		return nil, false, roamsign.Wrap(roamsign.ErrUnavailable, "service.pinInput", err, "pepper MAC failed")
	}
	return m, true, nil
}

// argon runs Argon2id under the concurrency bound.
func (s *Service) argon(ctx context.Context, in, salt []byte, p PINParams) ([]byte, error) {
	select {
	case s.argonSem <- struct{}{}:
	case <-ctx.Done():
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, "service.argon", ctx.Err(), "waiting for a PIN check slot")
	}
	defer func() { <-s.argonSem }()
	return argon2.IDKey(in, salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen), nil
}

type parsedVerifier struct {
	p        PINParams
	peppered bool
	salt     []byte
	tag      []byte
}

// parseVerifier decodes a stored verifier, refusing parameters outside the
// limits so a corrupted record cannot exhaust memory.
func parseVerifier(v []byte) (*parsedVerifier, error) {
	const op = "service.parseVerifier"
	bad := func(msg string) error {
		return roamsign.E(roamsign.ErrInternal, op, "stored PIN verifier is malformed: %s", msg)
	}
	if len(v) == 0 || len(v) > maxVerifierLen {
		return nil, bad("length")
	}
	parts := strings.Split(string(v), "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, bad("format")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, bad("version")
	}
	var pv parsedVerifier
	for _, kv := range strings.Split(parts[3], ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, bad("parameter")
		}
		var n uint64
		if _, err := fmt.Sscanf(val, "%d", &n); err != nil || fmt.Sprint(n) != val {
			return nil, bad("parameter value")
		}
		switch k {
		case "m":
			if n > maxArgonMemory {
				return nil, bad("memory")
			}
			pv.p.MemoryKiB = uint32(n)
		case "t":
			if n > maxArgonTime {
				return nil, bad("time")
			}
			pv.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, bad("threads")
			}
			pv.p.Threads = uint8(n)
		case "pep":
			pv.peppered = n == 1
		default:
			return nil, bad("unknown parameter")
		}
	}
	enc := base64.RawStdEncoding
	var err error
	if pv.salt, err = enc.DecodeString(parts[4]); err != nil {
		return nil, bad("salt")
	}
	if pv.tag, err = enc.DecodeString(parts[5]); err != nil {
		return nil, bad("tag")
	}
	pv.p.SaltLen, pv.p.KeyLen = len(pv.salt), uint32(len(pv.tag))
	if err := pv.p.check(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "stored PIN verifier is malformed")
	}
	return &pv, nil
}

// dummySalt is used when a user has no usable verifier, so that the time
// taken does not reveal it.
var dummySalt = make([]byte, 16)

// errNoPepper refuses a verifier made without the pepper while a pepper is
// configured: such a verifier can be computed by anyone who can write the
// database, for a PIN of their choice, without the HSM.
var errNoPepper = roamsign.E(roamsign.ErrUnavailable, "service.verifyPIN", "stored PIN verifier was made without the pepper; an administrator must reset the PIN")

// verifyPIN reports whether pin matches the verifier, comparing in constant
// time. It always spends one Argon2id evaluation, also for an empty or
// malformed verifier, so timing does not tell them apart. Once a pepper is
// configured, a verifier without it is refused ([errNoPepper]).
func (s *Service) verifyPIN(ctx context.Context, verifier []byte, pin string) (_ bool, err error) {
	defer s.observe("pin_verify", time.Now(), &err)
	pv, perr := parseVerifier(verifier)
	if perr != nil {
		pv = &parsedVerifier{p: s.cfg.PIN, salt: dummySalt, tag: make([]byte, s.cfg.PIN.KeyLen)}
	}
	if perr == nil && s.pep != nil && !pv.peppered {
		return false, errNoPepper
	}
	in, _, err := s.pinInput(ctx, pin, pv.peppered)
	if err != nil {
		return false, err
	}
	tag, err := s.argon(ctx, in, pv.salt, pv.p)
	if err != nil {
		return false, err
	}
	ok := subtle.ConstantTimeCompare(tag, pv.tag) == 1
	if perr != nil {
		return false, nil
	}
	return ok, nil
}

// commonPINs are refused outright.
var commonPINs = map[string]bool{
	"password": true, "passw0rd": true, "qwerty": true, "qwertyui": true, "abc123": true,
	"123123": true, "121212": true, "112233": true, "654321": true, "123321": true,
	"iloveyou": true, "admin123": true, "000000": true, "111111": true, "123456": true,
}

// CheckPINRules reports whether pin is acceptable as a new PIN for user:
// 6 to 16 characters, not one repeated character, not an ascending or
// descending run (123456, fedcba), not a common PIN, and not the user id or
// part of it (any 6 consecutive digits of it, or the PIN inside the id).
// The error never contains the PIN.
func CheckPINRules(user roamsign.UserID, pin string) error {
	const op = "service.CheckPINRules"
	if !utf8.ValidString(pin) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN is not valid UTF-8")
	}
	n := utf8.RuneCountInString(pin)
	if n < 6 || n > 16 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN must have 6 to 16 characters, got %d", n)
	}
	for _, r := range pin {
		if r < 0x20 || r == 0x7f {
			return roamsign.E(roamsign.ErrInvalidInput, op, "PIN contains a control character")
		}
	}
	rs := []rune(strings.ToLower(pin))
	same, up, down := true, true, true
	for i := 1; i < len(rs); i++ {
		d := rs[i] - rs[i-1]
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	switch {
	case same:
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN must not repeat one character")
	case up || down:
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN must not be a sequence")
	case commonPINs[string(rs)]:
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN is too common")
	}
	id := string(user)
	if id != "" {
		if strings.Contains(id, pin) {
			return roamsign.E(roamsign.ErrInvalidInput, op, "PIN must not be part of the user id")
		}
		for i := 0; i+6 <= len(id); i++ {
			if strings.Contains(pin, id[i:i+6]) {
				return roamsign.E(roamsign.ErrInvalidInput, op, "PIN must not contain part of the user id")
			}
		}
	}
	return nil
}

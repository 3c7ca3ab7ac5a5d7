package otp

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// HMACHash names the hash of an HOTP-family HMAC. SHA-1 exists for
// interoperability with deployed authenticator apps and the RFC test
// vectors; prefer SHA-256.
type HMACHash int

// The HMAC hashes.
const (
	HMACSHA1 HMACHash = iota + 1
	HMACSHA256
	HMACSHA512
)

func (h HMACHash) new() func() hash.Hash {
	switch h {
	case HMACSHA1:
		return sha1.New
	case HMACSHA256:
		return sha256.New
	case HMACSHA512:
		return sha512.New
	}
	return nil
}

func (h HMACHash) size() int {
	switch h {
	case HMACSHA1:
		return 20
	case HMACSHA256:
		return 32
	case HMACSHA512:
		return 64
	}
	return 0
}

func parseHMACHash(s string) (HMACHash, bool) {
	switch s {
	case "SHA1":
		return HMACSHA1, true
	case "SHA256":
		return HMACSHA256, true
	case "SHA512":
		return HMACSHA512, true
	}
	return 0, false
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// hotp computes HMAC(key, msg) and applies RFC 4226 dynamic truncation to
// digits decimal digits (or returns the hex HMAC when digits is 0).
func hotp(h HMACHash, key, msg []byte, digits int) string {
	m := hmac.New(h.new(), key)
	m.Write(msg)
	sum := m.Sum(nil)
	if digits == 0 {
		return hex.EncodeToString(sum)
	}
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	if digits >= 10 {
		return formatDigits(v, 10)
	}
	return formatDigits(v%pow10[digits], digits)
}

// TOTP computes RFC 6238 time-based OTPs. The zero value is invalid; set
// Hash and Digits (6–8). Step defaults to 30 seconds and T0 to the Unix
// epoch.
type TOTP struct {
	Hash   HMACHash
	Digits int
	Step   time.Duration
	T0     time.Time
}

func (t TOTP) norm() (TOTP, error) {
	if t.Hash.new() == nil || t.Digits < 6 || t.Digits > 8 {
		return t, roamsign.E(roamsign.ErrInvalidInput, "otp.TOTP", "TOTP needs a hash and 6 to 8 digits")
	}
	if t.Step == 0 {
		t.Step = 30 * time.Second
	}
	if t.Step < time.Second {
		return t, roamsign.E(roamsign.ErrInvalidInput, "otp.TOTP", "TOTP step must be at least one second")
	}
	return t, nil
}

// Counter returns the time step of at: floor((at - T0) / Step).
func (t TOTP) Counter(at time.Time) int64 {
	t, _ = t.norm()
	d := at.Unix()
	if !t.T0.IsZero() {
		d -= t.T0.Unix()
	}
	s := int64(t.Step / time.Second)
	if d < 0 {
		return (d - s + 1) / s
	}
	return d / s
}

// At returns the OTP for seed at the time step of at.
func (t TOTP) At(seed []byte, at time.Time) (string, error) {
	n, err := t.norm()
	if err != nil {
		return "", err
	}
	return n.atCounter(seed, n.Counter(at)), nil
}

func (t TOTP) atCounter(seed []byte, step int64) string {
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(step))
	return hotp(t.Hash, seed, c[:], t.Digits)
}

// StepStore remembers the last accepted offline-OTP time step per user, so
// that an accepted code (or one of an earlier step) is never accepted
// again. The service's store may implement it; [MemoryStepStore] keeps it
// in memory.
type StepStore interface {
	// AdvanceStep sets the user's last accepted step to step if step is
	// greater than the current one, atomically, and reports whether it did.
	AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error)
}

// MemoryStepStore is a StepStore in memory, for one process.
type MemoryStepStore struct {
	mu   sync.Mutex
	last map[roamsign.UserID]int64
}

var _ StepStore = (*MemoryStepStore)(nil)

// AdvanceStep implements StepStore.
func (m *MemoryStepStore) AdvanceStep(_ context.Context, user roamsign.UserID, step int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[roamsign.UserID]int64{}
	}
	if last, ok := m.last[user]; ok && step <= last {
		return false, nil
	}
	m.last[user] = step
	return true, nil
}

// TOTPVerifier checks TOTP codes from a signer's app with a tolerance of
// Skew steps either side (default 1) and refuses replays through Steps.
type TOTPVerifier struct {
	TOTP  TOTP
	Skew  int
	Steps StepStore        // required
	Now   func() time.Time // default time.Now
}

// Verify checks code for user's seed now. A wrong code gives [ErrWrongOTP];
// a code of a step already accepted (or older) gives [ErrReplay].
func (v *TOTPVerifier) Verify(ctx context.Context, user roamsign.UserID, seed []byte, code roamsign.Secret) error {
	const op = "otp.TOTPVerifier.Verify"
	t, err := v.TOTP.norm()
	if err != nil {
		return err
	}
	if v.Steps == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no step store configured")
	}
	c := code.Reveal()
	if len(c) != t.Digits || strings.Trim(c, "0123456789") != "" {
		return roamsign.E(roamsign.ErrInvalidInput, op, "code must be %d digits", t.Digits)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.Skew
	if skew <= 0 {
		skew = 1
	}
	cur := t.Counter(now())
	matched, match := int64(0), 0
	// Compare every candidate so timing does not tell which step matched.
	for s := cur - int64(skew); s <= cur+int64(skew); s++ {
		eq := subtle.ConstantTimeCompare([]byte(t.atCounter(seed, s)), []byte(c))
		if eq == 1 && match == 0 {
			matched, match = s, 1
		}
	}
	if match == 0 {
		return fail(op, ErrWrongOTP)
	}
	ok, err := v.Steps.AdvanceStep(ctx, user, matched)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "step store")
	}
	if !ok {
		return fail(op, ErrReplay)
	}
	return nil
}

// MaxSuiteLength bounds an OCRA suite string.
const MaxSuiteLength = 64

// Suite is a parsed RFC 6287 OCRA suite, for example
// "OCRA-1:HOTP-SHA256-8:QH64" or "OCRA-1:HOTP-SHA256-6:C-QN08-PSHA1-T1M".
type Suite struct {
	Hash      HMACHash
	Digits    int  // 0 (no truncation: hex HMAC) or 4–10
	Counter   bool // C
	QFormat   byte // 'A', 'N' or 'H'
	QLength   int  // 4–64
	PIN       HMACHash
	Session   int           // S length in bytes, 0: none
	TimeStep  time.Duration // T step, 0: none
	canonical string
}

// String returns the suite string.
func (s *Suite) String() string { return s.canonical }

// ParseSuite parses an OCRA suite string.
func ParseSuite(str string) (*Suite, error) {
	const op = "otp.ParseSuite"
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, "invalid OCRA suite: %s", what)
	}
	if len(str) > MaxSuiteLength {
		return nil, bad("too long")
	}
	parts := strings.Split(str, ":")
	if len(parts) != 3 || parts[0] != "OCRA-1" {
		return nil, bad("must be OCRA-1:<crypto>:<data input>")
	}
	s := &Suite{canonical: str}
	cf := strings.Split(parts[1], "-")
	if len(cf) != 3 || cf[0] != "HOTP" {
		return nil, bad("crypto function must be HOTP-<hash>-<digits>")
	}
	var ok bool
	if s.Hash, ok = parseHMACHash(cf[1]); !ok {
		return nil, bad("unknown hash")
	}
	d, err := strconv.Atoi(cf[2])
	if err != nil || len(cf[2]) > 2 || (d != 0 && (d < 4 || d > 10)) {
		return nil, bad("digits must be 0 or 4–10")
	}
	s.Digits = d
	di := strings.Split(parts[2], "-")
	i := 0
	if i < len(di) && di[i] == "C" {
		s.Counter = true
		i++
	}
	if i >= len(di) || len(di[i]) != 4 || di[i][0] != 'Q' {
		return nil, bad("challenge must be Q<A|N|H><04–64>")
	}
	s.QFormat = di[i][1]
	if s.QFormat != 'A' && s.QFormat != 'N' && s.QFormat != 'H' {
		return nil, bad("challenge format must be A, N or H")
	}
	ql, err := strconv.Atoi(di[i][2:])
	if err != nil || ql < 4 || ql > 64 || di[i][2] == '+' || di[i][2] == '-' {
		return nil, bad("challenge length must be 04–64")
	}
	s.QLength = ql
	i++
	if i < len(di) && strings.HasPrefix(di[i], "P") {
		if s.PIN, ok = parseHMACHash(di[i][1:]); !ok {
			return nil, bad("unknown PIN hash")
		}
		i++
	}
	if i < len(di) && strings.HasPrefix(di[i], "S") {
		n, err := strconv.Atoi(di[i][1:])
		if err != nil || len(di[i]) != 4 || n < 1 || n > 512 {
			return nil, bad("session length must be S001–S512")
		}
		s.Session = n
		i++
	}
	if i < len(di) && strings.HasPrefix(di[i], "T") {
		t := di[i][1:]
		if len(t) < 2 || len(t) > 3 {
			return nil, bad("time step must be T<n><S|M|H>")
		}
		n, err := strconv.Atoi(t[:len(t)-1])
		if err != nil || n < 1 || t[0] == '+' || t[0] == '-' {
			return nil, bad("time step must be T<n><S|M|H>")
		}
		switch {
		case t[len(t)-1] == 'S' && n <= 59:
			s.TimeStep = time.Duration(n) * time.Second
		case t[len(t)-1] == 'M' && n <= 59:
			s.TimeStep = time.Duration(n) * time.Minute
		case t[len(t)-1] == 'H' && n <= 48:
			s.TimeStep = time.Duration(n) * time.Hour
		default:
			return nil, bad("time step out of range")
		}
		i++
	}
	if i != len(di) {
		return nil, bad("unexpected data input " + strconv.Quote(di[i]))
	}
	return s, nil
}

// OCRAInput is the data input of one OCRA computation. Fields the suite
// does not name must be zero.
type OCRAInput struct {
	Counter  uint64 // C
	Question string // Q, in the suite's format (decimal, hex or text)
	PIN      []byte // P: the PIN; hashed with the suite's PIN hash
	Session  []byte // S: session information, at most the suite's length
	Time     int64  // T: the time step count (see Suite.Steps)
}

// Steps returns the suite's time step count at t (Unix time / step).
func (s *Suite) Steps(t time.Time) int64 {
	if s.TimeStep == 0 {
		return 0
	}
	return t.Unix() / int64(s.TimeStep/time.Second)
}

// Compute returns the OCRA response for key and in.
func (s *Suite) Compute(key []byte, in OCRAInput) (string, error) {
	const op = "otp.Suite.Compute"
	bad := func(f string, a ...any) error { return roamsign.E(roamsign.ErrInvalidInput, op, f, a...) }
	msg := make([]byte, 0, len(s.canonical)+1+8+128+64+512+8)
	msg = append(msg, s.canonical...)
	msg = append(msg, 0)
	if s.Counter {
		msg = binary.BigEndian.AppendUint64(msg, in.Counter)
	} else if in.Counter != 0 {
		return "", bad("suite has no counter")
	}
	// A mutual challenge is two challenges concatenated, so up to twice
	// the suite's length is accepted.
	q := in.Question
	if len(q) < 4 || len(q) > 2*s.QLength {
		return "", bad("challenge must be 4 to %d characters", 2*s.QLength)
	}
	var qhex string
	switch s.QFormat {
	case 'N':
		if strings.Trim(q, "0123456789") != "" {
			return "", bad("challenge must be decimal")
		}
		n, _ := new(big.Int).SetString(q, 10)
		qhex = strings.ToUpper(n.Text(16))
	case 'H':
		if _, err := hex.DecodeString(q + strings.Repeat("0", len(q)%2)); err != nil {
			return "", bad("challenge must be hexadecimal")
		}
		qhex = q
	case 'A':
		for i := 0; i < len(q); i++ {
			if q[i] < 0x21 || q[i] > 0x7e {
				return "", bad("challenge must be printable ASCII")
			}
		}
		qhex = hex.EncodeToString([]byte(q))
	}
	qb, err := hex.DecodeString(qhex + strings.Repeat("0", 256-len(qhex)))
	if err != nil {
		return "", bad("challenge encoding")
	}
	msg = append(msg, qb...)
	if s.PIN != 0 {
		h := s.PIN.new()()
		h.Write(in.PIN)
		msg = h.Sum(msg)
	} else if len(in.PIN) != 0 {
		return "", bad("suite has no PIN")
	}
	if s.Session > 0 {
		if len(in.Session) > s.Session {
			return "", bad("session information longer than %d bytes", s.Session)
		}
		msg = append(msg, make([]byte, s.Session-len(in.Session))...)
		msg = append(msg, in.Session...)
	} else if len(in.Session) != 0 {
		return "", bad("suite has no session information")
	}
	if s.TimeStep > 0 {
		msg = binary.BigEndian.AppendUint64(msg, uint64(in.Time))
	} else if in.Time != 0 {
		return "", bad("suite has no time step")
	}
	return hotp(s.Hash, key, msg, s.Digits), nil
}

// Question derives the suite's challenge from a challenge's nonce and
// hash-list digest, so that an OCRA response approves exactly this
// signing: SHA-256 over both, rendered as hex (formats H and A) or as
// decimal digits by uniform reduction (format N), QLength characters.
func (s *Suite) Question(nonce []byte, digest [32]byte) string {
	h := sha256.New()
	h.Write([]byte("roamsign/ocra-question/v1\x00"))
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(nonce)))
	h.Write(l[:])
	h.Write(nonce)
	h.Write(digest[:])
	seed := h.Sum(nil)
	if s.QFormat != 'N' {
		// Expand to 64 hex characters at most: SHA-256 gives exactly 64.
		return strings.ToUpper(hex.EncodeToString(seed))[:s.QLength]
	}
	// Decimal: take digits uniformly from successive SHA-256 blocks.
	var b strings.Builder
	for counter := uint32(0); b.Len() < s.QLength; counter++ {
		blk := sha256.Sum256(append(append([]byte(nil), seed...), byte(counter>>24), byte(counter>>16), byte(counter>>8), byte(counter)))
		for _, c := range blk {
			if c < 250 && b.Len() < s.QLength { // 250 = 25·10: uniform
				b.WriteByte('0' + c%10)
			}
		}
	}
	return b.String()
}

// OCRAVerifier checks OCRA responses from a signer's app to a challenge:
// the question is derived from the challenge's nonce and hash-list digest
// (see [Suite.Question]). Without a time step in the suite, single use
// comes from the challenge itself (it is consumed once); with one, Steps
// refuses a response for a step already accepted.
type OCRAVerifier struct {
	Suite *Suite
	Skew  int              // time steps tolerated either side (default 1)
	Steps StepStore        // required when the suite has a time step
	Now   func() time.Time // default time.Now
}

// Verify checks response for the user's key over the challenge's nonce and
// digest; pin is used when the suite names a PIN hash.
func (v *OCRAVerifier) Verify(ctx context.Context, user roamsign.UserID, key, nonce []byte, digest [32]byte, pin []byte, response roamsign.Secret) error {
	const op = "otp.OCRAVerifier.Verify"
	s := v.Suite
	if s == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no suite")
	}
	in := OCRAInput{Question: s.Question(nonce, digest), PIN: pin}
	if s.Counter {
		return roamsign.E(roamsign.ErrUnsupported, op, "counter-based OCRA suites are not supported for verification")
	}
	if s.TimeStep == 0 {
		want, err := s.Compute(key, in)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(response.Reveal())) != 1 {
			return fail(op, ErrWrongOTP)
		}
		return nil
	}
	if v.Steps == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no step store configured")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.Skew
	if skew <= 0 {
		skew = 1
	}
	cur := s.Steps(now())
	matched, match := int64(0), 0
	for t := cur - int64(skew); t <= cur+int64(skew); t++ {
		in.Time = t
		want, err := s.Compute(key, in)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(response.Reveal())) == 1 && match == 0 {
			matched, match = t, 1
		}
	}
	if match == 0 {
		return fail(op, ErrWrongOTP)
	}
	ok, err := v.Steps.AdvanceStep(ctx, user, matched)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "step store")
	}
	if !ok {
		return fail(op, ErrReplay)
	}
	return nil
}

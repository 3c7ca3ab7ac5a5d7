package otp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
)

var (
	seed20 = []byte("12345678901234567890")
	seed32 = []byte("12345678901234567890123456789012")
	seed64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

// TestTOTPVectors checks the test vectors of RFC 6238 Appendix B (8 digits,
// 30-second steps, T0 = 0).
func TestTOTPVectors(t *testing.T) {
	vectors := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0)
		for _, c := range []struct {
			h    otp.HMACHash
			seed []byte
			want string
		}{{otp.HMACSHA1, seed20, v.sha1}, {otp.HMACSHA256, seed32, v.sha256}, {otp.HMACSHA512, seed64, v.sha512}} {
			got, err := otp.TOTP{Hash: c.h, Digits: 8}.At(c.seed, at)
			if err != nil || got != c.want {
				t.Errorf("T=%d hash %d: got %s %v, want %s", v.unix, c.h, got, err, c.want)
			}
		}
	}
	if _, err := (otp.TOTP{Hash: otp.HMACSHA1, Digits: 5}).At(seed20, time.Now()); err == nil {
		t.Fatal("5 digits accepted")
	}
}

func TestTOTPReplay(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1234567890, 0)
	clock := func() time.Time { return now }
	steps := &otp.MemoryStepStore{}
	v := &otp.TOTPVerifier{TOTP: otp.TOTP{Hash: otp.HMACSHA256, Digits: 6}, Steps: steps, Now: clock}
	code, _ := v.TOTP.At(seed32, now)
	if err := v.Verify(ctx, testUser, seed32, roamsign.Secret(code)); err != nil {
		t.Fatal(err)
	}
	// The same code again, within the same step: refused.
	if err := v.Verify(ctx, testUser, seed32, roamsign.Secret(code)); !errors.Is(err, otp.ErrReplay) || !errors.Is(err, roamsign.ErrUsed) {
		t.Fatalf("replay: %v", err)
	}
	// The previous step's code is inside the skew window but older than
	// the accepted step: refused too.
	prev, _ := v.TOTP.At(seed32, now.Add(-30*time.Second))
	if err := v.Verify(ctx, testUser, seed32, roamsign.Secret(prev)); !errors.Is(err, otp.ErrReplay) {
		t.Fatalf("older step: %v", err)
	}
	// The next step is accepted once.
	now = now.Add(30 * time.Second)
	next, _ := v.TOTP.At(seed32, now)
	if err := v.Verify(ctx, testUser, seed32, roamsign.Secret(next)); err != nil {
		t.Fatal(err)
	}
	// Another user has their own steps.
	if err := v.Verify(ctx, "850505105555", seed32, roamsign.Secret(next)); err != nil {
		t.Fatal(err)
	}
	// Wrong and far-off codes.
	if err := v.Verify(ctx, testUser, seed32, roamsign.Secret(wrong(next, 1))); !errors.Is(err, otp.ErrWrongOTP) {
		t.Fatalf("wrong: %v", err)
	}
	old, _ := v.TOTP.At(seed32, now.Add(-5*time.Minute))
	if err := v.Verify(ctx, "850505105556", seed32, roamsign.Secret(old)); !errors.Is(err, otp.ErrWrongOTP) {
		t.Fatalf("outside window: %v", err)
	}
	if err := v.Verify(ctx, testUser, seed32, "12ab56"); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("format: %v", err)
	}
}

// TestOCRAVectors checks the one-way, mutual and signature vectors of
// RFC 6287 Appendix C.
func TestOCRAVectors(t *testing.T) {
	pin := []byte("1234")
	type vec struct {
		suite string
		key   []byte
		in    otp.OCRAInput
		want  string
	}
	var vs []vec
	// C.1 OCRA-1:HOTP-SHA1-6:QN08.
	for i, want := range []string{"237653", "243178", "653583", "740991", "608993", "388898", "816933", "224598", "750600", "294470"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA1-6:QN08", seed20, otp.OCRAInput{Question: strings.Repeat(fmt.Sprint(i), 8)}, want})
	}
	// C.1 OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1, Q 12345678, PIN 1234.
	for c, want := range []string{"65347737", "86775851", "78192410", "71565254", "10104329", "65983500", "70069104", "91771096", "75011558", "08522129"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", seed32, otp.OCRAInput{Counter: uint64(c), Question: "12345678", PIN: pin}, want})
	}
	// C.1 OCRA-1:HOTP-SHA256-8:QN08-PSHA1.
	for i, want := range []string{"83238735", "01501458", "17957585", "86776967", "86807031"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA256-8:QN08-PSHA1", seed32, otp.OCRAInput{Question: strings.Repeat(fmt.Sprint(i), 8), PIN: pin}, want})
	}
	// C.1 OCRA-1:HOTP-SHA512-8:C-QN08.
	for i, want := range []string{"07016083", "63947962", "70123924", "25341727", "33203315", "34205738", "44343969", "51946085", "20403879", "31409299"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA512-8:C-QN08", seed64, otp.OCRAInput{Counter: uint64(i), Question: strings.Repeat(fmt.Sprint(i), 8)}, want})
	}
	// C.1 OCRA-1:HOTP-SHA512-8:QN08-T1M, T = 0x132d0b6.
	for i, want := range []string{"95209754", "55907591", "22048402", "24218844", "36209546"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA512-8:QN08-T1M", seed64, otp.OCRAInput{Question: strings.Repeat(fmt.Sprint(i), 8), Time: 0x132d0b6}, want})
	}
	// C.2 mutual challenge-response.
	for i, want := range []string{"28247970", "01984843", "65387857", "03351211", "83412541"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA256-8:QA08", seed32, otp.OCRAInput{Question: fmt.Sprintf("CLI2222%dSRV1111%d", i, i)}, want})
	}
	for i, want := range []string{"15510767", "90175646", "33777207", "95285278", "28934924"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA256-8:QA08", seed32, otp.OCRAInput{Question: fmt.Sprintf("SRV1111%dCLI2222%d", i, i)}, want})
	}
	for i, want := range []string{"79496648", "76831980", "12250499", "90856481", "12761449"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA512-8:QA08", seed64, otp.OCRAInput{Question: fmt.Sprintf("CLI2222%dSRV1111%d", i, i)}, want})
	}
	for i, want := range []string{"18806276", "70020315", "01600026", "18951020", "32528969"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA512-8:QA08-PSHA1", seed64, otp.OCRAInput{Question: fmt.Sprintf("SRV1111%dCLI2222%d", i, i), PIN: pin}, want})
	}
	// C.3 plain signature.
	for i, want := range []string{"53095496", "04110475", "31331128", "76028668", "46554205"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA256-8:QA08", seed32, otp.OCRAInput{Question: fmt.Sprintf("SIG1%d000", i)}, want})
	}
	for i, want := range []string{"77537423", "31970405", "10235557", "95213541", "65360607"} {
		vs = append(vs, vec{"OCRA-1:HOTP-SHA512-8:QA10-T1M", seed64, otp.OCRAInput{Question: fmt.Sprintf("SIG1%d00000", i), Time: 0x132d0b6}, want})
	}
	for _, v := range vs {
		s, err := otp.ParseSuite(v.suite)
		if err != nil {
			t.Fatalf("%s: %v", v.suite, err)
		}
		got, err := s.Compute(v.key, v.in)
		if err != nil || got != v.want {
			t.Errorf("%s %+v: got %s %v, want %s", v.suite, v.in, got, err, v.want)
		}
	}
	// The T1M step of the vectors is the minute count of a real time.
	s, _ := otp.ParseSuite("OCRA-1:HOTP-SHA512-8:QN08-T1M")
	if got := s.Steps(time.Unix(0x132d0b6*60+59, 0)); got != 0x132d0b6 {
		t.Fatalf("Steps = %x", got)
	}
}

func TestParseSuiteRejects(t *testing.T) {
	for _, bad := range []string{
		"", "OCRA-2:HOTP-SHA1-6:QN08", "OCRA-1:HOTP-MD5-6:QN08", "OCRA-1:HOTP-SHA1-3:QN08", "OCRA-1:HOTP-SHA1-11:QN08",
		"OCRA-1:HOTP-SHA1-6:QX08", "OCRA-1:HOTP-SHA1-6:QN03", "OCRA-1:HOTP-SHA1-6:QN65", "OCRA-1:HOTP-SHA1-6:C",
		"OCRA-1:HOTP-SHA1-6:QN08-PMD5", "OCRA-1:HOTP-SHA1-6:QN08-S1", "OCRA-1:HOTP-SHA1-6:QN08-T0M", "OCRA-1:HOTP-SHA1-6:QN08-T60S",
		"OCRA-1:HOTP-SHA1-6:QN08-X", "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1", "OCRA-1:HOTP-SHA1-6:QN+8",
		"OCRA-1:HOTP-SHA1-6:QN08:", strings.Repeat("A", otp.MaxSuiteLength+1),
	} {
		if _, err := otp.ParseSuite(bad); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	s, err := otp.ParseSuite("OCRA-1:HOTP-SHA256-6:C-QH64-PSHA256-S064-T30S")
	if err != nil || !s.Counter || s.QFormat != 'H' || s.QLength != 64 || s.PIN != otp.HMACSHA256 || s.Session != 64 || s.TimeStep != 30*time.Second {
		t.Fatalf("%+v %v", s, err)
	}
}

// TestOCRAWithChallenge binds an OCRA response to a challenge's nonce and
// hash list: the app computes it, the server verifies it, and the same
// response does not approve other hashes.
func TestOCRAWithChallenge(t *testing.T) {
	ctx := context.Background()
	for _, suite := range []string{"OCRA-1:HOTP-SHA256-6:QH64", "OCRA-1:HOTP-SHA256-8:QN08", "OCRA-1:HOTP-SHA256-6:QA20-PSHA1"} {
		s, err := otp.ParseSuite(suite)
		if err != nil {
			t.Fatal(err)
		}
		nonce := []byte("0123456789abcdef")
		dA, dB := roamsign.HashListDigest(hashes("A")), roamsign.HashListDigest(hashes("B"))
		q := s.Question(nonce, dA)
		if len(q) != s.QLength || q == s.Question(nonce, dB) {
			t.Fatalf("%s: question %q", suite, q)
		}
		var pin []byte
		if s.PIN != 0 {
			pin = []byte("4321")
		}
		resp, err := s.Compute(seed32, otp.OCRAInput{Question: q, PIN: pin})
		if err != nil {
			t.Fatal(err)
		}
		v := &otp.OCRAVerifier{Suite: s}
		if err := v.Verify(ctx, testUser, seed32, nonce, dA, pin, roamsign.Secret(resp)); err != nil {
			t.Fatalf("%s: %v", suite, err)
		}
		if err := v.Verify(ctx, testUser, seed32, nonce, dB, pin, roamsign.Secret(resp)); !errors.Is(err, otp.ErrWrongOTP) {
			t.Fatalf("%s other hashes: %v", suite, err)
		}
	}
	// Time-based suite: replay of an accepted step refused.
	s, _ := otp.ParseSuite("OCRA-1:HOTP-SHA256-6:QH32-T30S")
	now := time.Unix(1_700_000_000, 0)
	v := &otp.OCRAVerifier{Suite: s, Steps: &otp.MemoryStepStore{}, Now: func() time.Time { return now }}
	nonce := []byte("fedcba9876543210")
	d := roamsign.HashListDigest(hashes("A"))
	resp, _ := s.Compute(seed32, otp.OCRAInput{Question: s.Question(nonce, d), Time: s.Steps(now)})
	if err := v.Verify(ctx, testUser, seed32, nonce, d, nil, roamsign.Secret(resp)); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(ctx, testUser, seed32, nonce, d, nil, roamsign.Secret(resp)); !errors.Is(err, otp.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
}

func FuzzParseSuite(f *testing.F) {
	for _, s := range []string{"OCRA-1:HOTP-SHA1-6:QN08", "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", "OCRA-1:HOTP-SHA512-8:QA10-T1M",
		"OCRA-1:HOTP-SHA256-6:QH64", "OCRA-1:HOTP-SHA256-0:QN08-S064", "OCRA-1:HOTP-SHA1-6:QN08-T48H"} {
		f.Add(s, "12345678")
	}
	f.Fuzz(func(t *testing.T, suite, q string) {
		s, err := otp.ParseSuite(suite)
		if err != nil {
			if roamsign.KindOf(err) != roamsign.ErrInvalidInput {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if s.String() != suite {
			t.Fatalf("round trip %q != %q", s.String(), suite)
		}
		// Compute must never panic, whatever the challenge.
		_, _ = s.Compute(seed32, otp.OCRAInput{Question: q, Counter: 1, PIN: []byte("1"), Session: []byte("s"), Time: 1})
		_, _ = s.Compute(seed32, otp.OCRAInput{Question: q})
		q = s.Question([]byte("n"), [32]byte{})
		if len(q) != s.QLength {
			t.Fatalf("question length %d, want %d", len(q), s.QLength)
		}
	})
}

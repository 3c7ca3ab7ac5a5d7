package otp

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// TestOTPDistribution draws 1,000,000 OTPs and checks with a chi-square test
// that every digit position is uniform over 0–9. With 9 degrees of freedom
// the 99.99th percentile is 33.72; a correct generator fails one position
// with probability about 6e-4 per run.
func TestOTPDistribution(t *testing.T) {
	const n = 1_000_000
	var counts [OTPDigits][10]int
	for i := 0; i < n; i++ {
		s, err := generateOTP(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for p := 0; p < OTPDigits; p++ {
			counts[p][s[p]-'0']++
		}
	}
	const expected = float64(n) / 10
	for p := range counts {
		chi := 0.0
		for _, c := range counts[p] {
			d := float64(c) - expected
			chi += d * d / expected
		}
		if chi > 33.72 {
			t.Errorf("digit position %d: chi-square %.2f > 33.72 (counts %v)", p, chi, counts[p])
		}
	}
}

// TestOTPRejectionSampling feeds values at and above the rejection limit
// and checks that they are skipped, not reduced (which would bias low
// OTPs).
func TestOTPRejectionSampling(t *testing.T) {
	// 0xFFFFFFFF is above the limit and must be rejected; the next value,
	// 1234567 % 1e6 = 234567, is used.
	src := bytes.NewReader([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x12, 0xD6, 0x87})
	s, err := generateOTP(src)
	if err != nil || s != "234567" {
		t.Fatalf("got %q %v", s, err)
	}
	if _, err := generateOTP(bytes.NewReader([]byte{0xFF, 0xFF, 0xFF, 0xFF})); err == nil {
		t.Fatal("short randomness accepted")
	}
	if got := formatDigits(42, 6); got != "000042" {
		t.Fatalf("formatDigits: %q", got)
	}
}

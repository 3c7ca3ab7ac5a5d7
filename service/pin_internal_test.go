package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
)

func TestCheckPINRules(t *testing.T) {
	const user roamsign.UserID = "900101145678"
	for _, tc := range []struct {
		pin string
		ok  bool
	}{
		{"Tr0ub4dor&3", true},
		{"729413", true},
		{"kucing-hitam-42", true},
		{"12345", false},                    // too short
		{"abcdefghijklmnopq", false},        // too long (17)
		{"000000", false},                   // repeat
		{"aaaaaaaa", false},                 // repeat
		{"123456", false},                   // ascending
		{"3456789", false},                  // ascending
		{"987654", false},                   // descending
		{"FEDCBA", false},                   // descending, any case
		{"password", false},                 // common
		{"900101", false},                   // part of the id
		{"x45678", true},                    // 5 digits of the id only
		{"pin145678x", false},               // 6 consecutive digits of the id
		{"900101145678", false},             // the id
		{"ab\x01cdef", false},               // control character
		{"\xff\xfe\xfd\xfc\xfb\xfa", false}, // not UTF-8
		{"ŝĉĝĥĵŭ", true},                    // 6 characters, 12 bytes
	} {
		err := CheckPINRules(user, tc.pin)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPINRules(%q) = %v, want ok=%v", tc.pin, err, tc.ok)
		}
		if err != nil {
			if !errors.Is(err, roamsign.ErrInvalidInput) {
				t.Errorf("kind %v", err)
			}
			if strings.Contains(err.Error(), tc.pin) {
				t.Errorf("error echoes the PIN: %v", err)
			}
		}
	}
}

type hmacPepper []byte

func (p hmacPepper) MAC(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, p)
	m.Write(data)
	return m.Sum(nil), nil
}

func testService(t *testing.T, pep Pepper) *Service {
	t.Helper()
	return &Service{cfg: Config{PIN: PINParams{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}, pep: pep, argonSem: make(chan struct{}, 2)}
}

func TestVerifier(t *testing.T) {
	ctx := context.Background()
	for _, pep := range []Pepper{nil, hmacPepper("k1")} {
		s := testService(t, pep)
		v, err := s.makeVerifier(ctx, "Tr0ub4dor&3")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(v), "Tr0ub4dor") || !strings.HasPrefix(string(v), "$argon2id$v=19$m=64,t=1,p=1") {
			t.Fatalf("verifier %s", v)
		}
		if (pep != nil) != strings.Contains(string(v), ",pep=1$") {
			t.Fatalf("pepper flag wrong in %s", v)
		}
		v2, _ := s.makeVerifier(ctx, "Tr0ub4dor&3")
		if string(v) == string(v2) {
			t.Fatal("two verifiers of one PIN are equal: salt not random")
		}
		if ok, err := s.verifyPIN(ctx, v, "Tr0ub4dor&3"); !ok || err != nil {
			t.Fatalf("right PIN: %v %v", ok, err)
		}
		if ok, _ := s.verifyPIN(ctx, v, "Tr0ub4dor&4"); ok {
			t.Fatal("wrong PIN accepted")
		}
		if pep != nil {
			other := testService(t, hmacPepper("k2"))
			if ok, _ := other.verifyPIN(ctx, v, "Tr0ub4dor&3"); ok {
				t.Fatal("verifier accepted under another pepper")
			}
			none := testService(t, nil)
			if _, err := none.verifyPIN(ctx, v, "Tr0ub4dor&3"); !errors.Is(err, roamsign.ErrUnavailable) {
				t.Fatalf("peppered verifier without pepper: %v", err)
			}
		}
	}
	s := testService(t, nil)
	for _, bad := range []string{"", "$argon2id$v=19$m=4194304,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "garbage"} {
		if ok, err := s.verifyPIN(ctx, []byte(bad), ""); ok || err != nil {
			t.Fatalf("malformed verifier %q: %v %v", bad, ok, err)
		}
	}
}

func FuzzParseVerifier(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1,pep=1$c2FsdHNhbHRzYWx0c2FsdA$dGFn")
	f.Add("$argon2id$v=19$m=-1,t=99999999999999999999,p=0$$")
	f.Fuzz(func(t *testing.T, v string) {
		pv, err := parseVerifier([]byte(v))
		if err != nil {
			if !errors.Is(err, roamsign.ErrInternal) {
				t.Fatalf("kind %v", err)
			}
			return
		}
		if pv.p.MemoryKiB > maxArgonMemory || pv.p.Time > maxArgonTime || pv.p.check() != nil {
			t.Fatalf("accepted out-of-range parameters %+v", pv.p)
		}
	})
}

func TestConfigLimits(t *testing.T) {
	for _, c := range []Config{{MaxPINFailures: 11}, {MaxPINFailures: -1}, {PIN: PINParams{Time: 17}}, {PIN: PINParams{MemoryKiB: 2 << 20}},
		{PIN: PINParams{SaltLen: 8}}, {DefaultAlgorithm: "DSA-1024"}} {
		if _, err := c.withDefaults(); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Errorf("%+v accepted: %v", c, err)
		}
	}
	c, err := Config{}.withDefaults()
	if err != nil || c.MaxPINFailures != 5 || c.PIN.MemoryKiB != 19456 || c.PIN.Time != 2 {
		t.Fatalf("defaults %+v %v", c, err)
	}
}

package roamsign_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

func TestErrorKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range roamsign.Kinds() {
		require.NotContains(t, []string{"", "unknown"}, k.Code(), "kind %d has a bad code", int(k))
		require.False(t, seen[k.Code()], "kind %d has a duplicate code %q", int(k), k.Code())
		seen[k.Code()] = true
		require.Equal(t, k, roamsign.KindFromCode(k.Code()))
		err := fmt.Errorf("outer: %w", roamsign.E(k, "op", "detail %d", 1))
		require.ErrorIs(t, err, k)
		require.Equal(t, k, roamsign.KindOf(err))
		for _, other := range roamsign.Kinds() {
			if other != k {
				require.NotErrorIs(t, err, other, "%v matches %v", k, other)
			}
		}
	}
	assert.Equal(t, roamsign.KindUnknown, roamsign.KindOf(nil), "KindOf(nil)")
	assert.Equal(t, roamsign.KindUnknown, roamsign.KindOf(errors.New("x")), "KindOf of a plain error")
	assert.Equal(t, roamsign.ErrLocked, roamsign.KindOf(fmt.Errorf("w: %w", roamsign.ErrLocked)), "bare kind")
	cause := errors.New("cause")
	w := roamsign.Wrap(roamsign.ErrUnavailable, "hsm.Sign", cause, "session lost")
	assert.ErrorIs(t, w, cause)
	assert.ErrorIs(t, w, roamsign.ErrUnavailable)
	assert.EqualError(t, w, "hsm.Sign: session lost: cause")
	assert.NoError(t, roamsign.Wrap(roamsign.ErrInternal, "x", nil, "m"), "Wrap(nil) must be nil")
	assert.Equal(t, "unknown", roamsign.Kind(999).Code())
	assert.Equal(t, "unknown", roamsign.Kind(-1).Code())
}

func TestHashAlgorithms(t *testing.T) {
	cases := []struct {
		a    roamsign.HashAlgorithm
		name string
		size int
		oid  string
		h    crypto.Hash
	}{
		{roamsign.SHA256, "SHA-256", 32, "2.16.840.1.101.3.4.2.1", crypto.SHA256},
		{roamsign.SHA384, "SHA-384", 48, "2.16.840.1.101.3.4.2.2", crypto.SHA384},
		{roamsign.SHA512, "SHA-512", 64, "2.16.840.1.101.3.4.2.3", crypto.SHA512},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.a.String() != c.name || c.a.Size() != c.size || c.a.OID().String() != c.oid || c.a.CryptoHash() != c.h {
				t.Fatalf("descriptor mismatch for %v", c.a)
			}
			if len(c.a.Sum([]byte("x"))) != c.size || c.h.Size() != c.size {
				t.Fatal("Sum size")
			}
			for _, s := range []string{c.name, strings.ToLower(c.name), strings.ReplaceAll(c.name, "-", "")} {
				if got, err := roamsign.ParseHashAlgorithm(s); err != nil || got != c.a {
					t.Fatalf("Parse(%q) = %v, %v", s, got, err)
				}
			}
			if got, _ := roamsign.HashAlgorithmFromOID(c.a.OID()); got != c.a {
				t.Fatal("FromOID")
			}
			if got, _ := roamsign.HashAlgorithmFromCrypto(c.h); got != c.a {
				t.Fatal("FromCrypto")
			}
		})
	}
	if _, err := roamsign.ParseHashAlgorithm("MD5"); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("MD5: %v", err)
	}
	if _, err := roamsign.HashAlgorithmFromCrypto(crypto.SHA1); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Fatalf("SHA1: %v", err)
	}
	if roamsign.HashAlgorithm(0).Valid() || roamsign.HashAlgorithm(9).Size() != 0 || roamsign.HashAlgorithm(9).OID() != nil {
		t.Fatal("invalid algorithm accepted")
	}
}

func TestHashValidateAndJSON(t *testing.T) {
	h := roamsign.NewHash(roamsign.SHA256, []byte("document"))
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back roamsign.Hash
	if err := json.Unmarshal(b, &back); err != nil || back.String() != h.String() {
		t.Fatalf("round trip %s: %v", b, err)
	}
	if !strings.Contains(string(b), `"SHA-256"`) {
		t.Fatalf("algorithm not by name: %s", b)
	}
	bad := roamsign.Hash{Algorithm: roamsign.SHA384, Value: h.Value}
	if err := bad.Validate(); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("wrong length accepted: %v", err)
	}
	if err := roamsign.ValidateHashes(nil, 10); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal("empty list accepted")
	}
	if err := roamsign.ValidateHashes([]roamsign.Hash{h, h, h}, 2); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatal("over limit accepted")
	}
	if err := roamsign.ValidateHashes([]roamsign.Hash{h, bad}, 0); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal("bad entry accepted")
	}
}

func TestHashListDigest(t *testing.T) {
	a := roamsign.NewHash(roamsign.SHA256, []byte("a"))
	b := roamsign.NewHash(roamsign.SHA256, []byte("b"))
	c := roamsign.Hash{Algorithm: roamsign.SHA384, Value: append(append([]byte{}, a.Value...), make([]byte, 16)...)}
	d1 := roamsign.HashListDigest([]roamsign.Hash{a, b})
	lists := [][]roamsign.Hash{{b, a}, {a}, {a, b, a}, {c, b}, {}}
	for i, l := range lists {
		if roamsign.HashListDigest(l) == d1 {
			t.Fatalf("list %d collides with [a b]", i)
		}
	}
	if roamsign.HashListDigest([]roamsign.Hash{a, b}) != d1 {
		t.Fatal("not deterministic")
	}
}

func TestUserID(t *testing.T) {
	good := map[string]string{
		"900101145678":   "900101145678",
		"900101-14-5678": "900101145678",
		"000229 10 0001": "000229100001", // 2000 was a leap year
		"850715015123":   "850715015123",
		"991231985555":   "991231985555",
	}
	for in, want := range good {
		got, err := roamsign.ParseUserID(in)
		if err != nil || string(got) != want || !got.Valid() {
			t.Errorf("ParseUserID(%q) = %q, %v", in, got, err)
		}
	}
	bad := []string{"", "90010114567", "9001011456789", "901301145678", "900132145678", "010229145678" /* 1901, 2001 not leap */, "900101005678", "900101175678", "900101705678", "900101955678", "90010114567a", "-900101145678", "9001-01145678", strings.Repeat("9", 100)}
	for _, in := range bad {
		if _, err := roamsign.ParseUserID(in); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Errorf("ParseUserID(%q) accepted or wrong error: %v", in, err)
		}
	}
	if roamsign.UserID("900101145678").Masked() != "9001******78" {
		t.Fatal("mask")
	}
	var u struct{ U roamsign.UserID }
	if err := json.Unmarshal([]byte(`{"U":"900101-14-5678"}`), &u); err != nil || u.U != "900101145678" {
		t.Fatalf("json: %v %q", err, u.U)
	}
	if err := json.Unmarshal([]byte(`{"U":"123"}`), &u); err == nil {
		t.Fatal("bad id decoded")
	}
}

func FuzzParseUserID(f *testing.F) {
	for _, s := range []string{"900101145678", "900101-14-5678", "", "abc", "000229-10-0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := roamsign.ParseUserID(s)
		if err != nil {
			if !errors.Is(err, roamsign.ErrInvalidInput) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(id) != 12 || !id.Valid() {
			t.Fatalf("accepted %q as %q", s, id)
		}
	})
}

func TestMediumKind(t *testing.T) {
	for _, s := range []string{"token", "softcert", "roaming", "roaming+otp", "ROAMING_OTP"} {
		if _, err := roamsign.ParseMediumKind(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := roamsign.ParseMediumKind("smartphone"); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal("unknown medium accepted")
	}
	if !roamsign.MediumRoamingOTP.ServerSide() || roamsign.MediumToken.ServerSide() {
		t.Fatal("ServerSide")
	}
}

func TestSecretNeverShows(t *testing.T) {
	const pin = "739184"
	req := roamsign.SignRequest{PIN: pin, OTP: "552211", ChallengeID: "c1"}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("sign", "req", req, "pin", req.PIN)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sign", "req", req, "otp", req.OTP)
	j, _ := json.Marshal(req)
	out := buf.String() + string(j) + fmt.Sprintf("%v %+v %#v %s %q %x", req, req, req, req.PIN, req.OTP, req.PIN)
	if strings.Contains(out, pin) || strings.Contains(out, "552211") || strings.Contains(out, "373339") {
		t.Fatalf("secret leaked: %s", out)
	}
	if req.PIN.Reveal() != pin {
		t.Fatal("Reveal")
	}
}

func TestHostContext(t *testing.T) {
	if _, ok := roamsign.HostFromContext(context.Background()); ok {
		t.Fatal("host in empty context")
	}
	ctx := roamsign.WithHost(context.Background(), "ifmis")
	if h, ok := roamsign.HostFromContext(ctx); !ok || h != "ifmis" {
		t.Fatal("host lost")
	}
	if _, ok := roamsign.HostFromContext(roamsign.WithHost(context.Background(), "")); ok {
		t.Fatal("empty host accepted")
	}
}

func TestFormatDN(t *testing.T) {
	name := pkix.Name{
		Country:    []string{"MY"},
		CommonName: "ALI, BIN ABU",
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 4}, Value: "900101145678"},
			{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: "900101145678"},
		},
	}
	raw, err := asn1.Marshal(name.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	got := roamsign.FormatDN(raw)
	want := `C=MY, CN=ALI\, BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678`
	if got != want {
		t.Fatalf("FormatDN = %q, want %q", got, want)
	}
	if roamsign.FormatDN([]byte{0x30, 0x03, 0x01}) != "" || roamsign.FormatDN(append(raw, 0)) != "" {
		t.Fatal("malformed DN accepted")
	}
}

func FuzzFormatDN(f *testing.F) {
	raw, _ := asn1.Marshal(pkix.Name{CommonName: "x", Country: []string{"MY"}}.ToRDNSequence())
	f.Add(raw)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = roamsign.FormatDN(b)
	})
}

// TestEnrolledFor: the one enrolment rule; an empty host list is no host,
// never every host.
func TestEnrolledFor(t *testing.T) {
	u := &roamsign.UserRecord{Hosts: []roamsign.HostID{"hr", "finance"}}
	assert.True(t, u.EnrolledFor("hr"))
	assert.True(t, u.EnrolledFor("finance"))
	assert.False(t, u.EnrolledFor("other"))
	assert.False(t, u.EnrolledFor(""), "the empty host")
	none := &roamsign.UserRecord{}
	assert.False(t, none.EnrolledFor("hr"), "empty host list")
	assert.False(t, none.EnrolledFor(""), "empty host list, empty host")
}

func TestCheckDataHeader(t *testing.T) {
	for _, ok := range []string{"", "PV2026/0042", "Surat 12/2026 — Jabatan Akauntan Negara", "Baucar ٢٠٢٦ 日本"} {
		assert.NoError(t, roamsign.CheckDataHeader(ok), "%q", ok)
	}
	bad := []string{
		"PV2026/\u202e321000",  // right-to-left override
		"a\u200eb", "a\u200fb", // LRM, RLM
		"a\u202ab", "a\u202bb", "a\u202cb", "a\u202db", // embeddings, pop
		"a\u2066b", "a\u2067b", "a\u2068b", "a\u2069b", // isolates
		"a\u200bb", "a\u200db", "a\ufeffb", "a\u00adb", "a\u061cb", // other Cf
		"a\u2028b", "a\u2029b", // line and paragraph separators
		"a\x00b", "a\nb", "a\x7fb", "a\u0085b", // C0, DEL, C1
		"a\xffb", // not UTF-8
	}
	for _, h := range bad {
		err := roamsign.CheckDataHeader(h)
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, "%+q", h)
	}
}

func TestOTPBackoff(t *testing.T) {
	b := roamsign.OTPBackoff{}.WithDefaults()
	require.True(t, b.Valid())
	require.Equal(t, roamsign.OTPBackoff{After: 5, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour}, b)
	for n, want := range map[int]time.Duration{0: 0, 4: 0, 5: time.Minute, 6: 2 * time.Minute, 10: 32 * time.Minute, 11: time.Hour, 1000: time.Hour} {
		assert.Equal(t, want, b.Delay(n), "Delay(%d)", n)
	}
	for _, bad := range []roamsign.OTPBackoff{{}, {After: 1, Base: time.Minute, Max: time.Second, Forget: time.Hour}, {After: 1, Base: time.Minute, Max: time.Hour}} {
		assert.False(t, bad.Valid(), "%+v", bad)
	}

	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	rec := roamsign.OTPBackoffRecord{User: "u", Host: "h"}
	for i := 1; i <= 5; i++ {
		next, _, ok := b.Count(rec, t0)
		require.True(t, ok)
		require.Equal(t, i, next.Failures)
		rec = next
	}
	require.Equal(t, t0.Add(time.Minute), rec.Until, "the fifth failure starts the wait")
	_, wait, ok := b.Count(rec, t0.Add(20*time.Second))
	require.False(t, ok, "counted while backing off")
	require.Equal(t, 40*time.Second, wait)
	rec, _, ok = b.Count(rec, t0.Add(time.Minute))
	require.True(t, ok, "the wait expires on its own")
	require.Equal(t, 6, rec.Failures)
	require.Equal(t, t0.Add(3*time.Minute), rec.Until)
	rec, _, _ = b.Count(rec, t0.Add(25*time.Hour))
	require.Equal(t, 1, rec.Failures, "failures older than Forget are forgotten")
	require.True(t, rec.Until.IsZero())
}

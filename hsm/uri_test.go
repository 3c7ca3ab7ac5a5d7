package hsm_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
)

func TestParseURI(t *testing.T) {
	u, err := hsm.ParseURI("pkcs11:token=My%20Token;serial=0123;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;slot-id=7;object=Signing%20Key;id=%01%02ab;type=private" +
		"?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634")
	require.NoError(t, err)
	want := hsm.URI{
		Token: "My Token", Serial: "0123", Manufacturer: "SoftHSM project", Model: "SoftHSM v2",
		SlotID: 7, HasSlotID: true, Object: "Signing Key", ID: []byte{1, 2, 'a', 'b'}, Type: "private",
		ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINValue: "12&34",
	}
	if !sameURI(*u, want) || u.PINValue != want.PINValue {
		t.Fatalf("got %+v\nwant %+v", *u, want)
	}
	if s := u.String(); strings.Contains(s, "12&34") || strings.Contains(s, "12%2634") || !strings.Contains(s, "pin-value=%5Bredacted%5D") {
		t.Fatalf("String() = %q", s)
	}
	pin, err := u.PIN()
	if err != nil || pin != "12&34" {
		t.Fatalf("PIN() = %v", err)
	}

	// pin-source: a file: URI or an absolute path; the first line is the PIN.
	pf := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(pf, []byte("s3cret\r\nignored\n"), 0o600))
	for _, src := range []string{pf, "file:" + pf, "file://" + pf} {
		u, err := hsm.ParseURI("pkcs11:token=t?module-path=/m.so&pin-source=" + src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if pin, err := u.PIN(); err != nil || pin != "s3cret" {
			t.Fatalf("%s: PIN() = %q, %v", src, pin, err)
		}
	}
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("x"), 2000), 0o600))
	u, _ = hsm.ParseURI("pkcs11:token=t?pin-source=" + big)
	_, err = u.PIN()
	wantKind(t, err, roamsign.ErrTooLarge)
	u, _ = hsm.ParseURI("pkcs11:token=t?pin-source=/nonexistent/pin")
	_, err = u.PIN()
	wantKind(t, err, roamsign.ErrInvalidInput)
	if u, _ := hsm.ParseURI("PKCS11:token=t"); u == nil || u.Token != "t" {
		t.Fatal("scheme is case-insensitive")
	}

	// RFC 7512's reserved-but-available characters stay unencoded in the
	// canonical form, so it is never longer than the input.
	const avail = "pkcs11:token=a:[]@!$'()*+,=&/b?module-path=/m:[]@!$'()*+,=/?|.so"
	u, err = hsm.ParseURI(avail)
	require.NoError(t, err)
	if u.Token != "a:[]@!$'()*+,=&/b" || u.ModulePath != "/m:[]@!$'()*+,=/?|.so" || u.String() != avail {
		t.Fatalf("got %+v, String() %q", *u, u.String())
	}
}

func TestParseURIRejects(t *testing.T) {
	const secret = "pin-9876"
	for name, s := range map[string]string{
		"empty":                "",
		"other scheme":         "https://example.com",
		"unknown path attr":    "pkcs11:token=t;colour=red",
		"unknown query attr":   "pkcs11:token=t?pin-value=" + secret + "&x-vendor=1",
		"module-name":          "pkcs11:token=t?module-name=softhsm2",
		"repeated":             "pkcs11:token=a;token=b",
		"repeated query":       "pkcs11:token=a?pin-value=" + secret + "&pin-value=" + secret,
		"empty value":          "pkcs11:token=",
		"no equals":            "pkcs11:token",
		"bad percent":          "pkcs11:token=%zz",
		"truncated percent":    "pkcs11:token=a%2",
		"raw space":            "pkcs11:token=a b",
		"raw quote":            "pkcs11:token=a\"b",
		"raw hash":             "pkcs11:token=a#b",
		"raw ampersand query":  "pkcs11:token=t?module-path=/m&x.so",
		"raw semicolon query":  "pkcs11:token=t?module-path=/m;x.so",
		"control char":         "pkcs11:token=a%0Ab",
		"pin source and value": "pkcs11:token=t?pin-value=" + secret + "&pin-source=/etc/pin",
		"relative module":      "pkcs11:token=t?module-path=lib.so",
		"relative pin source":  "pkcs11:token=t?pin-source=pin.txt",
		"command pin source":   "pkcs11:token=t?pin-source=%7C/bin/echo",
		"remote pin source":    "pkcs11:token=t?pin-source=file://host/pin",
		"slot-id not a number": "pkcs11:slot-id=abc",
		"slot-id too large":    "pkcs11:slot-id=99999999999",
		"type cert":            "pkcs11:token=t;type=cert",
		"query attr in path":   "pkcs11:token=t;pin-value=" + secret,
		"too long":             "pkcs11:token=" + strings.Repeat("a", hsm.MaxURILen),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := hsm.ParseURI(s)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, roamsign.ErrInvalidInput) && !errors.Is(err, roamsign.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the PIN: %v", err)
			}
		})
	}
}

func sameURI(a, b hsm.URI) bool {
	return a.Token == b.Token && a.Serial == b.Serial && a.Manufacturer == b.Manufacturer && a.Model == b.Model &&
		a.SlotID == b.SlotID && a.HasSlotID == b.HasSlotID && a.Object == b.Object && bytes.Equal(a.ID, b.ID) &&
		a.Type == b.Type && a.ModulePath == b.ModulePath && a.PINSource == b.PINSource
}

// FuzzParseURI: no input panics; errors are typed; an accepted URI's
// canonical form is no longer than the input and parses to the same URI;
// String() redacts the PIN.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=t?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
		"pkcs11:token=My%20Token;id=%01%02;object=k;type=private;slot-id=3",
		"pkcs11:serial=abc;manufacturer=m;model=x?pin-source=file:///etc/pin",
		"pkcs11:token=a;token=b",
		"pkcs11:token=%zz",
		"pkcs11:",
		"pkcs11:?",
		"pkcs11:;;?&&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := hsm.ParseURI(s)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if u.PINValue != "" {
			s := u.String()
			if !strings.Contains(s, "pin-value=%5Bredacted%5D") || strings.Contains(s, "pin-value="+u.PINValue) {
				t.Fatalf("String() does not redact the PIN")
			}
			// The round trip is checked without the PIN: the redaction
			// marker may be longer than a short PIN.
			u.PINValue = ""
		}
		canon := u.String()
		if len(canon) > len(s) {
			t.Fatalf("canonical form %d bytes, longer than the %d-byte input", len(canon), len(s))
		}
		again, err := hsm.ParseURI(canon)
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", canon, err)
		}
		if !sameURI(*u, *again) {
			t.Fatalf("round trip changed the URI: %+v vs %+v", *u, *again)
		}
	})
}

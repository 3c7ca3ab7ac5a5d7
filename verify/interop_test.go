package verify

import (
	"context"
	"testing"

	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCMSInterop verifies signatures as other products write them: BER
// with indefinite lengths (openssl -stream) and SignerInfos without signed
// attributes (openssl -noattr, legacy adbe.pkcs7.detached). Each is first
// accepted by `openssl cms -verify`; a changed content or signature flips
// the verdict.
func TestCMSInterop(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	ctx := context.Background()
	content := []byte("Akuan Terima: voucher 2026/0117\n")
	cases := []struct {
		name     string
		detached bool
		args     []string
		ber      bool
		level    Level
	}{
		{"BER attached", false, []string{"-stream"}, true, LevelCMS},
		{"BER detached", true, nil, true, LevelCMS},
		{"no signed attributes detached", true, []string{"-noattr", "-nosmimecap"}, false, LevelPKCS7},
		{"no signed attributes attached BER", false, []string{"-noattr", "-nosmimecap", "-stream"}, true, LevelPKCS7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sig := opensslSign(t, p, content, tc.detached, tc.args...)
			if tc.ber && tc.detached {
				var err error
				sig, err = testpki.BER(sig, 100)
				require.NoError(t, err)
			}
			sd, err := icms.ParseSignedData("test", sig, 1<<20)
			require.NoError(t, err)
			assert.Equal(t, tc.ber, sd.BER, "BER form as expected")
			opensslVerify(t, p, sig, content, tc.detached)

			req := CMSRequest{Signature: sig}
			if tc.detached {
				req.Content = content
			}
			rs, err := v.VerifyCMS(ctx, req)
			require.NoError(t, err)
			require.Len(t, rs, 1)
			assert.Equal(t, Valid, rs[0].Verdict, "%+v", rs[0].Checks)
			assert.Equal(t, IndicationPassed, rs[0].Indication)
			assert.Equal(t, tc.level, rs[0].Level)

			if tc.detached {
				other := append([]byte(nil), content...)
				other[0] ^= 1
				rs, err = v.VerifyCMS(ctx, CMSRequest{Signature: sig, Content: other})
				require.NoError(t, err)
				assert.Equal(t, Invalid, rs[0].Verdict, "changed content")
				assert.Equal(t, IndicationFailed, rs[0].Indication)
			}
			bad := append([]byte(nil), sig...)
			i := len(bad) - 3
			if tc.ber {
				i = len(bad) - 12 // before the end-of-contents octets
			}
			bad[i] ^= 1
			rs, err = v.VerifyCMS(ctx, CMSRequest{Signature: bad, Content: req.Content})
			if err == nil {
				assert.NotEqual(t, Valid, rs[0].Verdict, "changed signature")
			}
		})
	}
}

// TestPDFInterop verifies PDF signatures as other products write them:
// /SubFilter adbe.pkcs7.detached with a BER CMS (indefinite lengths) with
// signed attributes, and one without signed attributes. openssl accepts
// each CMS over the signed bytes; verify reports valid, the level (cms,
// pkcs7: not PAdES baseline) and, for a changed byte, invalid.
func TestPDFInterop(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	base := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	dict := pdfx.Dict{"Type": pdfx.Name("Sig"), "Filter": pdfx.Name("Adobe.PPKLite"), "SubFilter": pdfx.Name("adbe.pkcs7.detached"),
		"M": pdfx.String("D:20261206120000+08'00'")}
	for _, c := range []struct {
		name  string
		args  []string
		ber   bool
		level Level
	}{
		{"BER with signed attributes", nil, true, LevelCMS},
		{"no signed attributes", []string{"-noattr", "-nosmimecap"}, false, LevelPKCS7},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := appendSignature(t, base, dict, func(signed []byte) []byte {
				sig := opensslSign(t, p, signed, true, c.args...)
				if c.ber {
					var err error
					sig, err = testpki.BER(sig, 100)
					require.NoError(t, err)
				}
				sd, err := icms.ParseSignedData("test", sig, 1<<20)
				require.NoError(t, err)
				require.Equal(t, c.ber, sd.BER)
				opensslVerify(t, p, sig, signed, true)
				return sig
			})
			res := verifyPDF(t, v, doc)
			require.Len(t, res.Signatures, 1)
			s := res.Signatures[0]
			require.Equal(t, Valid, res.Verdict, "%+v", s.Checks)
			assert.Equal(t, c.level, s.Level)
			assert.Equal(t, "adbe.pkcs7.detached", s.SubFilter)
			assert.True(t, s.CoversDocument)

			bad := append([]byte(nil), doc...)
			bad[len(base)+10] ^= 1 // a byte of the signed update
			res = verifyPDF(t, v, bad)
			assert.Equal(t, Invalid, res.Verdict)
		})
	}
}

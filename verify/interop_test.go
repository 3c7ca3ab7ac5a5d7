package verify

import (
	"context"
	"testing"

	icms "github.com/roamsign/roamsign/internal/cms"
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

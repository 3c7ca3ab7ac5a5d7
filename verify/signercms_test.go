package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	signcms "github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/require"
)

// TestCMSFromSignerCMS verifies what the project's own CMS signer makes, in
// the key and algorithm combinations it offers.
func TestCMSFromSignerCMS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cases := []struct {
		name      string
		rsa       bool
		opts      signcms.Options
		timestamp bool
	}{
		{name: "ecdsa sha-256"},
		{name: "ecdsa sha-384 with algorithm protection", opts: signcms.Options{Hash: roamsign.SHA384, AlgorithmProtection: true}},
		{name: "rsa pkcs1v15", rsa: true},
		{name: "rsa pss with algorithm protection", rsa: true, opts: signcms.Options{PSS: true, AlgorithmProtection: true}},
		{name: "ecdsa with signature timestamp", timestamp: true},
	}
	content := []byte("Akuan Terima: delivery note 77")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPKI(t)
			var key crypto.Signer = p.key
			if c.rsa {
				key = rsaKey
				p.leaf, err = p.inter.IssueLeaf("ALI BIN ABU", "900101145678", rsaKey.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-time.Hour)})
				require.NoError(t, err)
			}
			c.opts.Now = func() time.Time { return p.now }
			der, err := signcms.Sign(context.Background(), key, bytes.NewReader(content), []*x509.Certificate{p.leaf, p.inter.Cert}, c.opts)
			require.NoError(t, err)
			if c.timestamp {
				sigValue, err := signcms.SignatureValue(der)
				require.NoError(t, err)
				tok, err := tsaAt(t, p, p.now.Add(-time.Minute), nil)(sigValue)
				require.NoError(t, err)
				if der, err = signcms.AddTimestampToken(der, tok); err != nil {
					t.Fatal(err)
				}
			}
			rs, err := p.verifier().VerifyCMS(context.Background(), CMSRequest{Signature: der, Content: content})
			require.NoError(t, err)
			js, _ := json.MarshalIndent(rs, "", " ")
			if len(rs) != 1 || rs[0].Verdict != Valid {
				t.Fatalf("%s", js)
			}
			if c.timestamp != (rs[0].TimeSource == TimeSourceTimestamp) {
				t.Fatalf("time source: %s", js)
			}
			// One changed content byte flips it.
			other := append([]byte(nil), content...)
			other[3] ^= 1
			if rs, _ := p.verifier().VerifyCMS(context.Background(), CMSRequest{Signature: der, Content: other}); rs[0].Verdict != Invalid {
				t.Fatal("other content accepted")
			}
		})
	}
}

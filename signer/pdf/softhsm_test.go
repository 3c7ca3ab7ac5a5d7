//go:build cgo

package pdf

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// TestSoftHSMKeys signs with keys generated inside a SoftHSM2 token through
// PKCS#11: one step for RSA-2048, and prepare / remote sign / complete for
// P-256, as the signing service would.
func TestSoftHSMKeys(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	tok := softhsmtest.New(t)
	ctx := context.Background()
	store, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	in := docs(t)["objstm"]
	doc := in
	for i, alg := range []roamsign.KeyAlgorithm{roamsign.RSA2048, roamsign.ECP256} {
		key, err := store.Generate(ctx, hsm.GenerateRequest{Algorithm: alg})
		require.NoError(t, err)
		leaf, err := p.inter.IssueLeaf("HSM SIGNER "+string(alg), fmt.Sprintf("88010114560%d", i), key.Public(), testpki.LeafOptions{})
		require.NoError(t, err)
		chain := append([]*x509.Certificate{leaf}, p.inter.Chain()...)
		if i == 0 {
			doc = signDoc(t, doc, key, chain, Options{Reason: "Perakuan 1"})
		} else {
			prep, err := Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), chain, Options{Reason: "Perakuan 2"})
			require.NoError(t, err)
			sig, err := key.SignContext(ctx, prep.Digest(), prep.SignerOpts())
			require.NoError(t, err)
			var out bytes.Buffer
			require.NoError(t, prep.Complete(ctx, sig, &out))
			doc = out.Bytes()
		}
		requireValid(t, doc, i+1, nss)
	}
}

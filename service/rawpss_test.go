package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
)

// TestRawPSSSigner signs a batch with PSS, checks it, and refuses a
// corrupted signature and an ECDSA key.
func TestRawPSSSigner(t *testing.T) {
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pss"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	chain := []*x509.Certificate{cert}
	hashes := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, []byte("a")), roamsign.NewHash(roamsign.SHA512, []byte("b"))}

	sigs, alg, err := service.RawPSSSigner{}.SignBatch(ctx, key, chain, hashes)
	require.NoError(t, err)
	require.Equal(t, "RSA-PSS-mixed", alg)
	require.NoError(t, service.RawPSSSigner{}.CheckBatch(ctx, chain, hashes, sigs))
	for i, h := range hashes {
		require.NoError(t, rsa.VerifyPSS(&key.PublicKey, h.Algorithm.CryptoHash(), h.Value, sigs[i],
			&rsa.PSSOptions{SaltLength: h.Algorithm.Size(), Hash: h.Algorithm.CryptoHash()}))
	}
	// PKCS#1 v1.5 verification must not accept them.
	require.Error(t, rsa.VerifyPKCS1v15(&key.PublicKey, hashes[0].Algorithm.CryptoHash(), hashes[0].Value, sigs[0]))

	sigs[1][10] ^= 1
	require.ErrorIs(t, service.RawPSSSigner{}.CheckBatch(ctx, chain, hashes, sigs), roamsign.ErrInvalidSignature)

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, _, err = service.RawPSSSigner{}.SignBatch(ctx, ec, chain, hashes)
	require.ErrorIs(t, err, roamsign.ErrUnsupported)
}

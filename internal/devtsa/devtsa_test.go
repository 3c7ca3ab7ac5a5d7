package devtsa_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/internal/testpki"
)

// TestTokens checks the responder's tokens, as this package encodes them
// and as digitorus/timestamp builds them (Tamper set to a function that
// changes nothing), with ECDSA and RSA keys, with and without a nonce and
// certificates: digitorus/timestamp parses them and verifies their
// signature, every field is what was asked, certificates are present only
// when asked for (RFC 3161 section 2.4.1), and openssl ts -verify accepts
// them against the root.
func TestTokens(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{})
	require.NoError(t, err)
	ec, err := inter.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rc := *ec.Cert
	rsaCert, err := inter.Issue(&x509.Certificate{Subject: rc.Subject, NotBefore: rc.NotBefore, NotAfter: rc.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: rc.Extensions[len(rc.Extensions)-1:]}, rk.Public())
	require.NoError(t, err)
	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, rsaCert.ExtKeyUsage)

	at := time.Now().UTC().Truncate(time.Second)
	keys := map[string]struct {
		cert *x509.Certificate
		key  crypto.Signer
	}{"ecdsa": {ec.Cert, ec.Key}, "rsa": {rsaCert, rk}}
	for name, k := range keys {
		for _, tamper := range []bool{false, true} {
			for _, certReq := range []bool{true, false} {
				for _, nonce := range []*big.Int{nil, new(big.Int).Lsh(big.NewInt(0xfedc), 60)} {
					t.Run(fmt.Sprintf("%s/digitorus=%v/certReq=%v/nonce=%v", name, tamper, certReq, nonce != nil), func(t *testing.T) {
						r := &devtsa.Responder{Cert: k.cert, Key: k.key, Chain: []*x509.Certificate{inter.Cert},
							Accuracy: 1500*time.Millisecond + 7*time.Microsecond, Now: func() time.Time { return at }}
						if tamper {
							r.Tamper = func(*timestamp.Timestamp) {}
						}
						sum := sha256.Sum256([]byte(t.Name()))
						req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: certReq, Nonce: nonce}).Marshal()
						require.NoError(t, err)
						resp, err := r.Respond(req)
						require.NoError(t, err)
						ts, err := timestamp.ParseResponse(resp)
						require.NoError(t, err, "digitorus/timestamp parses and verifies the token")
						assert.Equal(t, sum[:], ts.HashedMessage)
						assert.Equal(t, crypto.SHA256, ts.HashAlgorithm)
						assert.True(t, at.Equal(ts.Time), "genTime %v", ts.Time)
						assert.Equal(t, 1500*time.Millisecond+7*time.Microsecond, ts.Accuracy)
						assert.True(t, devtsa.DefaultPolicy.Equal(ts.Policy), "policy %v", ts.Policy)
						if nonce == nil {
							assert.Nil(t, ts.Nonce)
						} else {
							assert.Zero(t, nonce.Cmp(ts.Nonce), "nonce echoed")
						}
						assert.Positive(t, ts.SerialNumber.Sign())
						if !certReq {
							assert.Empty(t, ts.Certificates, "no certificates unless asked for")
							return
						}
						require.Len(t, ts.Certificates, 2)
						assert.True(t, ts.Certificates[0].Equal(k.cert))
						testpki.OpenSSLVerifyToken(t, ts.RawToken, sum[:], []*x509.Certificate{root.Cert}, []*x509.Certificate{inter.Cert})
					})
				}
			}
		}
	}
}

// TestTokensDiffer checks that two tokens over the same digest have
// distinct serial numbers.
func TestTokensDiffer(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	tsa, err := root.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	r := tsa.Responder()
	sum := sha256.Sum256([]byte("same"))
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: true}).Marshal()
	require.NoError(t, err)
	serials := map[string]bool{}
	for range 50 {
		resp, err := r.Respond(req)
		require.NoError(t, err)
		ts, err := timestamp.ParseResponse(resp)
		require.NoError(t, err)
		serials[ts.SerialNumber.String()] = true
	}
	assert.Len(t, serials, 50)
}

// TestRefusals checks the rejections of RFC 3161 section 2.4.2.
func TestRefusals(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	tsa, err := root.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	r := tsa.Responder()
	sum := sha256.Sum256([]byte("x"))
	for name, tc := range map[string]struct {
		req  []byte
		fail timestamp.FailureInfo
	}{
		"not DER":      {[]byte("not a request"), timestamp.BadDataFormat},
		"SHA-1":        {mustMarshal(t, &timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: make([]byte, 20)}), timestamp.BadAlgorithm},
		"short digest": {mustMarshal(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:16]}), timestamp.BadDataFormat},
		"other policy": {mustMarshal(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}), timestamp.UnacceptedPolicy},
		"too large":    {bytes.Repeat([]byte{0}, devtsa.MaxRequestSize+1), timestamp.BadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := r.Respond(tc.req)
			require.NoError(t, err)
			_, err = timestamp.ParseResponse(resp)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.fail.String())
		})
	}
}

func mustMarshal(t *testing.T, r *timestamp.Request) []byte {
	t.Helper()
	b, err := r.Marshal()
	require.NoError(t, err)
	return b
}

// FuzzRespond: any request gets a TimeStampResp that parses, granted or
// rejected, never a panic; a granted token covers the digest asked for.
func FuzzRespond(f *testing.F) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(f, err)
	tsa, err := root.NewTSA(testpki.LeafOptions{})
	require.NoError(f, err)
	r := tsa.Responder()
	sum := sha256.Sum256([]byte("seed"))
	for _, req := range []*timestamp.Request{
		{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Certificates: true, Nonce: big.NewInt(7)},
		{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]},
		{HashAlgorithm: crypto.SHA1, HashedMessage: sum[:20]},
	} {
		der, err := req.Marshal()
		require.NoError(f, err)
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := r.Respond(req)
		require.NoError(t, err)
		ts, err := timestamp.ParseResponse(resp)
		if err != nil {
			return // a rejection
		}
		parsed, err := timestamp.ParseRequest(req)
		require.NoError(t, err, "a token was granted for a request that does not parse")
		assert.Equal(t, parsed.HashedMessage, ts.HashedMessage)
	})
}

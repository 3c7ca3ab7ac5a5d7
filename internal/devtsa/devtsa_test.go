package devtsa_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
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
				for _, nonce := range []*big.Int{nil, new(big.Int).Lsh(big.NewInt(0xfedc), 60), big.NewInt(-129)} {
					t.Run(fmt.Sprintf("%s/digitorus=%v/certReq=%v/nonce=%v", name, tamper, certReq, nonce), func(t *testing.T) {
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
	r := newResponder(t)
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
	r := newResponder(t)
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
		"extension": {mustMarshal(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:],
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}}), timestamp.UnacceptedExtension},
		"unknown hash":     {request(t, 1, asn1.ObjectIdentifier{1, 2, 3}, nil, sum[:], nil), timestamp.BadAlgorithm},
		"hash parameters":  {request(t, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, []byte{4, 0}, sum[:], nil), timestamp.BadAlgorithm},
		"version 2":        {request(t, 2, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil, sum[:], nil), timestamp.BadDataFormat},
		"certReq FALSE":    {request(t, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil, sum[:], []byte{1, 1, 0}), timestamp.BadDataFormat},
		"certReq not DER":  {request(t, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil, sum[:], []byte{1, 1, 1}), timestamp.BadDataFormat},
		"nonce not DER":    {request(t, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil, sum[:], []byte{2, 2, 0, 1}), timestamp.BadDataFormat},
		"trailing element": {request(t, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, nil, sum[:], []byte{4, 0}), timestamp.BadDataFormat},
		"trailing bytes":   {append(mustMarshal(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]}), 0), timestamp.BadDataFormat},
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

// request encodes a TimeStampReq of version, with a messageImprint of
// hash (with params, a DER element, as its parameters when set) and
// imprint, followed by the DER elements in rest.
func request(t *testing.T, version int, hash asn1.ObjectIdentifier, params, imprint, rest []byte) []byte {
	t.Helper()
	alg := pkix.AlgorithmIdentifier{Algorithm: hash}
	if params != nil {
		alg.Parameters = asn1.RawValue{FullBytes: params}
	}
	mi, err := asn1.Marshal(struct {
		Alg     pkix.AlgorithmIdentifier
		Imprint []byte
	}{alg, imprint})
	require.NoError(t, err)
	v, err := asn1.Marshal(version)
	require.NoError(t, err)
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: slices.Concat(v, mi, rest)})
	require.NoError(t, err)
	return der
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
	r := newResponder(f)
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
		assert.Equal(t, parsed.HashAlgorithm, ts.HashAlgorithm)
		if parsed.Nonce == nil {
			assert.Nil(t, ts.Nonce)
		} else {
			assert.Zero(t, parsed.Nonce.Cmp(ts.Nonce), "nonce echoed")
		}
		assert.Equal(t, parsed.Certificates, len(ts.Certificates) > 0, "certificates when asked for only")
		assert.Empty(t, parsed.Extensions, "a request with extensions is refused")
	})
}

// newResponder returns the responder of a time-stamping authority under a
// new root.
func newResponder(t testing.TB) *devtsa.Responder {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	tsa, err := root.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	return tsa.Responder()
}

package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tstToken returns a real token from digitorus/timestamp with every
// optional TSTInfo field set, and its signer certificate.
func tstToken(t testing.TB) ([]byte, *x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("data"))
	ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Time: time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC),
		Accuracy: 1500*time.Millisecond + 7*time.Microsecond, Ordering: true, Nonce: big.NewInt(1234567), Policy: asn1.ObjectIdentifier{1, 2, 3},
		AddTSACertificate: true, ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{5, 0}}}}
	resp, err := ts.CreateResponseWithOpts(cert, k, crypto.SHA256)
	require.NoError(t, err)
	s := cryptobyte.String(resp)
	var seq, tok cryptobyte.String
	require.True(t, s.ReadASN1(&seq, cbasn1.SEQUENCE) && seq.SkipASN1(cbasn1.SEQUENCE) && seq.ReadASN1Element(&tok, cbasn1.SEQUENCE))
	return tok, cert
}

func TestParseTSTInfo(t *testing.T) {
	tok, cert := tstToken(t)
	sd, err := ParseSignedData("test", tok, 1<<20)
	require.NoError(t, err)
	tst, err := ParseTSTInfo(sd.EContent)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("data"))
	assert.Equal(t, crypto.SHA256, tst.Hash)
	assert.Equal(t, sum[:], tst.Imprint)
	assert.Equal(t, "1.2.3", tst.Policy.String())
	assert.Equal(t, time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC), tst.GenTime)
	assert.Equal(t, 1500*time.Millisecond+7*time.Microsecond, tst.Accuracy)
	assert.True(t, tst.Ordering)
	assert.Equal(t, IntegerBytes(big.NewInt(1234567)), tst.Nonce)
	assert.Equal(t, []asn1.ObjectIdentifier{{1, 2, 3, 4}}, tst.Extensions)
	assert.Equal(t, []bool{false}, tst.Critical)
	require.NotNil(t, tst.TSA)
	assert.Equal(t, byte(0xa4), tst.TSA[0], "directoryName")

	// The signer's attributes name the certificate and verify.
	si := &sd.SignerInfos[0]
	a := Attr(si.SignedAttrs, RawAttrSigningCertV2)
	require.NotNil(t, a)
	ids, err := ParseESSCertIDs(a.Values[0], true)
	require.NoError(t, err)
	assert.True(t, ids[0].Matches(cert))
	assert.True(t, ids[0].HasIssuerSerial)
	require.NoError(t, si.CheckSignature(cert))
	si.Signature = append([]byte(nil), si.Signature...)
	si.Signature[len(si.Signature)-1] ^= 1
	require.Error(t, si.CheckSignature(cert))
}

func TestParseTSTInfoRefuses(t *testing.T) {
	tok, _ := tstToken(t)
	sd, err := ParseSignedData("test", tok, 1<<20)
	require.NoError(t, err)
	good := sd.EContent
	for name, der := range map[string][]byte{
		"empty":     nil,
		"trailing":  append(append([]byte(nil), good...), 0),
		"truncated": good[:len(good)-1],
		"version 2": func() []byte {
			b := append([]byte(nil), good...)
			// SEQUENCE header then INTEGER 1: 02 01 01
			for i := 0; i+2 < len(b); i++ {
				if b[i] == 0x02 && b[i+1] == 0x01 && b[i+2] == 0x01 {
					b[i+2] = 2
					break
				}
			}
			return b
		}(),
	} {
		_, err := ParseTSTInfo(der)
		assert.Error(t, err, name)
	}
}

func TestParseAccuracy(t *testing.T) {
	acc := func(f func(b *cryptobyte.Builder)) cryptobyte.String {
		b := cryptobyte.NewBuilder(nil)
		f(b)
		return cryptobyte.String(b.BytesOrPanic())
	}
	d, ok := parseAccuracy(acc(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(2)
		b.AddASN1Int64WithTag(5, tagCtx0Prim)
		b.AddASN1Int64WithTag(6, tagCtx1Prim)
	}))
	require.True(t, ok)
	assert.Equal(t, 2*time.Second+5*time.Millisecond+6*time.Microsecond, d)
	for name, s := range map[string]cryptobyte.String{
		"millis 0":    acc(func(b *cryptobyte.Builder) { b.AddASN1Int64WithTag(0, tagCtx0Prim) }),
		"micros 1000": acc(func(b *cryptobyte.Builder) { b.AddASN1Int64WithTag(1000, tagCtx1Prim) }),
		"negative":    acc(func(b *cryptobyte.Builder) { b.AddASN1Int64(-1) }),
		"order": acc(func(b *cryptobyte.Builder) {
			b.AddASN1Int64WithTag(1, tagCtx1Prim)
			b.AddASN1Int64WithTag(1, tagCtx0Prim)
		}),
		"trailing": acc(func(b *cryptobyte.Builder) { b.AddASN1Int64(1); b.AddASN1NULL() }),
	} {
		_, ok := parseAccuracy(s)
		assert.False(t, ok, name)
	}
}

// FuzzParseTSTInfo: the TSTInfo parser never panics, bounds what it
// returns and refuses imprints of the wrong length.
func FuzzParseTSTInfo(f *testing.F) {
	tok, _ := tstToken(f)
	sd, err := ParseSignedData("fuzz", tok, 1<<20)
	require.NoError(f, err)
	f.Add(sd.EContent)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		tst, err := ParseTSTInfo(data)
		if err != nil {
			return
		}
		if len(tst.Imprint) != tst.Hash.Size() || len(tst.Extensions) > MaxTSTExtensions || len(tst.Extensions) != len(tst.Critical) {
			t.Fatalf("inconsistent TSTInfo %+v", tst)
		}
		if tst.Accuracy < 0 || tst.Accuracy > 86401*time.Second {
			t.Fatalf("accuracy %v", tst.Accuracy)
		}
	})
}

// FuzzParseESSCertIDs: the signing-certificate parser never panics and
// bounds its output.
func FuzzParseESSCertIDs(f *testing.F) {
	tok, _ := tstToken(f)
	sd, err := ParseSignedData("fuzz", tok, 1<<20)
	require.NoError(f, err)
	f.Add([]byte(Attr(sd.SignerInfos[0].SignedAttrs, RawAttrSigningCertV2).Values[0]), true)
	f.Add([]byte{0x30, 0x02, 0x30, 0x00}, false)
	cert := &x509.Certificate{Raw: []byte{1, 2, 3}, RawIssuer: []byte{0x30, 0x00}, SerialNumber: big.NewInt(1)}
	f.Fuzz(func(t *testing.T, data []byte, v2 bool) {
		ids, err := ParseESSCertIDs(cryptobyte.String(data), v2)
		if err != nil {
			return
		}
		if len(ids) == 0 || len(ids) > MaxESSCertIDs {
			t.Fatalf("%d identifiers", len(ids))
		}
		for _, id := range ids {
			if len(id.CertHash) != id.Hash.Size() {
				t.Fatal("certHash of the wrong size")
			}
			_ = id.Matches(cert)
		}
	})
}

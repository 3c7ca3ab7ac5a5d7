package cms

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckSignatureRemembersOnlySuccess checks that a remembered
// signature check never lets a different one pass: after the token's
// signature verified (and was remembered), a changed signature, changed
// signed attributes, another key with the same certificate name, and
// another algorithm are each checked afresh and refused, before and after
// the memo is full and emptied.
func TestCheckSignatureRemembersOnlySuccess(t *testing.T) {
	tok, cert := tstToken(t)
	sd, err := ParseSignedData("test", tok, 1<<20)
	require.NoError(t, err)
	si := sd.SignerInfos[0]
	other := sameNameOtherKey(t, cert)

	for round := range 2 {
		require.NoError(t, si.CheckSignature(cert), "round %d", round)
		require.NoError(t, si.CheckSignature(cert), "round %d: remembered", round)

		bad := si
		bad.Signature = slices.Clone(si.Signature)
		bad.Signature[len(bad.Signature)-1] ^= 1
		require.Error(t, bad.CheckSignature(cert), "round %d: signature changed", round)

		bad = si
		bad.SignedAttrsDER = slices.Clone(si.SignedAttrsDER)
		bad.SignedAttrsDER[len(bad.SignedAttrsDER)-1] ^= 1
		require.Error(t, bad.CheckSignature(cert), "round %d: signed attributes changed", round)

		require.Error(t, si.CheckSignature(other), "round %d: another key under the same name", round)

		bad = si
		bad.DigestAlgorithm = AlgorithmIdentifier{OID: rawSHA384}
		bad.SignatureAlgorithm = AlgorithmIdentifier{OID: MustRawOID(OIDECDSAWithSHA384)}
		require.Error(t, bad.CheckSignature(cert), "round %d: another algorithm", round)

		// Fill the memo past its bound with checks that succeed: it never
		// holds more than maxVerified, and the checks above hold again on
		// the next round.
		if round == 0 {
			fillVerified(t)
		}
	}

	// A certificate built in memory (no raw public key) is checked every
	// time: another key under the same name is refused after a success.
	mem, memOther := *cert, *other
	mem.RawSubjectPublicKeyInfo, memOther.RawSubjectPublicKeyInfo = nil, nil
	require.NoError(t, si.CheckSignature(&mem))
	require.Error(t, si.CheckSignature(&memOther))
}

// fillVerified makes maxVerified+1 distinct signature checks succeed
// through checkSignatureMemo and checks the memo's bound after each.
func fillVerified(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "filler"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	for i := range maxVerified + 1 {
		msg := []byte{byte(i), byte(i >> 8), byte(i >> 16)}
		sum := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
		require.NoError(t, err)
		require.NoError(t, checkSignatureMemo(c, x509.ECDSAWithSHA256, msg, sig))
		require.LessOrEqual(t, verified.Len(), maxVerified)
	}
}

// sameNameOtherKey returns a certificate with c's subject and serial and
// another P-256 key.
func sameNameOtherKey(t *testing.T, c *x509.Certificate) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).Set(c.SerialNumber), Subject: pkix.Name{CommonName: c.Subject.CommonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	other, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return other
}

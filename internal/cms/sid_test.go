package cms

import (
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSignerInfoIdentifies(t *testing.T) {
	a := &x509.Certificate{RawIssuer: []byte{0x30, 1, 'A'}, SerialNumber: big.NewInt(7), SubjectKeyId: []byte{1, 2}}
	b := &x509.Certificate{RawIssuer: []byte{0x30, 1, 'A'}, SerialNumber: big.NewInt(8)}
	certs := []*x509.Certificate{a, b}

	bySerial := &SignerInfo{Issuer: []byte{0x30, 1, 'A'}, Serial: IntegerBytes(big.NewInt(8))}
	require.Same(t, b, bySerial.FindCertificate(certs))
	require.False(t, bySerial.Identifies(a), "another serial")
	otherIssuer := &SignerInfo{Issuer: []byte{0x30, 1, 'B'}, Serial: IntegerBytes(big.NewInt(8))}
	require.Nil(t, otherIssuer.FindCertificate(certs))

	bySKI := &SignerInfo{SKI: []byte{1, 2}, Issuer: b.RawIssuer, Serial: IntegerBytes(b.SerialNumber)}
	require.Same(t, a, bySKI.FindCertificate(certs), "an SKI sid ignores issuer and serial")
	require.False(t, bySKI.Identifies(b), "a certificate without a subject key id")
	require.Nil(t, (&SignerInfo{SKI: []byte{9}}).FindCertificate(certs))
}

package testpki

import (
	"crypto"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign/internal/devtsa"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

type pkixExtension = pkix.Extension

func ellipticP256() elliptic.Curve { return elliptic.P256() }

func tsaToken(t *TSA, data []byte, at time.Time) ([]byte, error) {
	sum := sha256.Sum256(data)
	ts := timestamp.Timestamp{
		HashAlgorithm:     crypto.SHA256,
		HashedMessage:     sum[:],
		Time:              at,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1},
		AddTSACertificate: true,
		Certificates:      t.Chain[:len(t.Chain)-1],
	}
	resp, err := ts.CreateResponseWithOpts(t.Cert, t.Key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("testpki: timestamp: %w", err)
	}
	// TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo }
	s := cryptobyte.String(resp)
	var seq, status, token cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&status, cbasn1.SEQUENCE) || !seq.ReadASN1Element(&token, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("testpki: malformed timestamp response")
	}
	return token, nil
}

// Responder returns an RFC 3161 responder signing with the TSA's key,
// carrying its CA chain (without the root) when a request asks for
// certificates. Serve it over HTTP with httptest.NewServer.
func (t *TSA) Responder() *devtsa.Responder {
	return &devtsa.Responder{Cert: t.Cert, Key: t.Key, Chain: t.Chain[:len(t.Chain)-1]}
}

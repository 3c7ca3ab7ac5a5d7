package tsa

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// ChainChecker validates the time-stamping authority's certificate path
// before a token is accepted. The caller supplies it, so that this package
// needs no validation engine of its own: package verify's Verifier (with
// the TSA's anchors, id-kp-timeStamping as the allowed purpose and
// revocation checking) is the usual one, wired by the application; [Roots]
// is a path-only checker.
type ChainChecker interface {
	// CheckTSAChain returns nil when req.Leaf has a valid path to a trust
	// anchor at req.At, and an error saying why not otherwise.
	CheckTSAChain(ctx context.Context, req ChainRequest) error
}

// ChainRequest asks for a TSA certificate's path to be validated.
type ChainRequest struct {
	// Leaf is the certificate that signed the token.
	Leaf *x509.Certificate
	// Intermediates are the other certificates the token carries; they are
	// candidates, never anchors.
	Intermediates []*x509.Certificate
	// At is the token's genTime.
	At time.Time
}

// Roots returns a [ChainChecker] that builds a path from the leaf to one of
// roots with crypto/x509 at the token's genTime, every certificate of it
// allowing id-kp-timeStamping. It does not check revocation: use it where
// the TSA's revocation is checked elsewhere (the signature's verifier) or
// not at all (tests, closed deployments), and a revocation-checking checker
// otherwise.
func Roots(roots *x509.CertPool) ChainChecker { return rootsChecker{roots} }

type rootsChecker struct{ roots *x509.CertPool }

func (r rootsChecker) CheckTSAChain(_ context.Context, req ChainRequest) error {
	if r.roots == nil || req.Leaf == nil {
		return fmt.Errorf("no trust anchors or no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range req.Intermediates {
		inter.AddCert(c)
	}
	_, err := req.Leaf.Verify(x509.VerifyOptions{
		Roots:         r.roots,
		Intermediates: inter,
		CurrentTime:   req.At,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	return err
}

package tsa

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/roamsign/roamsign/internal/memo"
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
//
// A path is the same for every token of one authority, so the checker
// remembers the paths it validated, keyed by the exact certificates asked
// about (the leaf's DER and the intermediates' DER, in order), each with
// the period in which every certificate of the path it built is valid. A
// later request for the same certificates at a time inside that period is
// answered from memory; any other request builds the path again. The
// token's own checks (signature, imprint, nonce, status, genTime) are the
// Client's and are never remembered.
func Roots(roots *x509.CertPool) ChainChecker { return &rootsChecker{roots: roots} }

// maxRememberedPaths bounds a rootsChecker's memory; when full it is
// emptied.
const maxRememberedPaths = 64

type rootsChecker struct {
	roots *x509.CertPool
	paths memo.Map[[sha256.Size]byte, validity]
}

// validity is the period in which every certificate of a path is valid.
type validity struct{ from, until time.Time }

func (v validity) holds(at time.Time) bool { return !at.Before(v.from) && !at.After(v.until) }

func (r *rootsChecker) CheckTSAChain(_ context.Context, req ChainRequest) error {
	if r.roots == nil || req.Leaf == nil {
		return fmt.Errorf("no trust anchors or no certificate")
	}
	key := pathKey(req.Leaf, req.Intermediates)
	v, ok := r.paths.Get(key)
	if ok && v.holds(req.At) {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range req.Intermediates {
		inter.AddCert(c)
	}
	chains, err := req.Leaf.Verify(x509.VerifyOptions{
		Roots:         r.roots,
		Intermediates: inter,
		CurrentTime:   req.At,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return err
	}
	v = validity{from: req.Leaf.NotBefore, until: req.Leaf.NotAfter}
	for _, c := range chains[0] {
		if c.NotBefore.After(v.from) {
			v.from = c.NotBefore
		}
		if c.NotAfter.Before(v.until) {
			v.until = c.NotAfter
		}
	}
	r.paths.Put(key, v, maxRememberedPaths)
	return nil
}

// pathKey identifies the certificates of a request: the SHA-256 of the
// leaf's and each intermediate's DER, each preceded by its length.
func pathKey(leaf *x509.Certificate, inter []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, c := range append([]*x509.Certificate{leaf}, inter...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Raw)))
		h.Write(n[:])
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

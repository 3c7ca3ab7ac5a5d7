package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Bounds of path building.
const (
	maxPathDepth = 10
	maxPaths     = 32
	maxSigChecks = 256
)

// pathError says why a candidate path is not valid, with the
// sub-indication that classifies it.
type pathError struct {
	sub    SubIndication
	reason string
}

func (e *pathError) Error() string { return e.reason }

func pathErr(sub SubIndication, format string, args ...any) *pathError {
	return &pathError{sub: sub, reason: fmt.Sprintf(format, args...)}
}

// pathInput is what a path is validated against.
type pathInput struct {
	at          time.Time
	timestamped bool
	anchors     []*x509.Certificate
	pool        []*x509.Certificate
	policy      PolicyConfig
}

// pathBuilder finds candidate paths from a target to an anchor, sharing
// signature checks between candidates.
type pathBuilder struct {
	v      *Verifier
	target *x509.Certificate
	in     pathInput
	sigs   map[[2]*x509.Certificate]error
	checks int
}

func newPathBuilder(v *Verifier, in pathInput) *pathBuilder {
	return &pathBuilder{v: v, in: in, sigs: map[[2]*x509.Certificate]error{}}
}

// signedBy checks child's signature with parent's key, memoised.
func (b *pathBuilder) signedBy(child, parent *x509.Certificate) error {
	k := [2]*x509.Certificate{child, parent}
	if err, ok := b.sigs[k]; ok {
		return err
	}
	if b.checks >= maxSigChecks {
		return errors.New("too many signature checks")
	}
	b.checks++
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	b.sigs[k] = err
	return err
}

// isAnchor reports whether c is one of the anchors (by encoding).
func (b *pathBuilder) isAnchor(c *x509.Certificate) bool {
	for _, a := range b.in.anchors {
		if a == c || bytes.Equal(a.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// candidates returns the certificates whose subject is c's issuer:
// anchors first, then those whose key identifier matches.
func (b *pathBuilder) candidates(c *x509.Certificate) (anchors, inter []*x509.Certificate) {
	want := b.v.parsed(c).issuer
	for _, a := range b.in.anchors {
		if b.v.parsed(a).subject.equal(want) {
			anchors = append(anchors, a)
		}
	}
	var others []*x509.Certificate
	for _, p := range b.in.pool {
		if p == c || b.isAnchor(p) || !b.v.parsed(p).subject.equal(want) {
			continue
		}
		if keyIDMatch(c.AuthorityKeyId, p.SubjectKeyId) {
			inter = append(inter, p)
		} else {
			others = append(others, p)
		}
	}
	return anchors, append(inter, others...)
}

// paths returns up to maxPaths candidate paths for target, target first
// and anchor last, in the order they were found (shortest first within a
// depth-first search).
func (b *pathBuilder) paths(target *x509.Certificate) [][]*x509.Certificate {
	var out [][]*x509.Certificate
	var walk func(path []*x509.Certificate)
	walk = func(path []*x509.Certificate) {
		if len(out) >= maxPaths || len(path) > maxPathDepth {
			return
		}
		last := path[len(path)-1]
		anchors, inter := b.candidates(last)
		for _, a := range anchors {
			out = append(out, append(append([]*x509.Certificate(nil), path...), a))
		}
		for _, c := range inter {
			seen := false
			for _, p := range path {
				if bytes.Equal(p.Raw, c.Raw) {
					seen = true
				}
			}
			if !seen {
				walk(append(path, c))
			}
		}
	}
	if b.isAnchor(target) {
		return [][]*x509.Certificate{{target}}
	}
	walk([]*x509.Certificate{target})
	return out
}

// validate applies RFC 5280 section 6.1 to path (target first, anchor
// last) at the input's time, except revocation, which the caller checks.
// It returns the valid policies of the path.
func (b *pathBuilder) validate(path []*x509.Certificate) ([]string, *pathError) {
	n := len(path) - 1 // certificates below the anchor
	if n == 0 {
		return nil, nil
	}
	pol := b.in.policy
	explicit, inhibitAny, mapping := n+1, n+1, n+1
	if pol.RequireExplicitPolicy {
		explicit = 0
	}
	if pol.InhibitAnyPolicy {
		inhibitAny = 0
	}
	if pol.InhibitPolicyMapping {
		mapping = 0
	}
	tree := newPolicyTree()
	maxLen := n
	var constraints []*nameConstraints
	at := b.in.at
	for i := 1; i <= n; i++ {
		c := path[n-i] // certificate i, issued by path[n-i+1]
		issuer := path[n-i+1]
		pc := b.v.parsed(c)
		last := i == n
		// (a) basic certificate processing.
		if pc.bad != "" {
			return nil, pathErr(SubChainConstraintsFailure, "%s: %s", subjectOf(c), pc.bad)
		}
		if err := b.signedBy(c, issuer); err != nil {
			if isUnsupportedAlg(err) {
				return nil, pathErr(SubCryptoConstraintsFailure, "%s: signature algorithm not supported: %v", subjectOf(c), err)
			}
			return nil, pathErr(SubCertificateChainGeneralFailure, "%s: signature does not verify with the issuer's key", subjectOf(c))
		}
		if at.Before(c.NotBefore) || at.After(c.NotAfter) {
			return nil, b.outOfBounds(c, at)
		}
		if !pc.issuer.equal(b.v.parsed(issuer).subject) {
			return nil, pathErr(SubChainConstraintsFailure, "%s: issuer name does not chain", subjectOf(c))
		}
		// (b), (c) name constraints, except for self-issued intermediates.
		if last || !pc.selfIssued {
			for _, name := range pc.constrainedNames() {
				if why := permits(constraints, name); why != "" {
					return nil, pathErr(SubChainConstraintsFailure, "%s: %s", subjectOf(c), why)
				}
			}
		}
		// (d)-(f) policies.
		var err error
		if tree, err = processPolicies(tree, pc, i, n, inhibitAny); err != nil {
			return nil, pathErr(SubChainConstraintsFailure, "%s: %v", subjectOf(c), err)
		}
		if last {
			break
		}
		if explicit <= 0 && tree == nil {
			return nil, pathErr(SubChainConstraintsFailure, "%s: no valid policy and an explicit policy is required", subjectOf(c))
		}
		// Section 6.1.4: preparation for certificate i+1.
		if tree, err = applyMappings(tree, pc, i, mapping); err != nil {
			return nil, pathErr(SubChainConstraintsFailure, "%s: %v", subjectOf(c), err)
		}
		if pc.nc != nil {
			constraints = append(constraints, pc.nc)
		}
		if !pc.selfIssued {
			explicit, mapping, inhibitAny = max(explicit-1, 0), max(mapping-1, 0), max(inhibitAny-1, 0)
		}
		if v, ok := optInt(c.RequireExplicitPolicy, c.RequireExplicitPolicyZero); ok && v < explicit {
			explicit = v
		}
		if v, ok := optInt(c.InhibitPolicyMapping, c.InhibitPolicyMappingZero); ok && v < mapping {
			mapping = v
		}
		if v, ok := optInt(c.InhibitAnyPolicy, c.InhibitAnyPolicyZero); ok && v < inhibitAny {
			inhibitAny = v
		}
		if c.Version == 3 && !(c.BasicConstraintsValid && c.IsCA) || c.Version < 3 {
			return nil, pathErr(SubChainConstraintsFailure, "%s: not a CA certificate (basicConstraints cA)", subjectOf(c))
		}
		if !pc.selfIssued {
			if maxLen <= 0 {
				return nil, pathErr(SubChainConstraintsFailure, "%s: path length constraint exceeded", subjectOf(c))
			}
			maxLen--
		}
		if l, ok := optInt(c.MaxPathLen, c.MaxPathLenZero); ok && l < maxLen {
			maxLen = l
		}
		if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
			return nil, pathErr(SubChainConstraintsFailure, "%s: key usage lacks keyCertSign", subjectOf(c))
		}
	}
	// Section 6.1.5: wrap-up.
	c := path[0]
	if explicit > 0 {
		explicit--
	}
	if v, ok := optInt(c.RequireExplicitPolicy, c.RequireExplicitPolicyZero); ok && v == 0 {
		explicit = 0
	}
	var initial []string
	for _, o := range pol.InitialPolicySet {
		initial = append(initial, o.String())
	}
	tree = intersect(tree, initial, n)
	if explicit <= 0 && tree == nil {
		return nil, pathErr(SubChainConstraintsFailure, "no valid policy for the path and an explicit policy is required")
	}
	return tree.leafPolicies(n), nil
}

// outOfBounds classifies a certificate outside its validity at t.
func (b *pathBuilder) outOfBounds(c *x509.Certificate, t time.Time) *pathError {
	what := "expired"
	sub := SubOutOfBoundsNoPOE
	if t.Before(c.NotBefore) {
		what = "not yet valid"
	}
	if b.in.timestamped && c == b.targetOf() {
		sub = SubExpired
		if t.Before(c.NotBefore) {
			sub = SubNotYetValid
		}
	}
	return pathErr(sub, "%s: %s at %s (valid %s to %s)", subjectOf(c), what, t.UTC().Format(time.RFC3339),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// targetOf is set by the caller of validate for classification.
func (b *pathBuilder) targetOf() *x509.Certificate { return b.target }

func optInt(v int, zero bool) (int, bool) {
	if v > 0 || (v == 0 && zero) {
		return v, true
	}
	return 0, false
}

func isUnsupportedAlg(err error) bool {
	var insecure x509.InsecureAlgorithmError
	return errors.Is(err, x509.ErrUnsupportedAlgorithm) || errors.As(err, &insecure)
}

func subjectOf(c *x509.Certificate) string {
	return certInfo(c).Subject
}

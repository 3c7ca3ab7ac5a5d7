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
	err := b.v.certSignedBy(child, parent)
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
	want := b.v.parsed(c).issuerKey
	for _, a := range b.in.anchors {
		if b.v.parsed(a).subjectKey == want {
			anchors = append(anchors, a)
		}
	}
	var others []*x509.Certificate
	for _, p := range b.in.pool {
		if p == c || b.isAnchor(p) || b.v.parsed(p).subjectKey != want {
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

// pathState is the state variables of RFC 5280 section 6.1.2.
type pathState struct {
	explicit, inhibitAny, mapping, maxLen int
	tree                                  *policyTree
	constraints                           []*nameConstraints
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
	st := &pathState{explicit: n + 1, inhibitAny: n + 1, mapping: n + 1, maxLen: n, tree: newPolicyTree()}
	if pol.RequireExplicitPolicy {
		st.explicit = 0
	}
	if pol.InhibitAnyPolicy {
		st.inhibitAny = 0
	}
	if pol.InhibitPolicyMapping {
		st.mapping = 0
	}
	for i := 1; i <= n; i++ {
		c := path[n-i] // certificate i, issued by path[n-i+1]
		pc := b.v.parsed(c)
		if perr := b.process(st, c, path[n-i+1], pc, i, n); perr != nil {
			return nil, perr
		}
		if i == n {
			break
		}
		if st.explicit <= 0 && st.tree == nil {
			return nil, pathErr(SubChainConstraintsFailure, "%s: no valid policy and an explicit policy is required", subjectOf(c))
		}
		if perr := b.prepare(st, c, pc, i); perr != nil {
			return nil, perr
		}
	}
	// Section 6.1.5: wrap-up.
	c := path[0]
	if st.explicit > 0 {
		st.explicit--
	}
	if v, ok := optInt(c.RequireExplicitPolicy, c.RequireExplicitPolicyZero); ok && v == 0 {
		st.explicit = 0
	}
	var initial []string
	for _, o := range pol.InitialPolicySet {
		initial = append(initial, o.String())
	}
	tree := intersect(st.tree, initial, n)
	if st.explicit <= 0 && tree == nil {
		return nil, pathErr(SubChainConstraintsFailure, "no valid policy for the path and an explicit policy is required")
	}
	return tree.leafPolicies(n), nil
}

// process is RFC 5280 section 6.1.3 for certificate i of n.
func (b *pathBuilder) process(st *pathState, c, issuer *x509.Certificate, pc *parsedCert, i, n int) *pathError {
	at := b.in.at
	if pc.bad != "" {
		return pathErr(SubChainConstraintsFailure, "%s: %s", subjectOf(c), pc.bad)
	}
	if err := b.signedBy(c, issuer); err != nil {
		if isUnsupportedAlg(err) {
			return pathErr(SubCryptoConstraintsFailure, "%s: signature algorithm not supported: %v", subjectOf(c), err)
		}
		return pathErr(SubCertificateChainGeneralFailure, "%s: signature does not verify with the issuer's key", subjectOf(c))
	}
	if at.Before(c.NotBefore) || at.After(c.NotAfter) {
		return b.outOfBounds(c, at)
	}
	if pc.issuerKey != b.v.parsed(issuer).subjectKey {
		return pathErr(SubChainConstraintsFailure, "%s: issuer name does not chain", subjectOf(c))
	}
	// (b), (c) name constraints, except for self-issued intermediates.
	if i == n || !pc.selfIssued {
		for _, name := range pc.constrainedNames() {
			if why := permits(st.constraints, name); why != "" {
				return pathErr(SubChainConstraintsFailure, "%s: %s", subjectOf(c), why)
			}
		}
	}
	// (d)-(f) policies.
	var err error
	if st.tree, err = processPolicies(st.tree, pc, i, n, st.inhibitAny); err != nil {
		return pathErr(SubChainConstraintsFailure, "%s: %v", subjectOf(c), err)
	}
	return nil
}

// prepare is RFC 5280 section 6.1.4: preparation for certificate i+1.
func (b *pathBuilder) prepare(st *pathState, c *x509.Certificate, pc *parsedCert, i int) *pathError {
	var err error
	if st.tree, err = applyMappings(st.tree, pc, i, st.mapping); err != nil {
		return pathErr(SubChainConstraintsFailure, "%s: %v", subjectOf(c), err)
	}
	if pc.nc != nil {
		st.constraints = append(st.constraints, pc.nc)
	}
	if !pc.selfIssued {
		st.explicit, st.mapping, st.inhibitAny = max(st.explicit-1, 0), max(st.mapping-1, 0), max(st.inhibitAny-1, 0)
	}
	if v, ok := optInt(c.RequireExplicitPolicy, c.RequireExplicitPolicyZero); ok && v < st.explicit {
		st.explicit = v
	}
	if v, ok := optInt(c.InhibitPolicyMapping, c.InhibitPolicyMappingZero); ok && v < st.mapping {
		st.mapping = v
	}
	if v, ok := optInt(c.InhibitAnyPolicy, c.InhibitAnyPolicyZero); ok && v < st.inhibitAny {
		st.inhibitAny = v
	}
	if c.Version < 3 || !(c.BasicConstraintsValid && c.IsCA) {
		return pathErr(SubChainConstraintsFailure, "%s: not a CA certificate (basicConstraints cA)", subjectOf(c))
	}
	if !pc.selfIssued {
		if st.maxLen <= 0 {
			return pathErr(SubChainConstraintsFailure, "%s: path length constraint exceeded", subjectOf(c))
		}
		st.maxLen--
	}
	if l, ok := optInt(c.MaxPathLen, c.MaxPathLenZero); ok && l < st.maxLen {
		st.maxLen = l
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return pathErr(SubChainConstraintsFailure, "%s: key usage lacks keyCertSign", subjectOf(c))
	}
	return nil
}

// outOfBounds classifies a certificate outside its validity at t.
func (b *pathBuilder) outOfBounds(c *x509.Certificate, t time.Time) *pathError {
	what := "expired"
	sub := SubOutOfBoundsNoPOE
	if t.Before(c.NotBefore) {
		what = "not yet valid"
	}
	if b.in.timestamped && c == b.target {
		sub = SubExpired
		if t.Before(c.NotBefore) {
			sub = SubNotYetValid
		}
	}
	return pathErr(sub, "%s: %s at %s (valid %s to %s)", subjectOf(c), what, t.UTC().Format(time.RFC3339),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

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

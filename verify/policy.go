package verify

import (
	"encoding/asn1"
	"fmt"
	"slices"
)

// anyPolicy is the special policy identifier 2.5.29.32.0.
const anyPolicy = "2.5.29.32.0"

// maxPolicyNodes bounds the valid_policy_tree: policy mappings can make
// it grow exponentially with the path length.
const maxPolicyNodes = 1024

// PolicyConfig holds the policy inputs of RFC 5280 section 6.1.1. The
// zero value accepts any policy and requires none.
type PolicyConfig struct {
	// InitialPolicySet is user-initial-policy-set; nil means anyPolicy.
	InitialPolicySet []asn1.ObjectIdentifier
	// RequireExplicitPolicy is initial-explicit-policy: the path must be
	// valid for at least one policy of the set.
	RequireExplicitPolicy bool
	// InhibitPolicyMapping is initial-policy-mapping-inhibit.
	InhibitPolicyMapping bool
	// InhibitAnyPolicy is initial-any-policy-inhibit.
	InhibitAnyPolicy bool
}

// policyNode is a node of the valid_policy_tree.
type policyNode struct {
	policy   string
	expected []string
	parent   *policyNode
	children []*policyNode
}

// policyTree is the valid_policy_tree: levels[i] holds the nodes at
// depth i; nil means the NULL tree.
type policyTree struct {
	levels [][]*policyNode
	count  int
}

func newPolicyTree() *policyTree {
	return &policyTree{levels: [][]*policyNode{{{policy: anyPolicy, expected: []string{anyPolicy}}}}, count: 1}
}

func (t *policyTree) add(depth int, parent *policyNode, policy string, expected []string) error {
	if t.count >= maxPolicyNodes {
		return fmt.Errorf("policy tree exceeds %d nodes", maxPolicyNodes)
	}
	n := &policyNode{policy: policy, expected: expected, parent: parent}
	parent.children = append(parent.children, n)
	for len(t.levels) <= depth {
		t.levels = append(t.levels, nil)
	}
	t.levels[depth] = append(t.levels[depth], n)
	t.count++
	return nil
}

// remove deletes n and its subtree.
func (t *policyTree) remove(n *policyNode, depth int) {
	for _, c := range slices.Clone(n.children) {
		t.remove(c, depth+1)
	}
	t.levels[depth] = slices.DeleteFunc(t.levels[depth], func(x *policyNode) bool { return x == n })
	if n.parent != nil {
		n.parent.children = slices.DeleteFunc(n.parent.children, func(x *policyNode) bool { return x == n })
	}
	t.count--
}

// prune deletes nodes above depth that have no children, bottom up, and
// returns false when the tree became NULL.
func (t *policyTree) prune(depth int) bool {
	for d := depth - 1; d >= 0; d-- {
		for _, n := range slices.Clone(t.levels[d]) {
			if len(n.children) == 0 {
				t.remove(n, d)
			}
		}
	}
	return len(t.levels[0]) > 0
}

// processPolicies is RFC 5280 section 6.1.3 (d) and (e) for certificate i
// (1-based) of n; it returns the tree, nil when NULL.
func processPolicies(t *policyTree, pc *parsedCert, i, n int, inhibitAny int) (*policyTree, error) {
	if t == nil {
		return nil, nil
	}
	if !pc.hasPolicies {
		return nil, nil // (e)
	}
	parents := t.levels[i-1]
	hasAny := false
	for _, p := range pc.policies {
		if p == anyPolicy {
			hasAny = true
			continue
		}
		matched := false
		for _, node := range parents {
			if slices.Contains(node.expected, p) {
				if err := t.add(i, node, p, []string{p}); err != nil {
					return nil, err
				}
				matched = true
			}
		}
		if !matched {
			for _, node := range parents {
				if node.policy == anyPolicy {
					if err := t.add(i, node, p, []string{p}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if hasAny && (inhibitAny > 0 || (i < n && pc.selfIssued)) {
		for _, node := range parents {
			for _, e := range node.expected {
				if !slices.ContainsFunc(node.children, func(c *policyNode) bool { return c.policy == e }) {
					if err := t.add(i, node, e, []string{e}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if len(t.levels) <= i || !t.prune(i) {
		return nil, nil
	}
	return t, nil
}

// applyMappings is RFC 5280 section 6.1.4 (a) and (b) for certificate i.
func applyMappings(t *policyTree, pc *parsedCert, i int, policyMapping int) (*policyTree, error) {
	maps := map[string][]string{}
	var order []string
	for _, m := range pc.c.PolicyMappings {
		from, to := m.IssuerDomainPolicy.String(), m.SubjectDomainPolicy.String()
		if from == anyPolicy || to == anyPolicy {
			return nil, fmt.Errorf("policy mapping to or from anyPolicy")
		}
		if _, ok := maps[from]; !ok {
			order = append(order, from)
		}
		if !slices.Contains(maps[from], to) {
			maps[from] = append(maps[from], to)
		}
	}
	if t == nil || len(order) == 0 {
		return t, nil
	}
	for _, from := range order {
		nodes := slices.Clone(t.levels[i])
		if policyMapping > 0 {
			found := false
			for _, node := range nodes {
				if node.policy == from {
					node.expected = maps[from]
					found = true
				}
			}
			if !found {
				for _, node := range nodes {
					if node.policy == anyPolicy {
						if err := t.add(i, node.parent, from, maps[from]); err != nil {
							return nil, err
						}
						break
					}
				}
			}
			continue
		}
		for _, node := range nodes {
			if node.policy == from {
				t.remove(node, i)
			}
		}
		if !t.prune(i) {
			return nil, nil
		}
	}
	return t, nil
}

// intersect is RFC 5280 section 6.1.5 (g): the tree's intersection with
// the user-initial-policy-set; it returns the tree, nil when NULL.
func intersect(t *policyTree, initial []string, n int) *policyTree {
	if t == nil || len(initial) == 0 || slices.Contains(initial, anyPolicy) {
		return t
	}
	// The valid_policy_node_set: nodes whose parent is anyPolicy.
	var set []*policyNode
	depthOf := map[*policyNode]int{}
	for d, level := range t.levels {
		for _, node := range level {
			depthOf[node] = d
			if node.parent != nil && node.parent.policy == anyPolicy {
				set = append(set, node)
			}
		}
	}
	var kept []string
	for _, node := range set {
		if node.policy != anyPolicy && !slices.Contains(initial, node.policy) {
			t.remove(node, depthOf[node])
			continue
		}
		kept = append(kept, node.policy)
	}
	if len(t.levels) > n {
		for _, leaf := range slices.Clone(t.levels[n]) {
			if leaf.policy != anyPolicy || leaf.parent == nil {
				continue
			}
			for _, p := range initial {
				if !slices.Contains(kept, p) {
					if t.add(n, leaf.parent, p, []string{p}) != nil {
						return nil
					}
				}
			}
			t.remove(leaf, n)
		}
	}
	if len(t.levels) <= n || len(t.levels[n]) == 0 || !t.prune(n) {
		return nil
	}
	return t
}

// policies returns the valid policies of the tree's leaves at depth n.
func (t *policyTree) leafPolicies(n int) []string {
	if t == nil || len(t.levels) <= n {
		return nil
	}
	var out []string
	for _, node := range t.levels[n] {
		if !slices.Contains(out, node.policy) {
			out = append(out, node.policy)
		}
	}
	return out
}

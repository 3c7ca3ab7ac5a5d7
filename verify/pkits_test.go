package verify

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkitsDir holds NIST PKITS (see its README for provenance).
var pkitsDir = filepath.Join("..", "testdata", "pkits")

type pkitsCase struct {
	id, name, expected, reason, ee string
	inter, crls                    []string
	policy                         PolicyConfig
}

func loadPKITSCases(t *testing.T) []pkitsCase {
	f, err := os.Open(filepath.Join(pkitsDir, "cases.tsv"))
	require.NoError(t, err)
	defer f.Close()
	var out []pkitsCase
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		col := strings.Split(sc.Text(), "\t")
		require.Len(t, col, 8, sc.Text())
		c := pkitsCase{id: col[0], name: col[1], expected: col[2], reason: col[3], ee: col[4], policy: parsePolicyInputs(t, col[7])}
		for _, s := range strings.Split(col[5], ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.inter = append(c.inter, s)
			}
		}
		c.crls = []string{"TrustAnchorRootCRL.crl"}
		for _, s := range strings.Split(col[6], ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.crls = append(c.crls, s)
			}
		}
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

// parsePolicyInputs reads "initial_explicit_policy=True;user_initial_policy_set=['…', '…']".
func parsePolicyInputs(t *testing.T, s string) PolicyConfig {
	var p PolicyConfig
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case "initial_explicit_policy":
			p.RequireExplicitPolicy = v == "True"
		case "initial_policy_mapping_inhibit":
			p.InhibitPolicyMapping = v == "True"
		case "initial_any_policy_inhibit":
			p.InhibitAnyPolicy = v == "True"
		case "user_initial_policy_set":
			for _, o := range strings.Split(strings.Trim(v, "[]"), ",") {
				o = strings.Trim(strings.TrimSpace(o), "'")
				var oid asn1.ObjectIdentifier
				for _, part := range strings.Split(o, ".") {
					var n int
					_, err := fmt.Sscan(part, &n)
					require.NoError(t, err, s)
					oid = append(oid, n)
				}
				p.InitialPolicySet = append(p.InitialPolicySet, oid)
			}
		default:
			t.Fatalf("unknown policy input %q", k)
		}
	}
	return p
}

// pkitsOutcome classifies one case: "right", "wrong", "falsely valid" or
// "unsupported".
func runPKITS(t *testing.T, c pkitsCase) (string, string) {
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(pkitsDir, dir, name))
		require.NoError(t, err)
		return b
	}
	parse := func(name string) (*x509.Certificate, error) {
		return ParseCertificate(read("certs", name))
	}
	anchor, err := parse("TrustAnchorRootCertificate.crt")
	require.NoError(t, err)
	ee, err := parse(c.ee)
	if err != nil {
		require.Equal(t, roamsign.ErrUnsupported, roamsign.KindOf(err), "%s: %v", c.ee, err)
		return "unsupported", err.Error()
	}
	var inter []*x509.Certificate
	for _, n := range c.inter {
		ic, err := parse(n)
		if err != nil {
			require.Equal(t, roamsign.ErrUnsupported, roamsign.KindOf(err), "%s: %v", n, err)
			return "unsupported", err.Error()
		}
		inter = append(inter, ic)
	}
	var supplied ValidationData
	for _, n := range c.crls {
		supplied.CRLs = append(supplied.CRLs, read("crls", n))
	}
	at := time.Date(2022, 5, 1, 0, 0, 0, 0, time.UTC)
	v, err := New(Config{Anchors: []*x509.Certificate{anchor}, Offline: true, Policy: c.policy,
		Now: func() time.Time { return at }, KeyUsage: x509.KeyUsageDigitalSignature})
	require.NoError(t, err)
	r := v.VerifyChain(context.Background(), ChainRequest{Leaf: ee, Intermediates: inter, Supplied: supplied})
	chain, rev := r.Check(CheckChain), r.Check(CheckRevocation)
	detail := fmt.Sprintf("%s %s/%s: %v", r.Verdict, r.Indication, r.SubIndication, r.Failed())
	if r.SubIndication == SubCryptoConstraintsFailure {
		return "unsupported", detail
	}
	if c.expected == "valid" {
		if r.Verdict == Valid {
			return "right", detail
		}
		return "wrong", detail
	}
	if r.Verdict == Valid {
		return "falsely valid", detail
	}
	revoked := false
	for _, in := range r.Revocation {
		revoked = revoked || in.Status == RevRevoked
	}
	switch c.reason {
	case "path":
		if chain != nil && chain.Verdict == Invalid {
			return "right", detail
		}
	case "revoked":
		if revoked && r.Verdict == Invalid {
			return "right", detail
		}
	case "no-usable-revocation-data", "stale-revocation-data":
		if chain != nil && chain.Verdict == Valid && rev != nil && rev.Verdict == Indeterminate && !revoked {
			return "right", detail
		}
	}
	return "wrong", detail
}

// TestPKITS runs every NIST PKITS case through VerifyChain with the CRLs
// supplied and no network, and prints the tally per section. It fails on
// any falsely valid case, and on any wrong case in sections 4.1–4.7 and
// 4.13–4.16. DSA certificates (SHA-1 signatures) and what crypto/x509
// cannot parse count as unsupported.
func TestPKITS(t *testing.T) {
	type tally struct{ right, wrong, unsupported int }
	sections := map[string]*tally{}
	mustBeRight := map[string]bool{"4.1": true, "4.2": true, "4.3": true, "4.4": true, "4.5": true, "4.6": true, "4.7": true,
		"4.13": true, "4.14": true, "4.15": true, "4.16": true}
	for _, c := range loadPKITSCases(t) {
		sec := fmt.Sprintf("4.%d", (int(c.id[1]-'0')*10+int(c.id[2]-'0'))%100)
		if sections[sec] == nil {
			sections[sec] = &tally{}
		}
		outcome, detail := runPKITS(t, c)
		switch outcome {
		case "right":
			sections[sec].right++
		case "unsupported":
			sections[sec].unsupported++
			t.Logf("unsupported %s %s: %s", c.id, c.name, detail)
		default:
			sections[sec].wrong++
			msg := fmt.Sprintf("%s %s %s (expected %s %s): %s", outcome, c.id, c.name, c.expected, c.reason, detail)
			switch {
			case outcome == "falsely valid":
				t.Error(msg)
			case mustBeRight[sec]:
				t.Error(msg)
			default:
				t.Log(msg)
			}
		}
	}
	keys := make([]string, 0, len(sections))
	for k := range sections {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		var a, b int
		fmt.Sscanf(keys[i], "4.%d", &a)
		fmt.Sscanf(keys[j], "4.%d", &b)
		return a < b
	})
	var sum tally
	t.Log("PKITS tally (section: right / wrong / unsupported)")
	for _, k := range keys {
		s := sections[k]
		t.Logf("  %-5s %3d / %d / %d", k, s.right, s.wrong, s.unsupported)
		sum.right, sum.wrong, sum.unsupported = sum.right+s.right, sum.wrong+s.wrong, sum.unsupported+s.unsupported
	}
	t.Logf("  total %3d / %d / %d", sum.right, sum.wrong, sum.unsupported)
	assert.Equal(t, 246, sum.right+sum.wrong+sum.unsupported, "every case ran")
}

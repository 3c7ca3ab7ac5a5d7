package verify

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// nameConstraints is one certificate's NameConstraints extension (RFC
// 5280 section 4.2.1.10).
type nameConstraints struct {
	permitted, excluded []generalName
}

// parseNameConstraints reads the extension value.
func parseNameConstraints(v []byte) (*nameConstraints, error) {
	s := cryptobyte.String(v)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, fmt.Errorf("malformed name constraints")
	}
	nc := &nameConstraints{}
	for i, dst := range []*[]generalName{&nc.permitted, &nc.excluded} {
		var subtrees cryptobyte.String
		var has bool
		if !seq.ReadOptionalASN1(&subtrees, &has, cbasn1.Tag(i).Constructed().ContextSpecific()) {
			return nil, fmt.Errorf("malformed name constraints")
		}
		for has && !subtrees.Empty() {
			var st cryptobyte.String
			var base cryptobyte.String
			var tag cbasn1.Tag
			if !subtrees.ReadASN1(&st, cbasn1.SEQUENCE) || !st.ReadAnyASN1Element(&base, &tag) {
				return nil, fmt.Errorf("malformed name constraints")
			}
			if !st.Empty() {
				// minimum must be 0 and maximum absent (RFC 5280).
				var min int64
				if !st.ReadOptionalASN1Integer(&min, cbasn1.Tag(0).ContextSpecific(), int64(0)) || min != 0 || !st.Empty() {
					return nil, fmt.Errorf("name constraints with minimum or maximum are not supported")
				}
			}
			gns, ok := parseGeneralNames(base)
			if !ok || len(gns) != 1 {
				return nil, fmt.Errorf("malformed name constraint base")
			}
			switch gns[0].form {
			case gnRFC822, gnDNS, gnDirectory, gnURI, gnIP:
			default:
				return nil, fmt.Errorf("name constraints of form %d are not supported", gns[0].form)
			}
			if gns[0].form == gnIP && len(gns[0].value) != 8 && len(gns[0].value) != 32 {
				return nil, fmt.Errorf("malformed iPAddress constraint")
			}
			*dst = append(*dst, gns[0])
		}
	}
	if !seq.Empty() || (len(nc.permitted) == 0 && len(nc.excluded) == 0) {
		return nil, fmt.Errorf("malformed name constraints")
	}
	return nc, nil
}

// constrainedName is a name of a certificate that name constraints apply
// to: a subject or subjectAltName entry, or a subject emailAddress.
type constrainedName struct {
	form  int
	text  string
	ip    []byte
	dn    dn
	label string
}

// permits applies the constraints of every certificate above (a name must
// fit one permitted subtree of its form in each certificate that has any,
// and no excluded subtree) and returns "" or why the name is refused.
func permits(all []*nameConstraints, n constrainedName) string {
	for _, nc := range all {
		for _, ex := range nc.excluded {
			if ex.form == n.form && nameMatches(ex, n) {
				return n.label + " is in an excluded subtree"
			}
		}
		any, ok := false, false
		for _, p := range nc.permitted {
			if p.form != n.form {
				continue
			}
			any = true
			if nameMatches(p, n) {
				ok = true
				break
			}
		}
		if any && !ok {
			return n.label + " is outside the permitted subtrees"
		}
	}
	return ""
}

func nameMatches(c generalName, n constrainedName) bool {
	switch n.form {
	case gnDirectory:
		return n.dn.within(c.dn)
	case gnDNS:
		return dnsWithin(n.text, string(c.value))
	case gnRFC822:
		return emailWithin(n.text, string(c.value))
	case gnURI:
		host, ok := uriHost(n.text)
		if !ok {
			return false
		}
		return hostWithin(host, string(c.value))
	case gnIP:
		half := len(c.value) / 2
		if len(n.ip) != half {
			return false
		}
		for i := range n.ip {
			if n.ip[i]&c.value[half+i] != c.value[i]&c.value[half+i] {
				return false
			}
		}
		return true
	}
	return false
}

// dnsWithin: a constraint matches the name itself and every subdomain.
func dnsWithin(name, c string) bool {
	name, c = strings.ToLower(strings.TrimSuffix(name, ".")), strings.ToLower(strings.TrimSuffix(c, "."))
	if c == "" {
		return true
	}
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(name, c)
	}
	return name == c || strings.HasSuffix(name, "."+c)
}

// hostWithin applies a URI constraint: a leading period names the
// subdomains, otherwise exactly that host.
func hostWithin(host, c string) bool {
	host, c = strings.ToLower(host), strings.ToLower(c)
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(host, c)
	}
	return host == c
}

// emailWithin applies an rfc822Name constraint: a mailbox, a host (every
// mailbox on it), or a domain with a leading period (its subdomains).
func emailWithin(addr, c string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	host := strings.ToLower(addr[at+1:])
	switch {
	case strings.Contains(c, "@"):
		ci := strings.LastIndexByte(c, '@')
		return addr[:at] == c[:ci] && strings.EqualFold(host, c[ci+1:])
	case strings.HasPrefix(c, "."):
		return strings.HasSuffix(host, strings.ToLower(c))
	}
	return host == strings.ToLower(c)
}

// certNames returns the names of a certificate that name constraints
// apply to.
func (pc *parsedCert) constrainedNames() []constrainedName {
	var out []constrainedName
	if len(pc.subject) > 0 {
		out = append(out, constrainedName{form: gnDirectory, dn: pc.subject, label: "subject"})
	}
	for _, gn := range pc.san {
		n := constrainedName{form: gn.form, label: "subjectAltName"}
		switch gn.form {
		case gnDirectory:
			n.dn = gn.dn
		case gnIP:
			n.ip = bytes.Clone(gn.value)
		case gnRFC822, gnDNS, gnURI:
			n.text = string(gn.value)
		default:
			continue
		}
		out = append(out, n)
	}
	if !pc.hasSAN {
		for _, e := range pc.emails {
			out = append(out, constrainedName{form: gnRFC822, text: e, label: "subject emailAddress " + e})
		}
	}
	return out
}

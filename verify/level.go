package verify

import "github.com/roamsign/roamsign/internal/derset"

// derSet is a set of DER items (certificates, CRLs, OCSP responses),
// matched by content (a national CA's CRL of megabytes, carried by each
// signature's path, is not hashed at every lookup). A nil set holds
// nothing.
type derSet struct{ m derset.Map[struct{}] }

// add adds every item of each list.
func (s *derSet) add(lists ...[][]byte) {
	for _, l := range lists {
		for _, der := range l {
			s.m.Add(der, struct{}{})
		}
	}
}

// has reports whether der is in s.
func (s *derSet) has(der []byte) bool {
	if s == nil {
		return false
	}
	_, ok := s.m.Find(der)
	return ok
}

// len returns the number of items in s.
func (s *derSet) len() int {
	if s == nil {
		return 0
	}
	return s.m.Len()
}

// ltInfo is what the level rules read of a CMS signature.
type ltInfo struct {
	// base is the level the signed attributes give: LevelPKCS7, LevelCMS
	// or LevelBB.
	base Level
	// own is the DER of the certificates, CRLs and OCSP responses the
	// signature carries (its CMS and its timestamp token).
	own *derSet
	// token is the signature timestamp when it is valid.
	token *tokenResult
}

// newLTInfo records what the level rules need of r, a signature whose
// CMS carries own and whose valid signature timestamp is token (or nil).
func newLTInfo(r *Result, own *derSet, token *tokenResult) *ltInfo {
	l := &ltInfo{base: r.Level, own: own, token: token}
	if token != nil && token.own.len() > 0 {
		l.own = &derSet{}
		for _, s := range []*derSet{own, token.own} {
			if s != nil {
				for der := range s.m.All() {
					l.own.m.Add(der, struct{}{})
				}
			}
		}
	}
	return l
}

// reach returns the level that r reaches (ETSI EN 319 122-1 and EN 319
// 142-1) when tok is the valid timestamp that proves its time (nil: none)
// and dss holds the DER of a PDF's /DSS:
//
//   - B-B: the signed attributes make a baseline signature (base);
//   - B-T: and a valid timestamp proves the signature's time;
//   - B-LT: and the certificates and the deciding revocation evidence of
//     the signer's path and of that timestamp's authority's path are in
//     the signature or the /DSS.
//
// need lists the items of the /DSS that B-LT relies on; B-LTA further
// needs a document timestamp over a revision whose /DSS holds them.
func (l *ltInfo) reach(r *Result, tok *tokenResult, dss *derSet) (lvl Level, need [][]byte) {
	if l.base != LevelBB {
		return l.base, nil
	}
	if tok == nil || tok.verdict != Valid {
		return LevelBB, nil
	}
	if !l.material(r, dss, &need) || !l.material(tok.material, dss, &need) {
		return LevelBT, nil
	}
	return LevelBLT, need
}

// material reports whether the certificates below the anchor of path's
// validated chain and the revocation evidence that decided their status
// are all in the signature or in dss, and adds those of dss to need.
func (l *ltInfo) material(path *Result, dss *derSet, need *[][]byte) bool {
	if path == nil || path.Validation == nil || len(path.Validation.Certificates) < 2 {
		return false
	}
	if c := path.Check(CheckRevocation); c == nil || c.Verdict != Valid {
		return false
	}
	certs := path.Validation.Certificates
	items := append([][]byte(nil), certs[:len(certs)-1]...)
	for _, in := range path.Revocation {
		if len(in.evidence) == 0 {
			return false
		}
		items = append(items, in.evidence...)
	}
	for _, der := range items {
		switch {
		case l.own.has(der):
		case dss.has(der):
			*need = append(*need, der)
		default:
			return false
		}
	}
	return true
}

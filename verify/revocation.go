package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
)

// clockSkew is how far in the future (of the verifier's clock) a CRL or
// OCSP response may be issued and still be accepted.
const clockSkew = 5 * time.Minute

// maxSignerDepth bounds the recursion of CRL signer path validation.
const maxSignerDepth = 2

// revocationCtx carries what a revocation check needs.
type revocationCtx struct {
	now         time.Time // the verifier's clock: evidence from its future is refused
	at          time.Time // the validation time: path, validity and freshness
	timestamped bool      // at comes from a verified timestamp (a proof of existence)
	// timeUndecided: the signing time is not known, only bounded: the
	// signature carries a timestamp whose time could not be proven, or at
	// is a later proof of existence (a document timestamp). A certificate
	// out of its validity at at is then indeterminate
	// (out_of_bounds_no_poe), not invalid.
	timeUndecided bool
	ev            *evidence // local material
	anchor        *x509.Certificate
	depth         int
}

// fresh applies the freshness policy to evidence issued at thisUpdate and
// valid until nextUpdate; it returns "" or why the evidence is not usable
// for the validation time.
func (v *Verifier) fresh(rc revocationCtx, thisUpdate, nextUpdate time.Time) string {
	switch {
	case thisUpdate.After(rc.now.Add(clockSkew)):
		return "thisUpdate is in the future"
	case nextUpdate.IsZero():
		return "no nextUpdate"
	}
	if max := v.cfg.MaxRevocationFreshness; max > 0 {
		if rc.at.Sub(thisUpdate) > max {
			return fmt.Sprintf("issued %s, more than the maximum accepted revocation freshness (%s) before the validation time", thisUpdate.UTC().Format(time.RFC3339), max)
		}
	} else if !rc.at.Before(nextUpdate) {
		return fmt.Sprintf("expired at %s, before the validation time %s", nextUpdate.UTC().Format(time.RFC3339), rc.at.UTC().Format(time.RFC3339))
	}
	if g := v.cfg.RevocationGracePeriod; g > 0 && rc.timestamped && thisUpdate.Before(rc.at.Add(g)) {
		return fmt.Sprintf("issued before the end of the grace period after the signing time (%s)", rc.at.Add(g).UTC().Format(time.RFC3339))
	}
	return ""
}

// crlOutcome is the state of RFC 5280 section 6.3.3 for one certificate.
type crlOutcome struct {
	mask    uint16
	revoked *RevocationInfo
	used    []crlCand
	why     []string
}

// crlStatus decides the status of cert (issued by issuer) from CRLs:
// local material first, then what the distribution points give.
func (v *Verifier) crlStatus(ctx context.Context, cert, issuer *x509.Certificate, rc revocationCtx) RevocationInfo {
	ci := v.info(cert)
	info := RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevUnknown}
	pc := v.parsed(cert)
	cands, errs := v.crlCandidates(ctx, rc, cert)
	out := v.decideCRL(cert, issuer, cands, rc)
	out.why = append(errs, out.why...)
	if out.revoked == nil && out.mask != allReasons && !v.cfg.Offline {
		fetched, ferrs := v.fetchCRLs(ctx, rc, cert, issuer, pc, cands)
		if len(fetched) > 0 {
			again := v.decideCRL(cert, issuer, append(cands, fetched...), rc)
			again.why = append(append(out.why, ferrs...), again.why...)
			out = again
		} else {
			out.why = append(out.why, ferrs...)
		}
	}
	switch {
	case out.revoked != nil:
		return *out.revoked
	case out.mask == allReasons:
		info.Status = RevGood
		v.fillFrom(&info, out.used)
		return info
	}
	if len(out.why) == 0 {
		out.why = []string{"no CRL of the issuer is available"}
	}
	info.Detail = strings.Join(dedupe(out.why), "; ")
	return info
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// fillFrom records where the deciding CRL came from.
func (v *Verifier) fillFrom(info *RevocationInfo, used []crlCand) {
	if len(used) == 0 {
		return
	}
	last := used[len(used)-1]
	info.Source, info.Origin, info.URL = "crl", last.origin, last.url
	if last.crl.DeltaBase != nil {
		info.Source = "delta-crl"
	}
	tu := last.crl.ThisUpdate
	info.ProducedAt = &tu
	for _, u := range used {
		info.evidence = append(info.evidence, u.crl.Raw)
	}
}

func (v *Verifier) fetch(cert, issuer *x509.Certificate, u string, names []string, now time.Time) crlFetch {
	return crlFetch{fetcher: v.fetcher, cert: cert, issuer: issuer, url: u, names: names, now: now, maxAge: v.cfg.CRLMaxAge, maxSize: v.maxCRLSize}
}

// formatDN returns a directory name in the display form.
func formatDN(gn generalName) string { return roamsign.FormatDN(gn.value) }

// crlCandidates returns the local CRLs of every issuer that may have
// issued a CRL for cert: the certificate issuer and each cRLIssuer.
func (v *Verifier) crlCandidates(ctx context.Context, rc revocationCtx, cert *x509.Certificate) ([]crlCand, []string) {
	pc := v.parsed(cert)
	out, errs := v.crlsFor(ctx, rc.ev, cert.RawIssuer, pc.issuer)
	seen := map[string]bool{pc.issuerKey: true}
	for _, dp := range pc.dps {
		for _, gn := range dp.issuer {
			if gn.form != gnDirectory || seen[gn.dn.key()] {
				continue
			}
			seen[gn.dn.key()] = true
			more, e := v.crlsFor(ctx, rc.ev, gn.value, gn.dn)
			out, errs = append(out, more...), append(errs, e...)
		}
	}
	return out, errs
}

// fetchCRLs downloads the CRLs (and delta CRLs) that cert's distribution
// points name.
func (v *Verifier) fetchCRLs(ctx context.Context, rc revocationCtx, cert, issuer *x509.Certificate, pc *parsedCert, local []crlCand) ([]crlCand, []string) {
	var out []crlCand
	var why []string
	dpf, extended := v.fetcher.(DistributionPointFetcher)
	fetchDPs := func(dps []distPoint) {
		for _, dp := range dps {
			names := dp.names(pc.issuer)
			var strs []string
			var urls []string
			for _, gn := range names {
				switch gn.form {
				case gnURI:
					strs, urls = append(strs, string(gn.value)), append(urls, string(gn.value))
				case gnDirectory:
					strs = append(strs, formatDN(gn))
				}
			}
			if extended && len(urls) == 0 && len(strs) > 0 {
				der, err := dpf.FetchCRL(ctx, FetchRequest{Names: strs, Cert: cert, Issuer: issuer, MaxSize: v.maxCRLSize})
				if err != nil {
					why = append(why, fmt.Sprintf("%s: %v", strings.Join(strs, ", "), err))
					continue
				}
				c, err := parseCRL(der, v.maxCRLSize)
				if err != nil {
					why = append(why, fmt.Sprintf("%s: %v", strings.Join(strs, ", "), err))
					continue
				}
				out = append(out, crlCand{crl: c, origin: OriginFetched})
				continue
			}
			for _, u := range urls {
				c, err := v.cache.get(ctx, v.fetch(cert, issuer, u, strs, rc.now))
				if err != nil {
					why = append(why, fmt.Sprintf("%s: %v", u, err))
					continue
				}
				out = append(out, crlCand{crl: c, origin: OriginFetched, url: u})
			}
		}
	}
	fetchDPs(pc.dps)
	complete := len(out)
	fetchDPs(pc.freshest)
	// Delta CRLs that the complete CRLs advertise.
	if !v.cfg.IgnoreDeltaCRLs {
		seen := map[string]bool{}
		for _, c := range append(local, out[:complete]...) {
			for _, u := range c.crl.FreshestCRL {
				if seen[u] || c.crl.DeltaBase != nil {
					continue
				}
				seen[u] = true
				d, err := v.cache.get(ctx, v.fetch(cert, issuer, u, []string{u}, rc.now))
				if err != nil {
					why = append(why, fmt.Sprintf("%s: %v", u, err))
					continue
				}
				out = append(out, crlCand{crl: d, origin: OriginFetched, url: u})
			}
		}
	}
	for _, c := range out[:complete] {
		switch {
		case !v.issuerInScope(c.crl, pc):
			why = append(why, c.url+": CRL issuer name does not match the certificate issuer")
		case c.crl.DeltaBase != nil:
			why = append(why, c.url+": a delta CRL was served where a complete CRL was expected")
		}
	}
	if !pc.hasDPs && len(pc.freshest) == 0 {
		why = append(why, "certificate names no CRL distribution point")
	}
	return out, why
}

// issuerInScope reports whether c's issuer is the certificate issuer or
// one of its distribution points' cRLIssuers.
func (v *Verifier) issuerInScope(c *CRL, pc *parsedCert) bool {
	if c.issuerKey == pc.issuerKey {
		return true
	}
	for _, dp := range pc.dps {
		for _, gn := range dp.issuer {
			if gn.form == gnDirectory && gn.dn.key() == c.issuerKey {
				return true
			}
		}
	}
	return false
}

// scope is a distribution point as RFC 5280 section 6.3.3 processes it.
type scope struct {
	dp        distPoint
	crlIssuer dn     // the CRL issuer expected for this distribution point
	key       string // crlIssuer.key()
	names     []generalName
	fallback  bool // the default distribution point (the certificate issuer)
}

// scopes returns the distribution points of cert to process, then the
// default one.
func (v *Verifier) scopes(pc *parsedCert) []scope {
	var out []scope
	for _, dp := range pc.dps {
		s := scope{dp: dp, crlIssuer: pc.issuer}
		if len(dp.issuer) > 0 {
			s.crlIssuer = nil
			for _, gn := range dp.issuer {
				if gn.form == gnDirectory {
					s.crlIssuer = gn.dn
					break
				}
			}
			if s.crlIssuer == nil {
				continue // a cRLIssuer without a directory name cannot be matched
			}
		}
		s.names = dp.names(s.crlIssuer)
		s.key = s.crlIssuer.key()
		out = append(out, s)
	}
	return append(out, scope{
		crlIssuer: pc.issuer,
		key:       pc.issuerKey,
		names:     []generalName{{form: gnDirectory, dn: pc.issuer}},
		fallback:  true,
	})
}

// decideCRL runs RFC 5280 section 6.3.3 over the candidates.
func (v *Verifier) decideCRL(cert, issuer *x509.Certificate, cands []crlCand, rc revocationCtx) crlOutcome {
	pc := v.parsed(cert)
	var out crlOutcome
	signers := map[*CRL]*x509.Certificate{}
	for _, sc := range v.scopes(pc) {
		if sc.fallback && len(pc.dps) > 0 && out.mask == allReasons {
			break
		}
		for _, cand := range cands {
			if out.mask == allReasons || out.revoked != nil {
				return out
			}
			c := cand.crl
			if c.DeltaBase != nil || c.issuerKey != sc.key {
				continue
			}
			interim, why := v.crlApplies(c, sc, pc)
			if why != "" {
				out.why = append(out.why, cand.label()+": "+why)
				continue
			}
			if interim&^out.mask == 0 {
				continue // (d): nothing new
			}
			if why := v.crlTimeRules(c, cert, rc); why != "" {
				out.why = append(out.why, cand.label()+": "+why)
				continue
			}
			signer, why := v.crlSigner(c, cert, issuer, rc, signers)
			if why != "" {
				out.why = append(out.why, cand.label()+": "+why)
				continue
			}
			delta, why := v.deltaFor(c, cand, cands, pc, signer, rc)
			if why != "" {
				out.why = append(out.why, cand.label()+": "+why)
				continue
			}
			used := []crlCand{cand}
			if delta != nil {
				used = append(used, *delta)
			}
			if info, decided := v.lookupStatus(cert, pc, cand, delta, rc); decided {
				v.fillFrom(&info, used)
				if info.Status == RevRevoked {
					out.revoked = &info
					return out
				}
				if info.Status == RevUnknown {
					out.why = append(out.why, info.Detail)
					continue
				}
			}
			out.mask |= interim
			out.used = append(out.used, used...)
		}
	}
	return out
}

func (c crlCand) label() string {
	if c.url != "" {
		return c.url
	}
	return c.origin + " CRL"
}

// crlApplies checks the issuer and scope of a complete CRL for a
// distribution point (RFC 5280 section 6.3.3 (b), (c)) and returns the
// interim reasons mask.
func (v *Verifier) crlApplies(c *CRL, sc scope, pc *parsedCert) (uint16, string) {
	if c.Unusable != "" {
		return 0, c.Unusable
	}
	indirect := c.IDP != nil && c.IDP.Indirect
	if len(sc.dp.issuer) > 0 && !indirect {
		return 0, "the distribution point names a cRLIssuer but the CRL is not indirect"
	}
	if c.issuerKey != pc.issuerKey && !indirect {
		return 0, "CRL issuer is not the certificate issuer"
	}
	interim := allReasons
	if idp := c.IDP; idp != nil {
		if idp.hasName {
			names := idp.dp.names(c.issuerDN)
			want := sc.names
			if !sc.fallback && !sc.dp.hasName {
				want = sc.dp.issuer
			}
			if sc.fallback && len(pc.dps) > 0 {
				return 0, "CRL issuing distribution point does not match"
			}
			match := false
			for _, a := range names {
				for _, b := range want {
					if sameName(a, b) {
						match = true
					}
				}
			}
			if !match {
				return 0, "CRL issuing distribution point does not match the certificate's distribution point"
			}
		}
		switch {
		case idp.OnlyUser && pc.isCA:
			return 0, "CRL covers end-entity certificates only"
		case idp.OnlyCA && !pc.isCA:
			return 0, "CRL covers CA certificates only"
		case idp.OnlyAttr:
			return 0, "CRL covers attribute certificates only"
		}
		if idp.reasons != 0 {
			interim &= idp.reasons
		}
	}
	if sc.dp.reasons != 0 {
		interim &= sc.dp.reasons
	}
	return interim, ""
}

// crlTimeRules applies the freshness policy and the coverage of expired
// certificates to a CRL.
func (v *Verifier) crlTimeRules(c *CRL, cert *x509.Certificate, rc revocationCtx) string {
	if why := v.fresh(rc, c.ThisUpdate, c.NextUpdate); why != "" {
		return "CRL " + why
	}
	if cert.NotAfter.Before(c.ThisUpdate) && (c.ExpiredCertsOnCRL.IsZero() || cert.NotAfter.Before(c.ExpiredCertsOnCRL)) {
		return "certificate expired before the CRL was issued and may have been dropped from it"
	}
	return ""
}

// crlSigner finds and validates the certificate that signed c (RFC 5280
// section 6.3.3 (f), (g)): the certificate's issuer when its key signed
// the CRL, else a certificate of the CRL issuer with cRLSign whose own path
// leads to the same anchor and whose status is good.
func (v *Verifier) crlSigner(c *CRL, cert, issuer *x509.Certificate, rc revocationCtx, memo map[*CRL]*x509.Certificate) (*x509.Certificate, string) {
	if s, ok := memo[c]; ok {
		if s == nil {
			return nil, "no valid CRL signer"
		}
		return s, ""
	}
	ok := func(s *x509.Certificate) bool {
		return (s.KeyUsage == 0 || s.KeyUsage&x509.KeyUsageCRLSign != 0) &&
			keyIDMatch(c.AuthorityKeyID, s.SubjectKeyId) && v.crlSignedBy(c, s) == nil
	}
	if v.parsed(issuer).subjectKey == c.issuerKey && issuer.KeyUsage&x509.KeyUsageCRLSign != 0 &&
		keyIDMatch(c.AuthorityKeyID, issuer.SubjectKeyId) && v.crlSignedBy(c, issuer) == nil {
		memo[c] = issuer
		return issuer, ""
	}
	why := "CRL signature does not verify with the issuer's key and no other certificate of the CRL issuer with cRLSign validates"
	if rc.depth >= maxSignerDepth {
		memo[c] = nil
		return nil, why
	}
	var pool []*x509.Certificate
	if rc.ev != nil {
		pool = rc.ev.certs
	}
	if rc.anchor != nil && v.parsed(rc.anchor).subjectKey == c.issuerKey && ok(rc.anchor) {
		memo[c] = rc.anchor
		return rc.anchor, ""
	}
	for _, s := range pool {
		if v.parsed(s).subjectKey != c.issuerKey || !ok(s) {
			continue
		}
		if s == cert {
			// A CRL issuer's own certificate listed on the CRL it signs
			// (an indirect CRL covering its issuer): its path is the one
			// being validated.
			memo[c] = s
			return s, ""
		}
		b := newPathBuilder(v, pathInput{at: rc.at, timestamped: rc.timestamped, anchors: []*x509.Certificate{rc.anchor}, pool: pool})
		b.target = s
		for _, p := range b.paths(s) {
			if _, perr := b.validate(p); perr != nil {
				why = "CRL signer " + subjectOf(s) + ": " + perr.reason
				continue
			}
			sub := rc
			sub.depth++
			_, verdict, reason := v.chainRevocation(context.Background(), p, sub)
			if verdict != Valid {
				why = "CRL signer " + subjectOf(s) + ": " + reason
				continue
			}
			memo[c] = s
			return s, ""
		}
	}
	memo[c] = nil
	return nil, why
}

// deltaFor finds a delta CRL for the complete CRL base. A delta that the
// certificate or the CRL advertises must be found; others are used when
// present.
func (v *Verifier) deltaFor(base *CRL, baseCand crlCand, cands []crlCand, pc *parsedCert, signer *x509.Certificate, rc revocationCtx) (*crlCand, string) {
	if v.cfg.IgnoreDeltaCRLs {
		return nil, ""
	}
	advertised := len(base.FreshestCRL) > 0 || len(pc.freshest) > 0
	var why []string
	for i := range cands {
		d := cands[i].crl
		if d.DeltaBase == nil || d.issuerKey != base.issuerKey {
			continue
		}
		switch {
		case d.Unusable != "":
			why = append(why, d.Unusable)
		case base.Number == nil || d.Number == nil:
			why = append(why, "CRL numbers missing")
		case d.Number.Cmp(base.Number) <= 0:
			why = append(why, "delta CRL is not newer than the complete CRL")
		case d.DeltaBase.Cmp(base.Number) > 0:
			why = append(why, "delta CRL needs a newer complete CRL")
		case !sameIDP(base.IDP, d.IDP):
			why = append(why, "delta CRL has another scope")
		case !keyIDMatch(base.AuthorityKeyID, d.AuthorityKeyID) || v.crlSignedBy(d, signer) != nil:
			why = append(why, "delta CRL is not signed with the complete CRL's key")
		default:
			if w := v.fresh(rc, d.ThisUpdate, d.NextUpdate); w != "" {
				why = append(why, "delta CRL "+w)
				continue
			}
			return &cands[i], ""
		}
	}
	if advertised {
		if len(why) == 0 {
			why = []string{"none was obtained"}
		}
		return nil, "a delta CRL is advertised but none is usable (" + strings.Join(dedupe(why), "; ") + ")"
	}
	return nil, ""
}

func sameIDP(a, b *IssuingDP) bool {
	if a == nil || b == nil {
		return a == b
	}
	return string(a.raw) == string(b.raw)
}

// lookupStatus looks cert up in the delta CRL, then the complete CRL
// (RFC 5280 section 6.3.3 (i)).
func (v *Verifier) lookupStatus(cert *x509.Certificate, pc *parsedCert, base crlCand, delta *crlCand, rc revocationCtx) (RevocationInfo, bool) {
	ci := v.info(cert)
	info := RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevGood}
	key := icms.IntegerBytes(cert.SerialNumber)
	b, inBase := base.crl.lookupFor(pc.issuer, key)
	if delta != nil {
		if d, inDelta := delta.crl.lookupFor(pc.issuer, key); inDelta {
			if d.Reason == ReasonRemoveFromCRL {
				if inBase && b.Reason != ReasonCertificateHold {
					info.Status, info.Detail = RevUnknown, "delta CRL removes a revocation that is not a hold"
				}
				return info, true
			}
			return v.revokedInfo(info, d, rc), true
		}
	}
	if !inBase {
		return info, true
	}
	if b.Reason == ReasonRemoveFromCRL {
		info.Status, info.Detail = RevUnknown, "complete CRL lists the certificate as removeFromCRL"
		return info, true
	}
	return v.revokedInfo(info, b, rc), true
}

func (v *Verifier) revokedInfo(info RevocationInfo, rec RevokedEntry, rc revocationCtx) RevocationInfo {
	at := rec.RevokedAt
	if !rec.InvalidityDate.IsZero() && rec.InvalidityDate.Before(at) {
		at = rec.InvalidityDate
	}
	info.Status = RevRevoked
	info.Reason = ReasonName(rec.Reason)
	info.RevokedAt = &at
	info.AfterSigningTime = rc.timestamped && rc.at.Before(at)
	return info
}

package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	icms "github.com/roamsign/roamsign/internal/cms"
)

var oidFreshestCRLExt = oidFreshestCRL

// revocationCtx carries the times a revocation check needs.
type revocationCtx struct {
	now         time.Time // verification time: CRL freshness
	trusted     time.Time // trusted signing time
	timestamped bool      // trusted comes from a verified timestamp
}

// crlStatus decides the status of cert (issued by issuer) from its CRL
// distribution points. Every path that cannot decide returns RevUnknown.
func (v *Verifier) crlStatus(ctx context.Context, cert, issuer *x509.Certificate, rc revocationCtx) RevocationInfo {
	ci := v.info(cert)
	info := RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevUnknown}
	if len(cert.CRLDistributionPoints) == 0 {
		info.Detail = "certificate names no CRL distribution point"
		return info
	}
	isCA := cert.IsCA
	var details []string
	for _, u := range cert.CRLDistributionPoints {
		c, err := v.cache.get(ctx, v.fetch(issuer, u, rc.now))
		if err != nil {
			details = append(details, fmt.Sprintf("%s: %v", u, err))
			continue
		}
		if why := usable(c, u, isCA, rc.now); why != "" {
			details = append(details, fmt.Sprintf("%s: %s", u, why))
			continue
		}
		if cert.NotAfter.Before(c.ThisUpdate) && (c.ExpiredCertsOnCRL.IsZero() || cert.NotAfter.Before(c.ExpiredCertsOnCRL)) {
			details = append(details, fmt.Sprintf("%s: certificate expired before the CRL was issued and may have been dropped from it", u))
			continue
		}
		// Delta CRLs advertised by the certificate or the CRL.
		var delta *CRL
		var deltaURL string
		deltaURLs := append(slices.Clone(c.FreshestCRL), certFreshest(cert)...)
		if len(deltaURLs) > 0 && !v.cfg.IgnoreDeltaCRLs {
			var why []string
			for _, du := range deltaURLs {
				d, err := v.cache.get(ctx, v.fetch(issuer, du, rc.now))
				if err != nil {
					why = append(why, fmt.Sprintf("%s: %v", du, err))
					continue
				}
				if w := deltaUsable(d, c, du, isCA, rc.now); w != "" {
					why = append(why, fmt.Sprintf("%s: %s", du, w))
					continue
				}
				delta, deltaURL = d, du
				break
			}
			if delta == nil {
				details = append(details, fmt.Sprintf("%s: a delta CRL is advertised but none is usable (%v)", u, why))
				continue
			}
		}
		key := icms.IntegerBytes(cert.SerialNumber)
		base, inBase := c.lookupKey(key)
		info.URL, info.Source = u, "crl"
		tu := c.ThisUpdate
		info.ProducedAt = &tu
		var rec RevokedEntry
		revoked := false
		if delta != nil {
			if d, inDelta := delta.lookupKey(key); inDelta {
				info.URL, info.Source = deltaURL, "delta-crl"
				dtu := delta.ThisUpdate
				info.ProducedAt = &dtu
				if d.Reason == ReasonRemoveFromCRL {
					if inBase && base.Reason != ReasonCertificateHold {
						info.Detail = "delta CRL removes a revocation that is not a hold"
						return info
					}
					info.Status = RevGood
					return info
				}
				rec, revoked = d, true
			}
		}
		if !revoked && inBase {
			if base.Reason == ReasonRemoveFromCRL {
				info.Detail = "complete CRL lists the certificate as removeFromCRL"
				return info
			}
			rec, revoked = base, true
		}
		if !revoked {
			info.Status = RevGood
			return info
		}
		at := rec.RevokedAt
		if !rec.InvalidityDate.IsZero() && rec.InvalidityDate.Before(at) {
			at = rec.InvalidityDate
		}
		info.Status = RevRevoked
		info.Reason = ReasonName(rec.Reason)
		info.RevokedAt = &at
		info.AfterSigningTime = rc.timestamped && rc.trusted.Before(at)
		return info
	}
	info.Detail = fmt.Sprint(details)
	return info
}

func (v *Verifier) fetch(issuer *x509.Certificate, u string, now time.Time) crlFetch {
	return crlFetch{fetcher: v.fetcher, issuer: issuer, url: u, now: now, maxAge: v.cfg.CRLMaxAge, maxSize: v.maxCRLSize}
}

// usable applies the time and scope rules to a complete CRL fetched from u.
func usable(c *CRL, u string, isCA bool, now time.Time) string {
	switch {
	case c.Unusable != "":
		return c.Unusable
	case c.DeltaBase != nil:
		return "a delta CRL was served where a complete CRL was expected"
	case c.NextUpdate.IsZero():
		return "CRL has no nextUpdate"
	case now.Before(c.ThisUpdate):
		return "CRL thisUpdate is in the future"
	case !now.Before(c.NextUpdate):
		return fmt.Sprintf("CRL expired at %s", c.NextUpdate.Format(time.RFC3339))
	}
	if idp := c.IDP; idp != nil {
		switch {
		case idp.OnlySomeReason, idp.Indirect, idp.OnlyAttr:
			return "CRL scope (partial reasons, indirect or attribute certificates) is not supported"
		case idp.OnlyUser && isCA:
			return "CRL covers end-entity certificates only"
		case idp.OnlyCA && !isCA:
			return "CRL covers CA certificates only"
		case len(idp.URIs) > 0 && !slices.Contains(idp.URIs, u):
			return "CRL issuing distribution point does not match the URL"
		}
	}
	return ""
}

// deltaUsable applies RFC 5280 §5.2.4 to a delta CRL for the complete CRL base.
func deltaUsable(d, base *CRL, u string, isCA bool, now time.Time) string {
	if d.DeltaBase == nil {
		return "not a delta CRL"
	}
	if base.Number == nil || d.Number == nil {
		return "CRL numbers missing"
	}
	if d.Number.Cmp(base.Number) <= 0 {
		return "delta CRL is not newer than the complete CRL"
	}
	if d.DeltaBase.Cmp(base.Number) > 0 {
		return "delta CRL needs a newer complete CRL"
	}
	dd := *d
	dd.DeltaBase = nil
	return usable(&dd, u, isCA, now)
}

// certFreshest returns the delta CRL URLs of a certificate's freshestCRL
// extension.
func certFreshest(c *x509.Certificate) []string {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidFreshestCRLExt) {
			uris, err := distributionPointURIs(e.Value)
			if err != nil {
				return []string{"invalid:freshestCRL"}
			}
			return uris
		}
	}
	return nil
}

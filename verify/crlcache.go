package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"golang.org/x/sync/singleflight"
)

// CRLCache holds downloaded, signature-checked CRLs per issuer and URL until
// their nextUpdate (or a maximum age). It is safe for concurrent use and may
// be shared by many verifiers; concurrent requests for the same CRL share
// one download.
type CRLCache struct {
	mu  sync.Mutex
	m   map[cacheKey]cachedCRL
	ids map[*x509.Certificate]string // memo of issuerID
	sf  singleflight.Group

	// joinHook, when set (by tests), is called by every caller that missed
	// the cache and joins (or starts) the download of url.
	joinHook func(url string)
}

type cacheKey struct{ issuer, url string }

type cachedCRL struct {
	crl       *CRL
	fetchedAt time.Time
}

// NewCRLCache returns an empty cache.
func NewCRLCache() *CRLCache {
	return &CRLCache{m: map[cacheKey]cachedCRL{}, ids: map[*x509.Certificate]string{}}
}

// key returns the cache key of issuer and URL.
func (cc *CRLCache) key(issuer *x509.Certificate, url string) cacheKey {
	cc.mu.Lock()
	id, ok := cc.ids[issuer]
	cc.mu.Unlock()
	if !ok {
		id = issuerID(issuer)
		cc.mu.Lock()
		if len(cc.ids) >= maxCacheEntries {
			cc.ids = map[*x509.Certificate]string{}
		}
		cc.ids[issuer] = id
		cc.mu.Unlock()
	}
	return cacheKey{id, url}
}

// maxCacheEntries bounds the cache; when full it is emptied.
const maxCacheEntries = 4096

func issuerID(c *x509.Certificate) string {
	h := sha256.New()
	h.Write(c.RawSubject)
	h.Write(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h.Sum(nil))
}

// crlFetch describes one CRL to obtain.
type crlFetch struct {
	fetcher Fetcher
	cert    *x509.Certificate
	issuer  *x509.Certificate
	names   []string
	url     string
	now     time.Time
	maxAge  time.Duration
	maxSize int64
}

func (f crlFetch) fresh(e cachedCRL) bool {
	c := e.crl
	if c.NextUpdate.IsZero() || !f.now.Before(c.NextUpdate) || f.now.Before(c.ThisUpdate) {
		return false
	}
	return f.maxAge <= 0 || f.now.Sub(e.fetchedAt) < f.maxAge
}

func (cc *CRLCache) lookup(key cacheKey, f crlFetch) (*CRL, bool) {
	cc.mu.Lock()
	e, ok := cc.m[key]
	cc.mu.Unlock()
	if ok && f.fresh(e) {
		return e.crl, true
	}
	return nil, false
}

// get returns the CRL of a URL. A CRL whose signature, issuer name and key
// usage check out against the certificate's issuer is cached (a newer CRL
// number replaces an older, never the reverse); one signed by another key
// is returned uncached for the caller to judge. Freshness and scope are
// checked by the caller.
func (cc *CRLCache) get(ctx context.Context, f crlFetch) (*CRL, error) {
	key := cc.key(f.issuer, f.url)
	if c, ok := cc.lookup(key, f); ok {
		return c, nil
	}
	if cc.joinHook != nil {
		cc.joinHook(f.url)
	}
	ch := cc.sf.DoChan(key.issuer+"|"+key.url, func() (any, error) {
		if c, ok := cc.lookup(key, f); ok {
			return c, nil
		}
		// The download is shared: it must not die with the first caller.
		fctx := context.WithoutCancel(ctx)
		var der []byte
		var err error
		if dpf, ok := f.fetcher.(DistributionPointFetcher); ok {
			der, err = dpf.FetchCRL(fctx, FetchRequest{URL: f.url, Names: f.names, Cert: f.cert, Issuer: f.issuer, MaxSize: f.maxSize})
		} else {
			der, err = f.fetcher.Fetch(fctx, f.url, f.maxSize)
		}
		if err != nil {
			return nil, err
		}
		c, err := parseCRL(der, f.maxSize)
		if err != nil {
			return nil, err
		}
		if checkCRLIssuer(c, f.issuer) != nil {
			return c, nil // judged by the caller, not cached
		}
		cc.mu.Lock()
		defer cc.mu.Unlock()
		// CRL numbers only grow: an older list (a replay) never replaces a
		// newer one seen from the same issuer and URL.
		if old, ok := cc.m[key]; ok && old.crl.Number != nil && (c.Number == nil || c.Number.Cmp(old.crl.Number) < 0) {
			return nil, roamsign.E(roamsign.ErrInvalidInput, "verify.CRLCache", "CRL number went backwards (%v after %v)", c.Number, old.crl.Number)
		}
		if len(cc.m) >= maxCacheEntries {
			cc.m = map[cacheKey]cachedCRL{}
		}
		cc.m[key] = cachedCRL{crl: c, fetchedAt: f.now}
		return c, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*CRL), nil
	case <-ctx.Done():
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, "verify.CRLCache", ctx.Err(), "waiting for CRL")
	}
}

// checkCRLIssuer applies the time-independent acceptance rules: the issuer
// name matches, the issuer may sign CRLs, the key identifiers agree and the
// signature verifies.
func checkCRLIssuer(c *CRL, issuer *x509.Certificate) error {
	const op = "verify.checkCRLIssuer"
	if !bytes.Equal(c.RawIssuer, issuer.RawSubject) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "CRL issuer name does not match the certificate issuer")
	}
	if issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "CRL issuer lacks the cRLSign key usage")
	}
	if len(c.AuthorityKeyID) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyID, issuer.SubjectKeyId) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "CRL authority key identifier does not match the issuer")
	}
	return c.CheckSignatureFrom(issuer)
}

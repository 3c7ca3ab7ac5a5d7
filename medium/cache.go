package medium

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/roamsign/roamsign"
)

// CacheConfig configures a [Cache].
type CacheConfig struct {
	// TTL is how long an answer is kept (default 5 minutes).
	TTL time.Duration
	// NegativeTTL is how long "unknown user" is kept; 0 turns negative
	// caching off, so a newly enrolled user is found at once. Keep it short.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache (default 10000); when full, expired
	// entries are dropped, then the whole cache if still full.
	MaxEntries int
	// LookupTimeout bounds a shared lookup (default 10s). A lookup runs
	// once for all concurrent callers of the same user and host, detached
	// from any single caller's cancellation; each caller still stops
	// waiting when its own context ends.
	LookupTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Cache wraps a Resolver with a TTL cache and single-flight lookups.
// "Directory unavailable" and other errors are never cached.
type Cache struct {
	next Resolver
	cfg  CacheConfig
	g    singleflight.Group

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	a       *Answer
	err     error
	expires time.Time
}

var _ Resolver = (*Cache)(nil)

// NewCache returns a caching resolver in front of next.
func NewCache(next Resolver, cfg CacheConfig) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Minute
	}
	if cfg.NegativeTTL < 0 {
		cfg.NegativeTTL = 0
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{next: next, cfg: cfg, entries: map[string]cacheEntry{}}
}

// Resolve implements Resolver.
func (c *Cache) Resolve(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*Answer, error) {
	const op = "medium.Cache.Resolve"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	key := string(user) + "\x00" + string(host)
	if e, ok := c.fresh(key); ok {
		return e.a.clone(), e.err
	}
	ch := c.g.DoChan(key, func() (any, error) {
		// A flight that finished between the check above and this one
		// has already stored its answer: use it rather than asking the
		// directory a second time.
		if e, ok := c.fresh(key); ok {
			return e.a, e.err
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LookupTimeout)
		defer cancel()
		a, err := c.next.Resolve(lctx, user, host)
		switch {
		case err == nil:
			c.put(key, cacheEntry{a: a.clone(), expires: c.cfg.Now().Add(c.cfg.TTL)})
		case c.cfg.NegativeTTL > 0 && errors.Is(err, roamsign.ErrNotFound):
			c.put(key, cacheEntry{err: err, expires: c.cfg.Now().Add(c.cfg.NegativeTTL)})
		}
		return a, err
	})
	select {
	case <-ctx.Done():
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "directory lookup cancelled")
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Answer).clone(), nil
	}
}

// Forget drops the cached answers for user (all hosts), for example after
// an enrolment change.
func (c *Cache) Forget(user roamsign.UserID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := string(user) + "\x00"
	for k := range c.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(c.entries, k)
		}
	}
}

// fresh returns the entry for key if it has not expired.
func (c *Cache) fresh(key string) (cacheEntry, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	return e, ok && c.cfg.Now().Before(e.expires)
}

func (c *Cache) put(key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.cfg.MaxEntries {
		now := c.cfg.Now()
		for k, v := range c.entries {
			if !now.Before(v.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.cfg.MaxEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = e
}

package csc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// grant is a credential authorisation: what a SAD or a credential access
// token stands for. It is the server-side record of one approved
// roamsign transaction: the signer approved exactly these hashes with PIN
// and an OTP bound to them, through the service's Sign (the one signature
// activation), which signed each hash once and recorded the audit entry.
// The grant releases each signature at most once, to the caller that
// authorised it, for the credential it was issued for, until it expires.
type grant struct {
	mu           sync.Mutex
	token        bool // a credential access token (oauth2code), not a SAD
	credentialID string
	user         roamsign.UserID
	host         roamsign.HostID
	client       string
	hashes       []roamsign.Hash // in the transaction's order
	released     []bool
	left         int
	txID         string
	scheme       scheme    // how the transaction signed
	keyScheme    scheme    // what the key can do
	deadline     time.Time // extendTransaction never goes past it
	handle       string    // the current SAD or token
	code         string    // the authorization code it came from (tokens)
}

// owns reports whether c authorised g.
func (g *grant) owns(c *caller) bool { return g.host == c.host && g.client == c.client }

// errNotAuthorised is signHash's answer to a hash outside the grant (or
// already released).
func errNotAuthorised() *Error { return badRequest("Hash is not authorized by the SAD") }

// reserve marks one unreleased occurrence of each of hashes as released
// and returns their indexes; if any hash has no unreleased occurrence left
// it marks nothing.
func (g *grant) reserve(hashes []roamsign.Hash) ([]int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	idx := make([]int, len(hashes))
	taken := make(map[int]bool, len(hashes))
	for i, h := range hashes {
		found := -1
		for j, b := range g.hashes {
			if !g.released[j] && !taken[j] && b.Algorithm == h.Algorithm && bytes.Equal(b.Value, h.Value) {
				found = j
				break
			}
		}
		if found < 0 {
			return nil, errNotAuthorised()
		}
		taken[found] = true
		idx[i] = found
	}
	for _, j := range idx {
		g.released[j] = true
	}
	g.left -= len(idx)
	return idx, nil
}

// unreserve undoes reserve when the signatures could not be delivered.
func (g *grant) unreserve(idx []int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, j := range idx {
		g.released[j] = false
	}
	g.left += len(idx)
}

// covers reports whether every one of hashes has an unreleased occurrence.
func (g *grant) covers(hashes []roamsign.Hash) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	taken := map[int]bool{}
	for _, h := range hashes {
		ok := false
		for j, b := range g.hashes {
			if !g.released[j] && !taken[j] && b.Algorithm == h.Algorithm && bytes.Equal(b.Value, h.Value) {
				taken[j], ok = true, true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (g *grant) remaining() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.left
}

// newGrant records a signed transaction as a grant under a new handle.
func (s *server) newGrant(g *grant) (handle string, expires time.Time, err error) {
	handle, err = newHandle()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.opts.Now()
	g.released = make([]bool, len(g.hashes))
	g.left = len(g.hashes)
	g.deadline = now.Add(s.opts.TransactionLifetime)
	g.handle = handle
	expires = now.Add(s.opts.SADLifetime)
	if err := s.sads.put(handle, g, expires); err != nil {
		return "", time.Time{}, err
	}
	return handle, expires, nil
}

// grantFor finds the grant a signing call names: the SAD parameter (a SAD
// or a credential access token, as the specification allows), else the
// caller's credential access token.
func (s *server) grantFor(c *caller, sad, credentialID string) (*grant, error) {
	var g *grant
	switch {
	case sad != "":
		v, live, found := s.sads.lookup(sad)
		if !found || !v.owns(c) {
			return nil, badRequest("Invalid parameter SAD")
		}
		if !live {
			return nil, badRequest("SAD expired")
		}
		g = v
	case c.grant != nil:
		g = c.grant
	default:
		return nil, badRequest("Missing (or invalid type) string parameter SAD")
	}
	if g.credentialID != credentialID {
		return nil, badRequest("Invalid parameter credentialID: the SAD was issued for another credential")
	}
	return g, nil
}

// release hands out the signatures of hashes from g: each once. The
// signatures come from the service's transaction record (Status).
func (s *server) release(ctx context.Context, g *grant, hashes []roamsign.Hash) ([][]byte, error) {
	idx, err := g.reserve(hashes)
	if err != nil {
		return nil, err
	}
	st, err := s.api.Status(roamsign.WithHost(ctx, g.host), roamsign.StatusRequest{TransactionID: g.txID})
	sigs := make([][]byte, len(idx))
	if err == nil {
		for i, j := range idx {
			if j >= len(st.Items) || st.Items[j].Status != roamsign.ItemSigned {
				err = roamsign.E(roamsign.ErrInternal, "csc.release", "transaction item %d is not signed", j)
				break
			}
			sigs[i] = st.Items[j].Signature
		}
	}
	if err != nil {
		g.unreserve(idx)
		return nil, err
	}
	if g.remaining() == 0 {
		s.sads.drop(g.handle) // every authorised signature was created
	}
	return sigs, nil
}

// multisetKey names a multiset of hashes independently of order.
func multisetKey(hashes []roamsign.Hash) [32]byte {
	sorted := append([]roamsign.Hash(nil), hashes...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Algorithm != sorted[j].Algorithm {
			return sorted[i].Algorithm < sorted[j].Algorithm
		}
		return bytes.Compare(sorted[i].Value, sorted[j].Value) < 0
	})
	return roamsign.HashListDigest(sorted)
}

// pendingKey names the challenge a caller asked for a credential and a
// multiset of hashes.
func pendingKey(c *caller, credentialID string, hashes []roamsign.Hash) string {
	k := multisetKey(hashes)
	h := sha256.New()
	for _, p := range []string{string(c.host), c.client, credentialID, string(k[:])} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}

// errSADExpired is the answer once a grant is past its life.
var errSADExpired = cscErr(http.StatusBadRequest, ErrCodeInvalidRequest, "SAD expired")

package csc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sort"
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
}

// owns reports whether c authorised g.
func (g *grant) owns(c *caller) bool { return g.host == c.host && g.client == c.client }

// errNotAuthorised is signHash's answer to a hash outside the grant (or
// already released).
func errNotAuthorised() *Error { return badRequest("Hash is not authorized by the SAD") }

// reserve marks one unreleased occurrence of each of hashes as released
// and returns their indexes; if any hash has no unreleased occurrence left
// it marks nothing. The caller runs it inside the state store's atomic
// update of the grant.
func (g *grant) reserve(hashes []roamsign.Hash) ([]int, error) {
	idx := make([]int, len(hashes))
	taken := make(map[int]bool, len(hashes))
	for i, h := range hashes {
		found := g.unreleased(h, taken)
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

// covers reports whether every one of hashes has an unreleased occurrence.
func (g *grant) covers(hashes []roamsign.Hash) bool {
	taken := map[int]bool{}
	for _, h := range hashes {
		j := g.unreleased(h, taken)
		if j < 0 {
			return false
		}
		taken[j] = true
	}
	return true
}

// unreleased returns the index of an occurrence of h that is neither
// released nor in taken, or -1.
func (g *grant) unreleased(h roamsign.Hash, taken map[int]bool) int {
	for j, b := range g.hashes {
		if !g.released[j] && !taken[j] && b.Algorithm == h.Algorithm && bytes.Equal(b.Value, h.Value) {
			return j
		}
	}
	return -1
}

func (g *grant) remaining() int { return g.left }

// newGrant records a signed transaction as a grant under a new handle.
func (s *server) newGrant(ctx context.Context, g *grant) (handle string, expires time.Time, err error) {
	handle, err = newHandle()
	if err != nil {
		return "", time.Time{}, err
	}
	expires, err = s.putGrant(ctx, handle, g)
	return handle, expires, err
}

// putGrant records a signed transaction as a grant under handle.
func (s *server) putGrant(ctx context.Context, handle string, g *grant) (expires time.Time, err error) {
	now := s.opts.Now()
	g.released = make([]bool, len(g.hashes))
	g.left = len(g.hashes)
	g.deadline = now.Add(s.opts.TransactionLifetime)
	expires = now.Add(s.opts.SADLifetime)
	if err := s.sads.put(ctx, handle, g, expires); err != nil {
		return time.Time{}, err
	}
	return expires, nil
}

// grantFor finds the grant a signing call names: the SAD parameter (a SAD
// or a credential access token, as the specification allows), else the
// caller's credential access token. It returns the grant's handle too.
func (s *server) grantFor(ctx context.Context, c *caller, sad, credentialID string) (*grant, string, error) {
	var (
		g      *grant
		handle string
	)
	switch {
	case sad != "":
		v, live, expired := s.sads.lookup(ctx, sad)
		if expired {
			return nil, "", badRequest("SAD expired")
		}
		if !live || !v.owns(c) {
			return nil, "", badRequest("Invalid parameter SAD")
		}
		g, handle = v, sad
	case c.grant != nil:
		g, handle = c.grant, c.token
	default:
		return nil, "", badRequest("Missing (or invalid type) string parameter SAD")
	}
	if g.credentialID != credentialID {
		return nil, "", badRequest("Invalid parameter credentialID: the SAD was issued for another credential")
	}
	return g, handle, nil
}

// release hands out the signatures of hashes from the grant under handle:
// each once, across replicas (one atomic update of the grant's record
// reserves them; the record goes once every signature is out). The
// signatures come from the service's transaction record (Status), read
// first, so a failure reserves nothing.
func (s *server) release(ctx context.Context, g *grant, handle string, hashes []roamsign.Hash) ([][]byte, error) {
	st, err := s.api.Status(roamsign.WithHost(ctx, g.host), roamsign.StatusRequest{TransactionID: g.txID})
	if err != nil {
		return nil, err
	}
	var idx []int
	err = s.sads.update(ctx, handle, func(cur *grant) (bool, error) {
		if cur.txID != g.txID {
			return false, errNotAuthorised()
		}
		var rerr error
		idx, rerr = cur.reserve(hashes)
		return rerr == nil && cur.remaining() == 0, rerr
	})
	switch {
	case errors.Is(err, roamsign.ErrNotFound):
		return nil, errNotAuthorised() // spent, extended or revoked meanwhile
	case errors.Is(err, roamsign.ErrExpired):
		return nil, errSADExpired
	case err != nil:
		return nil, err
	}
	sigs := make([][]byte, len(idx))
	for i, j := range idx {
		if j >= len(st.Items) || st.Items[j].Status != roamsign.ItemSigned {
			return nil, roamsign.E(roamsign.ErrInternal, "csc.release", "transaction item %d is not signed", j)
		}
		sigs[i] = st.Items[j].Signature
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

package tsa_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/tsa"
)

// TestRootsRemembersOnlyTheSamePathInItsValidity: a path Roots validated
// is answered from memory only for the same certificates at a time inside
// every certificate's validity; another leaf, or a time outside, is
// checked again and refused.
func TestRootsRemembersOnlyTheSamePathInItsValidity(t *testing.T) {
	p := newPKI(t)
	ctx := context.Background()
	check := p.checker()
	leaf, inter := p.tsa.Cert, []*x509.Certificate{p.inter.Cert}
	at := time.Now()
	require.NoError(t, check.CheckTSAChain(ctx, tsa.ChainRequest{Leaf: leaf, Intermediates: inter, At: at}))
	require.NoError(t, check.CheckTSAChain(ctx, tsa.ChainRequest{Leaf: leaf, Intermediates: inter, At: at.Add(time.Minute)}), "the same path later, still valid")

	for name, when := range map[string]time.Time{
		"after the leaf expired":   leaf.NotAfter.Add(time.Second),
		"before the leaf is valid": leaf.NotBefore.Add(-time.Second),
	} {
		require.Error(t, check.CheckTSAChain(ctx, tsa.ChainRequest{Leaf: leaf, Intermediates: inter, At: when}), name)
	}

	// A TSA of another root, offered with the intermediate of the
	// remembered path: not the same request, so validated, and refused.
	other, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	stranger, err := other.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	require.Error(t, check.CheckTSAChain(ctx, tsa.ChainRequest{Leaf: stranger.Cert, Intermediates: inter, At: at}))
	// The remembered path without its intermediate does not chain.
	require.Error(t, check.CheckTSAChain(ctx, tsa.ChainRequest{Leaf: leaf, At: at}))
}

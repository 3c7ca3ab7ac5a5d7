package ltv_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// TestValidatorRemembersOnlyTheSamePathInItsWindow: a path found valid
// is answered again for the same request at a later time within its
// certificates' validity and its CRLs' nextUpdate; another leaf with the
// same intermediates, or a time outside the window (before the time
// validated, after a certificate's expiry) is validated anew, and refused.
func TestValidatorRemembersOnlyTheSamePathInItsWindow(t *testing.T) {
	f := ltvtest.New(t)
	ctx := context.Background()
	now := time.Now()
	v, err := ltv.New(verify.Config{Anchors: f.Anchors(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	leaf, inter := f.Chain[0], f.Chain[1:]
	req := pdf.ChainRequest{Role: pdf.SignerChain, Leaf: leaf, Intermediates: inter, At: now.Add(-time.Minute), Timestamped: true}
	first, err := v.ValidateChain(ctx, req)
	require.NoError(t, err)
	require.NotEmpty(t, first.CRLs)

	req.At = now
	again, err := v.ValidateChain(ctx, req)
	require.NoError(t, err, "the same path a minute later")
	require.Equal(t, first, again)

	for name, at := range map[string]time.Time{
		"before the leaf was valid": leaf.NotBefore.Add(-time.Second),
		"after the leaf expired":    leaf.NotAfter.Add(time.Second),
	} {
		req.At = at
		_, err := v.ValidateChain(ctx, req)
		require.Error(t, err, name)
	}

	// A signer of another root, offered with the same intermediates.
	other, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	stranger, err := other.IssueLeaf("AHMAD BIN ALI", "800101145678", leaf.PublicKey, testpki.LeafOptions{})
	require.NoError(t, err)
	_, err = v.ValidateChain(ctx, pdf.ChainRequest{Role: pdf.SignerChain, Leaf: stranger, Intermediates: inter, At: now, Timestamped: true})
	require.Error(t, err)
}

// TestValidatorZeroTimeIsNow: a request without a validation time is
// validated at the clock's time each time, never answered from the memo:
// a leaf that expired a minute ago is refused although the same request
// was valid two minutes before, within the memo's five minutes.
func TestValidatorZeroTimeIsNow(t *testing.T) {
	ctx := context.Background()
	v, req, now := expiringInAMinute(t)
	_, err := v.ValidateChain(ctx, req)
	require.NoError(t, err, "valid now")
	*now = now.Add(2 * time.Minute)
	_, err = v.ValidateChain(ctx, req)
	require.Error(t, err, "expired a minute ago")
}

// TestValidatorMemoEndsAtExpiry: a remembered path is not answered for a
// time after one of its certificates expired, although the memo's five
// minutes and the CRLs' nextUpdate have not passed.
func TestValidatorMemoEndsAtExpiry(t *testing.T) {
	ctx := context.Background()
	v, req, now := expiringInAMinute(t)
	req.At = *now
	_, err := v.ValidateChain(ctx, req)
	require.NoError(t, err, "valid now")
	*now = now.Add(2 * time.Minute)
	req.At = *now
	_, err = v.ValidateChain(ctx, req)
	require.Error(t, err, "expired a minute ago")
}

// expiringInAMinute returns a validator whose clock is *now, and a
// request for the fixture's signer's key in a leaf that expires a minute
// after *now, without a validation time.
func expiringInAMinute(t *testing.T) (*ltv.Validator, pdf.ChainRequest, *time.Time) {
	t.Helper()
	f := ltvtest.New(t)
	now := time.Now().Truncate(time.Second)
	v, err := ltv.New(verify.Config{Anchors: f.Anchors(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	leaf, err := f.CA.IssueLeaf("AHMAD BIN ALI", "800101145678", f.Chain[0].PublicKey, testpki.LeafOptions{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Minute)})
	require.NoError(t, err)
	return v, pdf.ChainRequest{Role: pdf.SignerChain, Leaf: leaf, Intermediates: f.Chain[1:]}, &now
}

package apitest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// testParallelSameOTP: of 100 concurrent correct submissions of one
// approval exactly one signs; the others are told it was used.
func testParallelSameOTP(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 2)
	const n = 100
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   []*roamsign.SignResponse
		errs = map[string]int{}
	)
	for range n {
		wg.Go(func() {
			res, err := s.API(HostA).Sign(ctx, a.req(PIN))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok = append(ok, res)
				return
			}
			errs[roamsign.KindOf(err).Code()]++
		})
	}
	wg.Wait()
	require.Len(t, ok, 1, "parallel Sign calls that succeeded, want exactly 1 (errors %v)", errs)
	require.Equal(t, map[string]int{roamsign.ErrUsed.Code(): n - 1}, errs, "failure kinds")
	s.checkSigs(t, roamsign.FormRaw, a.user.Chain, a.hashes, ok[0])
}

// testParallelWrongPINs: concurrent wrong PINs on separate challenges are
// counted exactly: no more are tried than the limit allows.
func testParallelWrongPINs(t *testing.T, s *suite) {
	ctx := context.Background()
	u := s.Enrol(t, HostA)
	hs := Hashes(1)
	const n = 10
	s.secrets.add("Wr0ng-PIN-p")
	reqs := make([]roamsign.SignRequest, n)
	for i := range reqs {
		ch, otp := s.Challenge(t, HostA, u.ID, hs)
		s.secrets.add(otp)
		reqs[i] = signReq(ch, otp, "Wr0ng-PIN-p", hs)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() { _, errs[i] = s.API(HostA).Sign(ctx, reqs[i]) })
	}
	wg.Wait()
	count := map[string]int{}
	for _, err := range errs {
		count[roamsign.KindOf(err).Code()]++
	}
	want := map[string]int{roamsign.ErrAuthorization.Code(): s.MaxPINFailures - 1, roamsign.ErrLocked.Code(): n - s.MaxPINFailures + 1}
	require.Equal(t, want, count, "%d parallel wrong PINs: more PINs were tried than the limit allows", n)
	_, err := s.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
	wantKind(t, err, roamsign.ErrLocked, "RequestOTP after parallel lock")
}

// testParallelSameRequestID: concurrent retries of one request make one
// transaction and all get it.
func testParallelSameRequestID(t *testing.T, s *suite) {
	ctx := context.Background()
	req := s.newApproval(t, 2).req(PIN)
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := s.API(HostA).Sign(ctx, req)
			errs[i] = err
			if err == nil {
				ids[i] = res.TransactionID
			}
		})
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i], "call %d", i)
		require.Equal(t, ids[0], ids[i], "same request id gave two transactions")
	}
}

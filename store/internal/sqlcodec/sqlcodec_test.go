package sqlcodec

import (
	"testing"
	"time"

	"github.com/roamsign/roamsign"
)

func TestRoundTrip(t *testing.T) {
	chain := [][]byte{{1, 2}, {}, {3}}
	got, err := FromJSON[[][]byte](JSON(chain))
	if err != nil || len(got) != 3 || got[0][1] != 2 || got[2][0] != 3 {
		t.Fatalf("chain round trip: %v %v", got, err)
	}
	if JSON([]string(nil)) != "[]" {
		t.Fatalf("nil list encodes as %q", JSON([]string(nil)))
	}
	items := Items{{Index: 1, Status: roamsign.ItemSigned, Signature: []byte{9}}}
	back, err := FromJSON[Items](JSON(items))
	if err != nil || len(back) != 1 || back[0].Signature[0] != 9 {
		t.Fatalf("items round trip: %v %v", back, err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 123456000, time.UTC)
	v := Micro(now).(int64)
	if !FromMicro(v, true).Equal(now) || Micro(time.Time{}) != nil || !FromMicro(0, false).IsZero() {
		t.Fatal("micro round trip")
	}
}

func FuzzFromJSON(f *testing.F) {
	f.Add(`[]`)
	f.Add(`["a","b"]`)
	f.Add(`[{"index":1,"status":"signed","signature":"AQI="}]`)
	f.Add(`[[1,2]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = FromJSON[[][]byte](s)
		_, _ = FromJSON[Items](s)
		_, _ = FromJSON[[]roamsign.HostID](s)
	})
}

package medium_test

import (
	"context"
	"fmt"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/medium"
)

func ExampleStatic() {
	r, _ := medium.NewStatic(map[roamsign.UserID]medium.Entry{
		"900101145678": {
			Media: []roamsign.MediumKind{roamsign.MediumToken, roamsign.MediumRoamingOTP},
			Hosts: []roamsign.HostID{"hr"},
		},
	})
	for _, host := range []roamsign.HostID{"hr", "finance"} {
		a, _ := r.Resolve(context.Background(), "900101145678", host)
		fmt.Println(host, a.Use)
	}
	_, err := r.Resolve(context.Background(), "900101175678", "hr")
	fmt.Println(err)
	// Output:
	// hr roaming+otp
	// finance token
	// medium.Static.Resolve: invalid user id: roamsign.ParseUserID: user id has an invalid place-of-birth code 17
}

func ExampleCache() {
	static, _ := medium.NewStatic(map[roamsign.UserID]medium.Entry{"900101145678": {Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}, Hosts: []roamsign.HostID{"hr"}}})
	r := medium.NewCache(static, medium.CacheConfig{TTL: time.Minute, NegativeTTL: 5 * time.Second})
	a, _ := r.Resolve(context.Background(), "900101145678", "hr")
	fmt.Println(a.Use)
	// Output: roaming+otp
}

package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// ExampleRun drives 8 hosts of single-hash flows for 30 seconds (at most
// 1000 flows) against a development server, reading OTPs from its mailbox
// and verifying every signature.
func ExampleRun() {
	hc := &http.Client{Timeout: time.Minute} // configure RootCAs for the server's CA
	api, err := httpapi.NewClient("https://127.0.0.1:8443", httpapi.ClientOptions{HTTPClient: hc, APIKey: "host API key"})
	if err != nil {
		panic(err)
	}
	res, err := bench.Run(context.Background(), bench.Config{
		API:      api,
		Users:    []bench.User{{ID: "850715015123", PIN: "Kewangan#2026"}},
		OTP:      &bench.Mailbox{URL: "https://127.0.0.1:8443/dev/mailbox.json", Client: hc},
		Hosts:    8,
		Duration: 30 * time.Second,
		Count:    1000,
		Check:    bench.CheckRaw,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.1f flows/s, Sign p99 %s\n", res.FlowsPerSecond(), res.Sign.P99)
}

package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// Example serves an API with API-key host authentication and calls it
// through the client; the server's error kind arrives intact.
func Example() {
	keys := &httpapi.APIKeys{}
	key, _ := httpapi.NewAPIKey()
	_ = keys.Add("epenyata", key)

	var api roamsign.API = kindAPI{roamsign.E(roamsign.ErrLocked, "service.Sign", "PIN locked; an administrator must reset it")}
	srv := httptest.NewTLSServer(httpapi.Handler(api, httpapi.Options{Auth: &httpapi.HostAuth{Keys: keys}, Logger: discard()}))
	defer srv.Close()

	client, err := httpapi.NewClient(srv.URL, httpapi.ClientOptions{HTTPClient: srv.Client(), APIKey: key})
	if err != nil {
		panic(err)
	}
	_, err = client.Sign(context.Background(), roamsign.SignRequest{RequestID: "r1"})
	var p *httpapi.Problem
	errors.As(err, &p)
	fmt.Println(errors.Is(err, roamsign.ErrLocked), p.Status, p.Code)
	// Output: true 423 locked
}

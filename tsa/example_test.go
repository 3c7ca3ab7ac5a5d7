package tsa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/tsa"
)

// A client with a primary and a fail-over authority, the primary held to
// a published quota of 20 requests per 20 minutes.
func ExampleClient_Stamp() {
	root, _ := testpki.NewRoot(testpki.Options{})
	authority, _ := root.NewTSA(testpki.LeafOptions{})
	primary := httptest.NewServer(authority.Responder())
	defer primary.Close()
	secondary := httptest.NewServer(authority.Responder())
	defer secondary.Close()

	c, err := tsa.New(tsa.Config{
		TSAs: []tsa.TSA{
			{URL: primary.URL, Quota: tsa.Quota{Requests: 20, Per: 20 * time.Minute}},
			{URL: secondary.URL},
		},
		// In a server: a verify.Verifier set up for the TSAs' anchors,
		// with revocation; here a path check to the test root.
		Chain: tsa.Roots(root.Pool()),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	digest := roamsign.SHA256.Sum([]byte("the signature value"))
	tok, err := c.Stamp(context.Background(), tsa.Request{Digest: digest})
	var te *tsa.Error
	switch {
	case errors.As(err, &te):
		fmt.Println("no token:", te.Reason)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println("from primary:", tok.TSA == primary.URL)
	fmt.Println("signed by:", tok.Signer.Subject.CommonName)
	fmt.Println("token carries its chain:", len(tok.Certificates) >= 1)
	// Output:
	// from primary: true
	// signed by: roamsign Test TSA
	// token carries its chain: true
}

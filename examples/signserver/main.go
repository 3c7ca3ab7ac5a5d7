// Command signserver is the example roamsign sign server.
//
// It will run the whole Ultimate API on embedded defaults (SQLite, a software
// key store or SoftHSM, a development CA, OTPs to a dev mailbox page). Until
// the server core lands, "serve" starts, reports what is coming and exits.
package main

import (
	"fmt"
	"os"
)

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "serve":
		fmt.Println("roamsign signserver: the example server is not assembled yet.")
		fmt.Println("Coming: embedded SQLite store, software/SoftHSM key store, dev CA with CRL endpoint,")
		fmt.Println("demo users, OTP dev mailbox, and the signing web page on https://127.0.0.1:8443/.")
	default:
		fmt.Fprintf(os.Stderr, "signserver: unknown command %q\n", cmd)
		os.Exit(2)
	}
}

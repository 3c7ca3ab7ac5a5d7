package roamsign_test

import (
	"encoding/asn1"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

func TestRoamingSubject(t *testing.T) {
	raw, err := asn1.Marshal(roamsign.RoamingSubject("ALI BIN ABU", "900101145678").ToRDNSequence())
	require.NoError(t, err)
	require.Equal(t, "C=MY, CN=ALI BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678", roamsign.FormatDN(raw))
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := roamsign.NewRequestID()
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), id)
		require.False(t, seen[id], "request id %s repeated", id)
		seen[id] = true
	}
}

func ExampleRoamingSubject() {
	subject := roamsign.RoamingSubject("ALI BIN ABU", "900101145678")
	raw, _ := asn1.Marshal(subject.ToRDNSequence())
	fmt.Println(roamsign.FormatDN(raw))
	// Output: C=MY, CN=ALI BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678
}

func ExampleNewRequestID() {
	req := roamsign.SignRequest{RequestID: roamsign.NewRequestID()}
	fmt.Println(len(req.RequestID))
	// Output: 32
}

package service_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
)

func TestParseEnrolCSV(t *testing.T) {
	in := "\ufeffuser, name ,hosts,email,devices,algorithm\n" +
		"900101145678,ALIYA BINTI AHMAD,ifmis;epenyata,aliya@agensi.gov.my,fcm:1;fcm:2,EC-P256\n" +
		"\"850715015101\",\"TAN, AH KOW\",ifmis,,,\n"
	rows, err := service.ParseEnrolCSV(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, service.EnrolRow{Line: 2, Request: roamsign.EnrolRequest{
		User: "900101145678", Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis", "epenyata"},
		Email: "aliya@agensi.gov.my", Algorithm: roamsign.ECP256,
	}, Devices: []string{"fcm:1", "fcm:2"}}, rows[0])
	assert.Equal(t, 3, rows[1].Line)
	assert.Equal(t, "TAN, AH KOW", rows[1].Request.Name)
	assert.Empty(t, rows[1].Devices)
}

func TestParseEnrolCSVRefusals(t *testing.T) {
	const head = "user,name,hosts\n"
	for name, tc := range map[string]struct {
		in, want string
		kind     roamsign.Kind
	}{
		"empty":            {"", "needs a header", roamsign.ErrInvalidInput},
		"unknown column":   {"user,name,hosts,pin\n", `unknown column "pin"`, roamsign.ErrInvalidInput},
		"column twice":     {"user,name,hosts,user\n", `column "user" twice`, roamsign.ErrInvalidInput},
		"missing column":   {"user,name\n", `column "hosts" is required`, roamsign.ErrInvalidInput},
		"bad user id":      {head + "90010114567,ALIYA,ifmis\n", "line 2", roamsign.ErrInvalidInput},
		"no host":          {head + "900101145678,ALIYA,\n", "line 2", roamsign.ErrInvalidInput},
		"short row":        {head + "900101145678,ALIYA\n", "line 2", roamsign.ErrInvalidInput},
		"bare quote":       {head + "900101145678,AL\"IYA,ifmis\n", "line 2", roamsign.ErrInvalidInput},
		"user twice":       {head + "900101145678,A,ifmis\n900101145678,B,ifmis\n", "line 3: user on line 2 again", roamsign.ErrInvalidInput},
		"unknown medium":   {"user,name,hosts,media\n900101145678,A,ifmis,usb\n", "line 2", roamsign.ErrInvalidInput},
		"long device":      {"user,name,hosts,devices\n900101145678,A,ifmis," + strings.Repeat("d", 257) + "\n", "line 2: device id", roamsign.ErrInvalidInput},
		"too many devices": {"user,name,hosts,devices\n900101145678,A,ifmis," + strings.Repeat("d;", 17) + "\n", "at most 16 devices", roamsign.ErrInvalidInput},
		"not UTF-8":        {head + "900101145678,\xff,ifmis\n", "not UTF-8", roamsign.ErrInvalidInput},
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := service.ParseEnrolCSV(strings.NewReader(tc.in))
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.want)
			assert.Nil(t, rows)
		})
	}
}

func TestParseEnrolCSVSizeLimit(t *testing.T) {
	big := bytes.Repeat([]byte("#"), service.MaxEnrolCSVBytes+1)
	rows, err := service.ParseEnrolCSV(bytes.NewReader(big))
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
	assert.Contains(t, err.Error(), "larger than")
	assert.Nil(t, rows)
}

func TestParseEnrolCSVRowLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("user,name,hosts\n")
	for i := range service.MaxEnrolCSVRows + 1 {
		fmt.Fprintf(&b, "9001%02d14%04d,A,h\n", 1+i/10000, i%10000)
	}
	_, err := service.ParseEnrolCSV(&b)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}

// FuzzParseEnrolCSV: any input gives rows that Enrol would accept, or a
// typed error; never a panic.
func FuzzParseEnrolCSV(f *testing.F) {
	f.Add([]byte("user,name,hosts,email,devices,algorithm,media\n900101145678,ALIYA,ifmis;x,a@b.my,d1;d2,EC-P256,roaming-otp\n"))
	f.Add([]byte("\ufeffhosts,name,user\n\"h\",\"N, M\",850715015101\n"))
	f.Add([]byte("user,name,hosts\n900101145678,A,h\n900101145678,B,h\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rows, err := service.ParseEnrolCSV(bytes.NewReader(in))
		if err != nil {
			require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error %v", err)
			require.Nil(t, rows)
			return
		}
		seen := map[roamsign.UserID]bool{}
		for _, r := range rows {
			require.True(t, r.Request.User.Valid())
			require.False(t, seen[r.Request.User])
			seen[r.Request.User] = true
			require.NotEmpty(t, r.Request.Hosts)
			require.NotEmpty(t, r.Request.Name)
			require.LessOrEqual(t, len(r.Devices), 16)
		}
	})
}

package leakcheck_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/leakcheck"
)

// TestFindsRealLeakForms plants each form a leaked OTP or PIN takes and
// requires the checker to find it.
func TestFindsRealLeakForms(t *testing.T) {
	const otp, pin = "123456", "Tr0ub4dor&3"
	for _, text := range []string{
		`{"level":"INFO","msg":"otp sent","otp":"123456"}`,
		`level=INFO msg="otp sent" otp=123456 user=8001******34`,
		`OTP 123456`,
		`123456`,
		"line one\nYour OTP is 123456.\n",
		`[DEV OTP] user 800101141234: OTP 123456, verification code 9f3a`,
		`{"err":"sign: pin \"Tr0ub4dor&3\" rejected"}`,
		`{"pin":"Tr0ub4dor\u00263"}`,
		`pin=Tr0ub4dor&3`,
	} {
		assert.NotEmpty(t, leakcheck.Find(text, otp, pin), "leak not found in %q", text)
	}
}

// TestIgnoresDigitNoise: the OTP inside longer numbers, hexadecimal ids
// and timestamps is not a leak.
func TestIgnoresDigitNoise(t *testing.T) {
	const otp = "765835"
	for _, text := range []string{
		`{"expires":"2026-05-01T09:11:10.676583511Z"}`,
		`{"expires":"2026-05-01T09:11:10.765835Z"}`,
		`{"request_id":"a1f0765835c2","transaction":"0765835f"}`,
		`{"user":"800101765835"}`,
		`{"elapsed":7658350}`,
		`challenge=Zm9v765835YmFy`,
	} {
		assert.Empty(t, leakcheck.Find(text, otp), "digit noise taken for a leak in %q", text)
	}
	assert.Empty(t, leakcheck.Find("anything", ""), "an empty secret matches nothing")
}

// TestLeakNamesPositionAndContext: the report says which secret, where,
// and shows what surrounds it.
func TestLeakNamesPositionAndContext(t *testing.T) {
	text := "{\"msg\":\"start\"}\n{\"msg\":\"otp sent\",\"otp\":\"424242\",\"user\":\"8001******34\"}\n"
	leaks := leakcheck.Find(text, "999999", "424242")
	require.Len(t, leaks, 1)
	l := leaks[0]
	assert.Equal(t, 1, l.Secret)
	assert.Equal(t, 2, l.Line)
	assert.Equal(t, strings.Index(text, "424242"), l.Offset)
	assert.Equal(t, len(`{"msg":"otp sent","otp":"`)+1, l.Column)
	assert.Contains(t, l.Context, `"otp":"424242"`)
	assert.NotContains(t, l.Context, "\n")
	assert.Contains(t, l.String(), "secret #1 at line 2, column 26")
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckFailsOnPlantedLeak logs an OTP through a Buffer's loggers and
// requires Check to fail, naming the position; the clean log passes.
func TestCheckFailsOnPlantedLeak(t *testing.T) {
	for name, logger := range map[string]func(*leakcheck.Buffer) *slog.Logger{
		"json": (*leakcheck.Buffer).Logger,
		"text": (*leakcheck.Buffer).TextLogger,
	} {
		t.Run(name, func(t *testing.T) {
			var buf leakcheck.Buffer
			log := logger(&buf)
			log.Info("otp issued", "challenge", "abc", "expires", time.Now())
			r := &recorder{TB: t}
			leakcheck.Check(r, "the logs", buf.String(), "314159")
			assert.Empty(t, r.errs, "clean log")

			log.Info("otp issued", "otp", "314159")
			leakcheck.Check(r, "the logs", buf.String(), "314159")
			require.Len(t, r.errs, 1)
			assert.Contains(t, r.errs[0], "a secret appears in the logs: secret #0 at line 2")
			assert.Contains(t, r.errs[0], "314159")
		})
	}
}

// TestLoggersDropTimes: no time- or duration-valued attribute reaches the
// buffer, at the top level or in groups.
func TestLoggersDropTimes(t *testing.T) {
	var buf leakcheck.Buffer
	at := time.Date(2026, 5, 1, 9, 11, 10, 765835000, time.UTC)
	log := buf.Logger().With("since", at)
	log.InfoContext(context.Background(), "event",
		"expires", at, "elapsed", 765835*time.Microsecond,
		slog.Group("challenge", "expires", at, slog.Group("inner", "ttl", 5*time.Minute, "tries", 3)),
		"kept", "yes")
	out := buf.String()
	for _, s := range []string{`"time"`, `"since"`, `"expires"`, `"elapsed"`, `"ttl"`, "2026", "765835"} {
		assert.NotContains(t, out, s)
	}
	assert.Contains(t, out, `"tries":3`)
	assert.Contains(t, out, `"kept":"yes"`)
}

func TestBufferReset(t *testing.T) {
	var buf leakcheck.Buffer
	_, err := buf.Write([]byte("child output"))
	require.NoError(t, err)
	require.Equal(t, "child output", buf.String())
	buf.Reset()
	require.Empty(t, buf.String())
}

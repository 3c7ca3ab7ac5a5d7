package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"listen":"127.0.0.1:1111","otpLifetime":120000000000,"pinMaxFailures":4,"dataDir":"/file"}`), 0o600))
	env := map[string]string{"ROAMSIGN_LISTEN": "127.0.0.1:2222", "ROAMSIGN_OTP_LIFETIME": "3m"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, []string{"-config", file, "-listen", "127.0.0.1:3333", "-dev=false"}, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:3333", cfg.Listen, "the flag wins over environment and file")
	assert.Equal(t, 3*time.Minute, cfg.OTPLifetime, "the environment wins over the file")
	assert.Equal(t, 4, cfg.PINMaxFailures, "the file wins over the default")
	assert.Equal(t, "/file", cfg.DataDir)
	assert.False(t, cfg.Dev)
	assert.Equal(t, 3, cfg.OTPMaxTries, "default lost")
}

func TestConfigRejectsUnsafeValues(t *testing.T) {
	for _, args := range [][]string{
		{"-pin-max-failures", "11"},
		{"-otp-lifetime", "11m"},
		{"-argon2-memory-kib", "1024"},
		{"-smtp-security", "plain"},
		{"-otp-max-tries", "x"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, err := loadConfig(fs, args, func(string) string { return "" })
		assert.Error(t, err, "%v accepted", args)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadConfig(fs, nil, func(k string) string {
		if k == "ROAMSIGN_OTP_LIFETIME" {
			return "forever"
		}
		return ""
	})
	assert.Error(t, err, "bad env accepted")
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"unknownSetting":1}`), 0o600))
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err = loadConfig(fs, []string{"-config", file}, func(string) string { return "" })
	assert.Error(t, err, "unknown config field accepted")
}

// TestPushURLMustBeHTTPSOutsideDevMode: the OTP travels in the push
// gateway request, so outside dev mode an http:// gateway is refused when
// the configuration is read, with the reason.
func TestPushURLMustBeHTTPSOutsideDevMode(t *testing.T) {
	load := func(args ...string) error {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, err := loadConfig(fs, args, func(string) string { return "" })
		return err
	}
	err := load("-dev=false", "-push-url", "http://push.agency.gov.my/v1/otp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "https")
	assert.NotContains(t, err.Error(), "otp.CheckPushURL", "the message names no Go operation")
	assert.NoError(t, load("-dev=false", "-push-url", "https://push.agency.gov.my/v1/otp"))
	assert.NoError(t, load("-push-url", "http://127.0.0.1:9999/push"), "development mode may use a local http gateway")
	assert.Error(t, load("-push-url", "push.agency.gov.my"), "not a URL")
}

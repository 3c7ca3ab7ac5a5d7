package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	if err := os.WriteFile(file, []byte(`{"listen":"127.0.0.1:1111","otpLifetime":120000000000,"pinMaxFailures":4,"dataDir":"/file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROAMSIGN_LISTEN": "127.0.0.1:2222", "ROAMSIGN_OTP_LIFETIME": "3m"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, []string{"-config", file, "-listen", "127.0.0.1:3333", "-dev=false"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:3333" || cfg.OTPLifetime != 3*time.Minute || cfg.PINMaxFailures != 4 || cfg.DataDir != "/file" || cfg.Dev {
		t.Fatalf("precedence wrong: %+v", cfg)
	}
	if cfg.OTPMaxTries != 3 {
		t.Fatal("default lost")
	}
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
		if _, err := loadConfig(fs, args, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := loadConfig(fs, nil, func(k string) string {
		if k == "ROAMSIGN_OTP_LIFETIME" {
			return "forever"
		}
		return ""
	}); err == nil {
		t.Error("bad env accepted")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	os.WriteFile(file, []byte(`{"unknownSetting":1}`), 0o600)
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := loadConfig(fs, []string{"-config", file}, func(string) string { return "" }); err == nil {
		t.Error("unknown config field accepted")
	}
}

package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpListsCommands: `signserver -h` lists every subcommand with its
// summary and succeeds.
func TestHelpListsCommands(t *testing.T) {
	for _, h := range []string{"-h", "--help", "help"} {
		out, _, err := runCmd(t, h)
		require.NoError(t, err, h)
		for _, c := range commands {
			assert.Contains(t, out, "  "+c.name+" ", "%s does not list %q", h, c.name)
			assert.Contains(t, out, c.summary)
		}
		assert.Contains(t, out, "signserver COMMAND -h")
		assert.NotContains(t, out, "-smtp-addr", "%s prints serve's flags", h)
	}
}

// TestCommandHelpListsItsOwnFlags: each subcommand's -h lists its own
// flags and the settings it reads, never serve's SMTP or OTP settings.
func TestCommandHelpListsItsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		has, not []string
	}{
		{[]string{"keys", "list", "-h"}, []string{"usage: signserver keys list", "-data-dir", "-pkcs11-uri", "-config"}, []string{"-smtp-addr", "-otp-lifetime", "-listen", "-argon2-time", "-user"}},
		{[]string{"enrol", "-h"}, []string{"usage: signserver enrol", "-user", "-name", "-pin-stdin", "-argon2-time", "-public-url"}, []string{"-smtp-addr", "-rate-per-user", "-tsa-url"}},
		{[]string{"pin", "reset", "-h"}, []string{"-user", "-pin-max-failures"}, []string{"-smtp-addr", "-name", "-public-url"}},
		{[]string{"audit", "verify", "-h"}, []string{"-quiet", "-audit-anchor-file"}, []string{"-smtp-addr", "-argon2-time"}},
		{[]string{"verify", "-h"}, []string{"-anchors", "-crl", "-data-dir"}, []string{"-smtp-addr", "-pkcs11-uri", "-argon2-time"}},
		{[]string{"apikey", "new", "-h"}, []string{"-name"}, []string{"-data-dir", "-smtp-addr", "-config"}},
		{[]string{"serve", "-h"}, []string{"-smtp-addr", "-otp-lifetime", "-listen"}, []string{"-pin-stdin"}},
	} {
		out, errOut, err := runCmd(t, tc.args...)
		require.NoError(t, err, "%v", tc.args)
		assert.Empty(t, errOut, "%v", tc.args)
		for _, s := range tc.has {
			assert.Contains(t, out, s, "%v", tc.args)
		}
		for _, s := range tc.not {
			assert.NotContains(t, out, s+" ", "%v lists a flag that is not its own", tc.args)
		}
	}
	out, _, err := runCmd(t, "pin", "reset", "-h")
	require.NoError(t, err)
	own, settings, ok := bytes.Cut([]byte(out), []byte("settings"))
	require.True(t, ok, "no settings section:\n%s", out)
	assert.Contains(t, string(own), "-user", "the command's own flags come first")
	assert.NotContains(t, string(settings), "-user ")
}

// TestFlagErrorsNameTheFlag: a bad value or an unknown flag is reported
// with the flag's name and where the command's flags are listed, with
// exit status 2.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	_, _, err := runCmd(t, "-otp-lifetime", "banana")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `-otp-lifetime: "banana" is not a duration`)

	_, errOut, err := runCmd(t, "keys", "list", "-smtp-addr", "mail:25")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-smtp-addr")
	assert.Contains(t, err.Error(), "signserver keys list -h")
	assert.Empty(t, errOut, "the flag package printed the usage as well")
	assert.Equal(t, 2, exitCode(err))

	_, _, err = runCmd(t, "keys")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keys list")
	_, _, err = runCmd(t, "frobnicate")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown command "frobnicate"`)
	assert.Contains(t, err.Error(), "signserver -h")
}

// TestExitStatusPrintsNothing: a command that has printed its verdict and
// fails with an exit status adds no "signserver: exit status 1" line.
func TestExitStatusPrintsNothing(t *testing.T) {
	var b bytes.Buffer
	printError(&b, exitError{1})
	assert.Empty(t, b.String())
	printError(&b, assert.AnError)
	assert.Equal(t, "signserver: "+assert.AnError.Error()+"\n", b.String())
}

// TestPINResetAsksOnlyForAnEnrolledUser: `pin reset` for a user who does
// not exist says so before it asks for the new PIN.
func TestPINResetAsksOnlyForAnEnrolledUser(t *testing.T) {
	_, errOut, err := runCmdInput(t, "Baharu#2026\n", append([]string{"pin", "reset", "-data-dir", t.TempDir(), "-user", "900101145678"}, fastArgon2...)...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no enrolled user 900101145678")
	assert.NotContains(t, errOut, "new PIN", "asked for a PIN for no one")
}

// TestEnrolWithoutPINWarns: a user enrolled without a PIN cannot sign,
// and enrol says so and how to set one.
func TestEnrolWithoutPINWarns(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runCmd(t, append([]string{"enrol", "-data-dir", dir, "-user", "900101145678", "-name", "MUHAMMAD FARID BIN OMAR", "-email", "farid@agensi.gov.my"}, fastArgon2...)...)
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "enrolled 900101145678")
	assert.Contains(t, errOut, "cannot sign until one is set")
	assert.Contains(t, errOut, "signserver pin reset -user 900101145678")

	_, errOut, err = runCmdInput(t, "Baharu#2026\n", append([]string{"enrol", "-data-dir", dir, "-user", "850715015123", "-name", "ALIYA BINTI AHMAD", "-pin-stdin"}, fastArgon2...)...)
	require.NoError(t, err, errOut)
	assert.NotContains(t, errOut, "cannot sign")
}

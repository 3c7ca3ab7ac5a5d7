package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/store/memory"
)

// TestProductionRefusesPassphraseInDataDir: outside development mode the
// server does not start with the software key store's passphrase generated
// into the data directory (where a copy of the folder opens every key), and
// says how to configure it instead.
func TestProductionRefusesPassphraseInDataDir(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCmd(t, "serve", "-dev=false", "-data-dir", dir, "-listen", "127.0.0.1:0", "-ops-listen", "127.0.0.1:0")
	require.Error(t, err)
	for _, how := range []string{"-pkcs11-uri", "-key-passphrase-file", "ROAMSIGN_KEY_PASSPHRASE", "CREDENTIALS_DIRECTORY", credentialName} {
		assert.Contains(t, err.Error(), how, "the refusal must say how to configure the key store")
	}
	assert.NoFileExists(t, filepath.Join(dir, devPassphraseFile), "a passphrase was written into the data directory")
	assert.NoDirExists(t, filepath.Join(dir, "keys"), "a key store was created")

	// The other one-shot commands open the key store the same way.
	_, _, err = runCmd(t, "keys", "list", "-dev=false", "-data-dir", dir)
	require.ErrorIs(t, err, errKeyProtection)
}

// TestKeyPassphraseSources opens the software key store from every
// accepted source outside development mode, and refuses the unsafe ones.
func TestKeyPassphraseSources(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	secrets := t.TempDir() // outside every data directory
	writeSecret := func(dir, name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	prod := func() Config {
		cfg := defaultConfig()
		cfg.Dev, cfg.DataDir = false, t.TempDir()
		return cfg
	}

	accepted := map[string]func() Config{
		"file outside the data directory": func() Config {
			cfg := prod()
			cfg.KeyPassphraseFile = writeSecret(secrets, "pass", "correct horse battery staple\n", 0o600)
			return cfg
		},
		"environment variable": func() Config {
			cfg := prod()
			cfg.KeyPassphrase = "from the environment"
			return cfg
		},
		"systemd credential": func() Config {
			cfg := prod()
			cfg.credentialsDir = t.TempDir()
			writeSecret(cfg.credentialsDir, credentialName, "from systemd\n", 0o400)
			return cfg
		},
	}
	for name, mk := range accepted {
		t.Run(name, func(t *testing.T) {
			cfg := mk()
			ks, err := openKeys(ctx, cfg, log)
			require.NoError(t, err)
			require.NoError(t, ks.Close())
			assert.NoFileExists(t, filepath.Join(cfg.DataDir, devPassphraseFile))
		})
	}

	refused := map[string]struct {
		cfg  func() Config
		want string
	}{
		"file inside the data directory": {func() Config {
			cfg := prod()
			cfg.KeyPassphraseFile = writeSecret(cfg.DataDir, "pass", "secret passphrase\n", 0o600)
			return cfg
		}, "lies in the data directory"},
		"file inside the data directory through a symbolic link": {func() Config {
			cfg := prod()
			target := writeSecret(cfg.DataDir, "pass", "secret passphrase\n", 0o600)
			link := filepath.Join(t.TempDir(), "pass-link")
			require.NoError(t, os.Symlink(target, link))
			cfg.KeyPassphraseFile = link
			return cfg
		}, "lies in the data directory"},
		"file readable by others": {func() Config {
			cfg := prod()
			cfg.KeyPassphraseFile = writeSecret(t.TempDir(), "pass", "secret passphrase\n", 0o644)
			return cfg
		}, "readable by other users"},
		"empty file": {func() Config {
			cfg := prod()
			cfg.KeyPassphraseFile = writeSecret(t.TempDir(), "pass", "\n", 0o600)
			return cfg
		}, "is empty"},
		"credentials directory without the credential": {func() Config {
			cfg := prod()
			cfg.credentialsDir = t.TempDir()
			return cfg
		}, "-pkcs11-uri"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := openKeys(ctx, tc.cfg(), log)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestDevStoreMovesToProduction: a store created in development mode opens
// outside it once its generated passphrase file is moved out of the data
// directory, as the refusal message advises.
func TestDevStoreMovesToProduction(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	ks, err := openKeys(ctx, cfg, log)
	require.NoError(t, err)
	_, _, _, err = provisionKeys(ctx, ks, memory.New(memory.Options{}))
	require.NoError(t, err)
	require.NoError(t, ks.Close())

	moved := filepath.Join(t.TempDir(), "key-passphrase")
	require.NoError(t, os.Rename(filepath.Join(cfg.DataDir, devPassphraseFile), moved))
	cfg.Dev, cfg.KeyPassphraseFile = false, moved
	ks, err = openKeys(ctx, cfg, log)
	require.NoError(t, err, "the moved passphrase must open the store")
	_, _, _, err = provisionKeys(ctx, ks, memory.New(memory.Options{}))
	require.NoError(t, err)
	require.NoError(t, ks.Close())

	cfg.KeyPassphraseFile = ""
	cfg.KeyPassphrase = "not the passphrase"
	_, err = openKeys(ctx, cfg, log)
	require.Error(t, err, "a wrong passphrase opened the store")
	assert.False(t, strings.Contains(err.Error(), "not the passphrase"), "the error repeats the passphrase")
}

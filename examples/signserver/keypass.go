package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// credentialName is the systemd credential that holds the software key
// store's passphrase: LoadCredential=roamsign-key-passphrase:/etc/… (or
// LoadCredentialEncrypted=) in the unit puts it in $CREDENTIALS_DIRECTORY.
const credentialName = "roamsign-key-passphrase"

// devPassphraseFile is where development mode keeps a generated passphrase,
// next to the keys it opens.
const devPassphraseFile = "keys.passphrase"

// errKeyProtection is the refusal to start outside development mode with
// the software key store's passphrase kept in the data directory.
var errKeyProtection = errors.New(`the software key store would keep its passphrase in the data directory, where a copy of the directory opens every key and the OTP and PIN secrets. Outside development mode, either
  - keep the keys in an HSM: -pkcs11-uri 'pkcs11:token=…?module-path=…&pin-source=…', or
  - give the passphrase from outside the data directory:
      -key-passphrase-file FILE (one line, mode 0600, not under the data directory),
      the ROAMSIGN_KEY_PASSPHRASE environment variable, or
      a systemd credential named ` + credentialName + ` (LoadCredential=` + credentialName + `:/etc/roamsign/key-passphrase; read from $CREDENTIALS_DIRECTORY).
  A store created in development mode keeps working if you move its ` + devPassphraseFile + ` out of the data directory and name it with -key-passphrase-file.`)

// keyPassphrase returns the software key store's passphrase from the first
// source that is configured: -key-passphrase-file, ROAMSIGN_KEY_PASSPHRASE,
// the systemd credential, and — in dev mode only — a random passphrase
// generated into the data directory. Outside dev mode a passphrase file
// must lie outside the data directory and be readable by its owner only.
func keyPassphrase(cfg Config) (roamsign.Secret, error) {
	switch {
	case cfg.KeyPassphraseFile != "":
		return passphraseFile(cfg, cfg.KeyPassphraseFile, "key-passphrase-file")
	case !cfg.KeyPassphrase.Empty():
		pass := strings.TrimSpace(cfg.KeyPassphrase.Reveal())
		if pass == "" {
			return "", errors.New("ROAMSIGN_KEY_PASSPHRASE is blank")
		}
		return roamsign.Secret(pass), nil
	case cfg.credentialsDir != "":
		p := filepath.Join(cfg.credentialsDir, credentialName)
		if _, err := os.Stat(p); err == nil {
			return passphraseFile(cfg, p, "systemd credential "+credentialName)
		}
	}
	if !cfg.Dev {
		return "", errKeyProtection
	}
	raw, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, devPassphraseFile), 32)
	if err != nil {
		return "", err
	}
	return roamsign.Secret(hex.EncodeToString(raw)), nil
}

// passphraseFile reads a passphrase file: its first line, or a development
// store's 32 random bytes (which open the store hex-encoded), so a store
// created in dev mode can move to production by moving that file out of
// the data directory.
func passphraseFile(cfg Config, path, what string) (roamsign.Secret, error) {
	if !cfg.Dev {
		if err := outsideDataDir(cfg.DataDir, path); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if !cfg.Dev && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s: %s is readable by other users (mode %v); chmod 600 it", what, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if len(b) == 32 && !isText(b) {
		return roamsign.Secret(hex.EncodeToString(b)), nil
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("%s: %s is empty", what, path)
	}
	return roamsign.Secret(line), nil
}

// isText reports whether b reads as a line of text: valid UTF-8 without
// control characters other than line ends and tabs. Random bytes fail it
// all but certainly.
func isText(b []byte) bool {
	return utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool {
		return r < ' ' && r != '\n' && r != '\r' && r != '\t' || r == 0x7f
	})
}

// outsideDataDir refuses a secret file that lies in the data directory
// (after resolving symbolic links), where a copy of the directory would
// carry it along with what it protects.
func outsideDataDir(dataDir, path string) error {
	dir, err := resolve(dataDir)
	if err != nil {
		return err
	}
	file, err := resolve(path)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, file)
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s lies in the data directory %s, where a copy of the directory carries it along with the keys; keep it elsewhere", path, dataDir)
	}
	return nil
}

func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

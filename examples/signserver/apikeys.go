package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// digestPrefix marks an API key given by its SHA-256 digest.
const digestPrefix = "sha256:"

// maxKeysFile bounds an API keys file.
const maxKeysFile = 1 << 20

// loadAPIKeys reads the host and administrator API keys (see Config); in
// dev mode, keys for the demo host and the administrator are created on
// first start and kept in the data directory (readable by the operator
// only).
func (a *app) loadAPIKeys() error {
	a.apiKeys, a.admin = &httpapi.APIKeys{}, &httpapi.APIKeys{}
	for _, set := range []struct {
		keys       *httpapi.APIKeys
		list, file string
		flag       string
	}{
		{a.apiKeys, a.cfg.APIKeys, a.cfg.APIKeysFile, "api-keys"},
		{a.admin, a.cfg.AdminKeys, a.cfg.AdminKeysFile, "admin-keys"},
	} {
		clearOK := a.cfg.Dev || !a.cfg.onCommandLine[set.flag]
		if err := addKeyList(set.keys, strings.Split(set.list, ","), "-"+set.flag, clearOK); err != nil {
			return err
		}
		if set.file != "" {
			if err := addKeyFile(set.keys, set.file, "-"+set.flag+"-file"); err != nil {
				return err
			}
		}
	}
	if !a.cfg.Dev {
		return nil
	}
	hostKey, err := loadOrCreateToken(filepath.Join(a.cfg.DataDir, "demo-host.apikey"))
	if err != nil {
		return err
	}
	adminKey, err := loadOrCreateToken(filepath.Join(a.cfg.DataDir, "admin.apikey"))
	if err != nil {
		return err
	}
	if err := a.apiKeys.Add(demoHost, hostKey); err != nil {
		return err
	}
	return a.admin.Add("admin", adminKey)
}

// addKeyList adds entries "name=sha256:HEX" (a key's digest) or
// "name=key" (refused unless clearOK) to keys; blank entries are skipped.
// Errors name the entry by its name only, never by its key.
func addKeyList(keys *httpapi.APIKeys, entries []string, source string, clearOK bool) error {
	for _, kv := range entries {
		kv = strings.TrimSpace(kv)
		if kv == "" || strings.HasPrefix(kv, "#") {
			continue
		}
		name, key, ok := strings.Cut(kv, "=")
		name, key = strings.TrimSpace(name), strings.TrimSpace(key)
		if !ok || name == "" || key == "" {
			return fmt.Errorf("%s: want name=sha256:HEX or name=key, got an entry for %q", source, name)
		}
		if d, ok := strings.CutPrefix(key, digestPrefix); ok {
			raw, err := hex.DecodeString(d)
			if err != nil || len(raw) != 32 {
				return fmt.Errorf("%s: the digest for %q is not 64 hexadecimal digits", source, name)
			}
			if err := keys.AddDigest(roamsign.HostID(name), [32]byte(raw)); err != nil {
				return fmt.Errorf("%s: %q: %s", source, name, httpapi.PublicDetail(err))
			}
			continue
		}
		if !clearOK {
			return fmt.Errorf("%s: the key for %q is in clear on the command line, where every user of the machine can read it (ps): give its digest (%s=%sHEX, from `signserver apikey new` or `printf %%s KEY | sha256sum`) or put it in a file of mode 0600 (%s-file)", source, name, name, digestPrefix, source)
		}
		if err := keys.Add(roamsign.HostID(name), key); err != nil {
			return fmt.Errorf("%s: %q: %s", source, name, httpapi.PublicDetail(err))
		}
	}
	return nil
}

// addKeyFile adds the entries of a keys file, one per line. The file must
// be readable by its owner only.
func addKeyFile(keys *httpapi.APIKeys, path, source string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %s is readable by other users (mode %v); chmod 600 it", source, path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeysFile+1))
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if len(b) > maxKeysFile {
		return fmt.Errorf("%s: %s is larger than %d bytes", source, path, maxKeysFile)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return addKeyList(keys, lines, source+" "+path, true)
}

// cmdAPIKeyNew makes a new API key and prints it once, with the line that
// configures it by digest.
func cmdAPIKeyNew(_ context.Context, c *cmdEnv) error {
	stdout := c.stdout
	name := c.fs.String("name", "", "host id (or administrator name) the key is for")
	if err := c.parse(); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("usage: signserver apikey new -name HOST")
	}
	key, err := httpapi.NewAPIKey()
	if err != nil {
		return err
	}
	d := httpapi.HashAPIKey(key)
	probe := &httpapi.APIKeys{}
	if err := probe.AddDigest(roamsign.HostID(*name), d); err != nil {
		return fmt.Errorf("-name %q: %s", *name, httpapi.PublicDetail(err))
	}
	fmt.Fprintf(stdout, "key     %s\n        give it to %s once, over a protected channel; it is not stored anywhere\n", key, *name)
	fmt.Fprintf(stdout, "config  %s=%s%s\n        for -api-keys (a host) or -admin-keys (an administrator), or a line of their -…-file\n", *name, digestPrefix, hex.EncodeToString(d[:]))
	return nil
}

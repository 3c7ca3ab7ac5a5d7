package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/atomicfile"
)

// KDFParams are the Argon2id parameters that derive the software store's
// encryption key from its passphrase. They are chosen when a store is
// created and kept in the store's header file.
type KDFParams struct {
	Time      uint32 // passes; 0 means 1
	MemoryKiB uint32 // memory in KiB; 0 means 65536 (64 MiB); at least 8192
	Threads   uint8  // lanes; 0 means 4
}

// Limits on KDF parameters read from a store header, so a tampered header
// cannot make opening the store take unbounded time or memory.
const (
	minKDFMemoryKiB = 8 * 1024
	maxKDFMemoryKiB = 4 * 1024 * 1024
	maxKDFTime      = 64
)

func (p KDFParams) withDefaults() KDFParams {
	if p.Time == 0 {
		p.Time = 1
	}
	if p.MemoryKiB == 0 {
		p.MemoryKiB = 64 * 1024
	}
	if p.Threads == 0 {
		p.Threads = 4
	}
	return p
}

func (p KDFParams) valid() bool {
	return p.Time >= 1 && p.Time <= maxKDFTime && p.MemoryKiB >= minKDFMemoryKiB && p.MemoryKiB <= maxKDFMemoryKiB && p.Threads >= 1
}

// SoftwareConfig configures [OpenSoftware].
type SoftwareConfig struct {
	// Dir holds the store: a header file and one encrypted file per key. It
	// is created (mode 0700) when missing. Required.
	Dir string
	// Passphrase protects the keys at rest. Required.
	Passphrase roamsign.Secret
	// KDF is used only when the store is created; zero fields take the
	// defaults documented on [KDFParams].
	KDF KDFParams
	// Logger receives events (never key material or the passphrase); nil
	// means slog.Default().
	Logger *slog.Logger
}

// SoftwareStore is a [KeyStore] that keeps keys in files, encrypted with
// AES-256-GCM under a key derived from a passphrase with Argon2id. It is
// meant for development and embedded use; see the package documentation.
type SoftwareStore struct {
	dir    string
	aead   cipher.AEAD
	log    *slog.Logger
	closed atomic.Bool

	mu   sync.Mutex // serialises writes and guards keys and macs
	keys map[string]*softKey
	macs map[string]*softMAC
	// lastKey is the signing key that signed most recently, probed by
	// CheckKeys.
	lastKey atomic.Pointer[softKey]
}

var (
	_ KeyStore = (*SoftwareStore)(nil)
	_ Key      = (*softKey)(nil)
)

const (
	headerFile   = "keystore.json"
	keySuffix    = ".key"
	chainSuffix  = ".chain.pem"
	maxFileSize  = 1 << 20
	checkContent = "roamsign/hsm/software/check"
	aadPrefix    = "roamsign/hsm/software/v1\x00"
)

type storeHeader struct {
	Version int       `json:"version"`
	KDF     string    `json:"kdf"`
	Params  KDFParams `json:"params"`
	Salt    []byte    `json:"salt"`
	Check   []byte    `json:"check"` // nonce ‖ AES-GCM(checkContent)
}

type keyFile struct {
	Version   int                   `json:"version"`
	ID        string                `json:"id"`
	Label     string                `json:"label"`
	Algorithm roamsign.KeyAlgorithm `json:"algorithm"`
	Public    []byte                `json:"public"` // SubjectPublicKeyInfo DER
	Sealed    []byte                `json:"sealed"` // nonce ‖ AES-GCM(PKCS#8 DER)
}

func (f *keyFile) is(id string) bool { return f.Version == 1 && f.ID == id }

func (f *keyFile) aad() []byte {
	var b bytes.Buffer
	b.WriteString(aadPrefix)
	for _, s := range []string{f.ID, f.Label, string(f.Algorithm)} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	b.Write(f.Public)
	return b.Bytes()
}

// OpenSoftware opens (or creates) a software key store in cfg.Dir. A wrong
// passphrase gives roamsign.ErrUnauthenticated; a damaged header
// roamsign.ErrInternal.
func OpenSoftware(ctx context.Context, cfg SoftwareConfig) (*SoftwareStore, error) {
	const op = "hsm.OpenSoftware"
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	if cfg.Dir == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no directory given")
	}
	if cfg.Passphrase.Empty() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no passphrase given")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot create the key directory")
	}
	hpath := filepath.Join(cfg.Dir, headerFile)
	var h storeHeader
	raw, err := readLimited(hpath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		params := cfg.KDF.withDefaults()
		if !params.valid() {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "KDF parameters out of range (memory %d..%d KiB, time 1..%d)", minKDFMemoryKiB, maxKDFMemoryKiB, maxKDFTime)
		}
		h = storeHeader{Version: 1, KDF: "argon2id", Params: params, Salt: make([]byte, 16)}
		if _, err := rand.Read(h.Salt); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "random salt")
		}
		aead, err := deriveAEAD(cfg.Passphrase, h)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "deriving the store key")
		}
		if h.Check, err = seal(aead, []byte(checkContent), []byte(headerFile)); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "sealing")
		}
		body, _ := json.MarshalIndent(h, "", "  ")
		if err := writeFileAtomic(cfg.Dir, headerFile, body, false); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return OpenSoftware(ctx, cfg) // created concurrently
			}
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot write the store header")
		}
		log.Info("software key store created", "dir", cfg.Dir)
		return &SoftwareStore{dir: cfg.Dir, aead: aead, log: log, keys: map[string]*softKey{}, macs: map[string]*softMAC{}}, nil
	case err != nil:
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot read the store header")
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Version != 1 || h.KDF != "argon2id" || len(h.Salt) < 16 || !h.Params.valid() {
		return nil, roamsign.E(roamsign.ErrInternal, op, "the store header is damaged or of an unknown version")
	}
	aead, err := deriveAEAD(cfg.Passphrase, h)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "deriving the store key")
	}
	if pt, err := open(aead, h.Check, []byte(headerFile)); err != nil || string(pt) != checkContent {
		return nil, roamsign.E(roamsign.ErrUnauthenticated, op, "wrong passphrase for the key store")
	}
	return &SoftwareStore{dir: cfg.Dir, aead: aead, log: log, keys: map[string]*softKey{}, macs: map[string]*softMAC{}}, nil
}

func deriveAEAD(pass roamsign.Secret, h storeHeader) (cipher.AEAD, error) {
	p := h.Params
	k := argon2.IDKey([]byte(pass.Reveal()), h.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
	block, err := aes.NewCipher(k)
	clear(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(aead cipher.AEAD, pt, aad []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pt)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, pt, aad), nil
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errors.New("sealed data too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, errors.New("file too large")
	}
	return b, nil
}

// writeFileAtomic writes dir/name atomically with mode 0600, replacing an
// existing file (replace) or refusing to (fs.ErrExist).
func writeFileAtomic(dir, name string, data []byte, replace bool) error {
	if replace {
		return atomicfile.Replace(filepath.Join(dir, name), data, 0o600)
	}
	return atomicfile.Create(filepath.Join(dir, name), data, 0o600)
}

// createKeyFile writes the new file id+suffix; what ("key", "MAC key")
// names it in errors. The caller holds s.mu.
func (s *SoftwareStore) createKeyFile(op, id, suffix, what string, body []byte) error {
	if err := writeFileAtomic(s.dir, id+suffix, body, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return roamsign.E(roamsign.ErrConflict, op, "a %s with id %q exists", what, id)
		}
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot write the key file")
	}
	return nil
}

// readKeyFileAs reads the file id+suffix into v without decrypting it and
// checks its version and ID; what ("key", "MAC key") names it in errors.
func (s *SoftwareStore) readKeyFileAs(op, id, suffix, what string, v interface{ is(id string) bool }) error {
	raw, err := readLimited(filepath.Join(s.dir, id+suffix))
	if errors.Is(err, fs.ErrNotExist) {
		return roamsign.E(roamsign.ErrNotFound, op, "no %s with id %q", what, id)
	}
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot read the key file")
	}
	if err := json.Unmarshal(raw, v); err != nil || !v.is(id) {
		return roamsign.E(roamsign.ErrInternal, op, "%s file %q is damaged", what, id)
	}
	return nil
}

// removeKeyFile removes the file id+suffix; what ("key", "MAC key") names
// it in errors. The caller holds s.mu and syncs the directory.
func (s *SoftwareStore) removeKeyFile(op, id, suffix, what string) error {
	if err := os.Remove(filepath.Join(s.dir, id+suffix)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return roamsign.E(roamsign.ErrNotFound, op, "no %s with id %q", what, id)
		}
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot delete the key file")
	}
	return nil
}

// checkID checks that the store is open and id is a valid key ID.
func (s *SoftwareStore) checkID(op, id string) error {
	if err := s.checkOpen(op); err != nil {
		return err
	}
	return validID(op, id)
}

func (s *SoftwareStore) checkOpen(op string) error {
	if s.closed.Load() {
		return roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	return nil
}

// Generate creates a key with crypto/rand and stores it encrypted.
func (s *SoftwareStore) Generate(ctx context.Context, req GenerateRequest) (Key, error) {
	const op = "hsm.SoftwareStore.Generate"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	req, err := req.normalise(op, func(b []byte) error { _, err := rand.Read(b); return err })
	if err != nil {
		return nil, err
	}
	var priv crypto.Signer
	if bits := rsaBits(req.Algorithm); bits > 0 {
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		priv, err = ecdsa.GenerateKey(curveOf(req.Algorithm), rand.Reader)
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "key generation failed")
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encoding the key")
	}
	defer clear(pkcs8)
	spki, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encoding the public key")
	}
	kf := keyFile{Version: 1, ID: req.ID, Label: req.Label, Algorithm: req.Algorithm, Public: spki}
	if kf.Sealed, err = seal(s.aead, pkcs8, kf.aad()); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encrypting the key")
	}
	body, _ := json.Marshal(kf)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	if err := s.createKeyFile(op, req.ID, keySuffix, "key", body); err != nil {
		return nil, err
	}
	k := &softKey{s: s, id: req.ID, label: req.Label, alg: req.Algorithm, priv: priv}
	s.keys[req.ID] = k
	s.log.Info("key generated", "id", req.ID, "algorithm", string(req.Algorithm))
	return k, nil
}

// readKeyFile reads and parses a key file without decrypting it.
func (s *SoftwareStore) readKeyFile(op, id string) (*keyFile, error) {
	var kf keyFile
	if err := s.readKeyFileAs(op, id, keySuffix, "key", &kf); err != nil {
		return nil, err
	}
	return &kf, nil
}

// Key decrypts a key (once; it is then cached in memory).
func (s *SoftwareStore) Key(ctx context.Context, id string) (Key, error) {
	const op = "hsm.SoftwareStore.Key"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k != nil {
		return k, nil
	}
	kf, err := s.readKeyFile(op, id)
	if err != nil {
		return nil, err
	}
	pt, err := open(s.aead, kf.Sealed, kf.aad())
	if err != nil {
		return nil, roamsign.E(roamsign.ErrInternal, op, "key file %q fails authentication", id)
	}
	defer clear(pt)
	parsed, err := x509.ParsePKCS8PrivateKey(pt)
	if err != nil {
		return nil, roamsign.E(roamsign.ErrInternal, op, "key file %q holds no valid key", id)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok || algorithmOf(priv.Public()) != kf.Algorithm {
		return nil, roamsign.E(roamsign.ErrInternal, op, "key file %q does not match its algorithm", id)
	}
	k := &softKey{s: s, id: id, label: kf.Label, alg: kf.Algorithm, priv: priv}
	s.keys[id] = k
	return k, nil
}

// List describes the stored keys from their file headers.
func (s *SoftwareStore) List(ctx context.Context) ([]KeyInfo, error) {
	const op = "hsm.SoftwareStore.List"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot read the key directory")
	}
	var out []KeyInfo
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), keySuffix)
		if !ok || !e.Type().IsRegular() || validID(op, id) != nil {
			continue
		}
		kf, err := s.readKeyFile(op, id)
		if err != nil {
			if errors.Is(err, roamsign.ErrNotFound) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		out = append(out, KeyInfo{ID: id, Label: kf.Label, Algorithm: kf.Algorithm})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete removes the key file and the chain file.
func (s *SoftwareStore) Delete(ctx context.Context, id string) error {
	const op = "hsm.SoftwareStore.Delete"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[id]; k != nil {
		k.deleted.Store(true)
		s.lastKey.CompareAndSwap(k, nil)
	}
	delete(s.keys, id)
	if err := s.removeKeyFile(op, id, keySuffix, "key"); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, id+chainSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot delete the chain file")
	}
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot sync the key directory")
	}
	return nil
}

// ImportChain writes the chain as a PEM file beside the key, replacing it
// atomically.
func (s *SoftwareStore) ImportChain(ctx context.Context, id string, chain []*x509.Certificate) error {
	const op = "hsm.SoftwareStore.ImportChain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return err
	}
	if err := checkChain(op, k.Public(), chain); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, c := range chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(op); err != nil {
		return err
	}
	if err := writeFileAtomic(s.dir, id+chainSuffix, b.Bytes(), true); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot write the chain file")
	}
	return nil
}

// Chain reads the chain file; the leaf must still certify the key.
func (s *SoftwareStore) Chain(ctx context.Context, id string) ([]*x509.Certificate, error) {
	const op = "hsm.SoftwareStore.Chain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	raw, err := readLimited(filepath.Join(s.dir, id+chainSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return []*x509.Certificate{}, nil
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot read the chain file")
	}
	var certs []*x509.Certificate
	for len(certs) <= maxChainLen {
		var blk *pem.Block
		blk, raw = pem.Decode(raw)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil || blk.Type != "CERTIFICATE" {
			return nil, roamsign.E(roamsign.ErrInternal, op, "chain file of %q is damaged", id)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 || !samePublicKey(k.Public(), certs[0].PublicKey) {
		return nil, roamsign.E(roamsign.ErrInternal, op, "chain file of %q does not certify the key", id)
	}
	return certs, nil
}

// Close forgets the decrypted keys. It is idempotent; every call after it
// returns roamsign.ErrClosed. Close of a nil store (what a failed
// OpenSoftware returns) does nothing.
func (s *SoftwareStore) Close() error {
	if s == nil || s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	s.keys, s.macs = nil, nil
	s.mu.Unlock()
	return nil
}

// softKey is a decrypted software key.
type softKey struct {
	s     *SoftwareStore
	id    string
	label string
	alg   roamsign.KeyAlgorithm
	priv  crypto.Signer

	deleted atomic.Bool // set by Delete: the key may no longer sign
}

func (k *softKey) Public() crypto.PublicKey         { return k.priv.Public() }
func (k *softKey) ID() string                       { return k.id }
func (k *softKey) Label() string                    { return k.label }
func (k *softKey) Algorithm() roamsign.KeyAlgorithm { return k.alg }

// Concurrency returns GOMAXPROCS: software signing is CPU-bound.
func (k *softKey) Concurrency() int { return runtime.GOMAXPROCS(0) }

// Sign signs with context.Background(); see [Key].
func (k *softKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// SignContext signs digest in process with crypto/rand.
func (k *softKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "hsm.Sign"
	if err := k.s.checkOpen(op); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	if k.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "key %q was deleted", k.id)
	}
	m, err := checkSign(op, k.priv.Public(), digest, opts)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		if m.pss {
			sig, err = rsa.SignPSS(rand.Reader, p, m.hash, digest, m.pssOptions())
		} else {
			sig, err = rsa.SignPKCS1v15(nil, p, m.hash, digest)
		}
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(rand.Reader, p, digest)
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported key type")
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "signing failed")
	}
	if k.s.lastKey.Load() != k {
		k.s.lastKey.Store(k)
	}
	return sig, nil
}

// MAC keys of the software store: 32 random bytes sealed like signing keys,
// in "<id>.mac" files.

var (
	_ MACKeyStore = (*SoftwareStore)(nil)
	_ MACKey      = (*softMAC)(nil)
)

const macSuffix = ".mac"

type macFile struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Sealed  []byte `json:"sealed"`
}

func (f *macFile) is(id string) bool { return f.Version == 1 && f.ID == id }

func macAAD(id string) []byte { return []byte(aadPrefix + "mac\x00" + id) }

// GenerateMAC creates a 256-bit HMAC key with crypto/rand.
func (s *SoftwareStore) GenerateMAC(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.SoftwareStore.GenerateMAC"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "random key")
	}
	sealed, err := seal(s.aead, key, macAAD(id))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encrypting the key")
	}
	body, _ := json.Marshal(macFile{Version: 1, ID: id, Sealed: sealed})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	if err := s.createKeyFile(op, id, macSuffix, "MAC key", body); err != nil {
		return nil, err
	}
	m := &softMAC{s: s, id: id, key: key}
	s.macs[id] = m
	return m, nil
}

// MACKey decrypts a MAC key (once; it is then cached in memory).
func (s *SoftwareStore) MACKey(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.SoftwareStore.MACKey"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.macs[id]; m != nil {
		return m, nil
	}
	var mf macFile
	if err := s.readKeyFileAs(op, id, macSuffix, "MAC key", &mf); err != nil {
		return nil, err
	}
	key, err := open(s.aead, mf.Sealed, macAAD(id))
	if err != nil || len(key) != 32 {
		return nil, roamsign.E(roamsign.ErrInternal, op, "MAC key file %q fails authentication", id)
	}
	m := &softMAC{s: s, id: id, key: key}
	s.macs[id] = m
	return m, nil
}

// DeleteMAC removes the MAC key file.
func (s *SoftwareStore) DeleteMAC(ctx context.Context, id string) error {
	const op = "hsm.SoftwareStore.DeleteMAC"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.removeKeyFile(op, id, macSuffix, "MAC key"); err != nil {
		return err
	}
	if m := s.macs[id]; m != nil {
		m.deleted.Store(true)
	}
	delete(s.macs, id)
	if err := atomicfile.SyncDir(s.dir); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot sync the key directory")
	}
	return nil
}

type softMAC struct {
	s       *SoftwareStore
	id      string
	key     []byte
	deleted atomic.Bool
}

func (m *softMAC) ID() string { return m.id }

// MAC computes HMAC-SHA256 in process.
func (m *softMAC) MAC(ctx context.Context, data []byte) ([]byte, error) {
	const op = "hsm.MAC"
	if err := m.s.checkOpen(op); err != nil {
		return nil, err
	}
	if err := checkMACInput(op, data); err != nil {
		return nil, err
	}
	if m.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "MAC key %q was deleted", m.id)
	}
	h := hmac.New(sha256.New, m.key)
	h.Write(data)
	return h.Sum(nil), nil
}

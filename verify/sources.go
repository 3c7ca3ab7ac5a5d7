package verify

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/roamsign/roamsign"
)

// Origins of validation material, as [RevocationInfo.Origin] reports them.
const (
	// OriginSupplied: given by the caller (Config or the request).
	OriginSupplied = "supplied"
	// OriginSignature: carried in the CMS signature (certificates, crls
	// field, adbe-revocationInfoArchival signed attribute).
	OriginSignature = "signature"
	// OriginDSS: from the PDF's document security store (/DSS).
	OriginDSS = "dss"
	// OriginDirectory: from a [CRLSource] such as a [CRLDirectory].
	OriginDirectory = "directory"
	// OriginFetched: downloaded from a distribution point or an OCSP
	// responder (possibly through the cache).
	OriginFetched = "fetched"
)

// ValidationData is validation material in DER: certificates, CRLs and
// OCSP responses. A caller supplies it (Config, requests); a [Result]
// returns the material that decided it, so that a signer can embed what
// it validated (a PAdES /DSS, CMS revocation values).
type ValidationData struct {
	Certificates  [][]byte `json:"-"`
	CRLs          [][]byte `json:"-"`
	OCSPResponses [][]byte `json:"-"`
}

// add appends der to list unless it is there already.
func addUnique(list [][]byte, der []byte) [][]byte {
	for _, b := range list {
		if string(b) == string(der) {
			return list
		}
	}
	return append(list, der)
}

// CRLSource finds CRLs without network access: a folder, a database, a
// cache of an outside system. The verifier asks it for the CRLs of one
// issuer; every CRL it returns is judged by the same rules as any other.
type CRLSource interface {
	// CRLsByIssuer returns the CRLs whose issuer is the DER Name rawIssuer
	// (compared as RFC 5280 section 7.1 says). An error makes the source
	// decide nothing for this lookup.
	CRLsByIssuer(ctx context.Context, rawIssuer []byte) ([]*CRL, error)
}

// DistributionPointFetcher is an optional interface of a [Fetcher] that
// wants to know which certificate a CRL is fetched for, so that it can
// map a directoryName distribution point, a private mirror or an archive.
// When the configured Fetcher implements it, FetchCRL is called instead of
// Fetch, for every distribution point, with or without a URL.
type DistributionPointFetcher interface {
	FetchCRL(ctx context.Context, req FetchRequest) ([]byte, error)
}

// FetchRequest describes one CRL to fetch.
type FetchRequest struct {
	// URL is the http(s) or ldap URL named by the distribution point; empty
	// when it names none (a directoryName distribution point).
	URL string
	// Names are the distribution point's names as strings: URIs as they
	// are, directory names in RFC 4514 form.
	Names []string
	// Cert is the certificate whose status is wanted; Issuer its issuer.
	Cert, Issuer *x509.Certificate
	// MaxSize is the size cap the answer must respect.
	MaxSize int64
}

// CRLDirectory is a [CRLSource] over a folder of CRL files (DER or PEM,
// any name), indexed by issuer. It reads the folder when created and on
// Reload, and is safe for concurrent use.
type CRLDirectory struct {
	dir     string
	maxSize int64
	mu      sync.RWMutex
	byKey   map[string][]*CRL
	skipped []string
}

// Limits of a CRLDirectory.
const (
	maxDirectoryFiles = 10_000
	maxDirectoryBytes = 1 << 30
)

// NewCRLDirectory reads every regular file of dir as a CRL. Files that do
// not parse are skipped and listed by [CRLDirectory.Skipped]. A file over
// DefaultMaxCRLSize, more than 10,000 files or more than 1 GiB in all give
// an error of kind ErrTooLarge.
func NewCRLDirectory(dir string) (*CRLDirectory, error) {
	d := &CRLDirectory{dir: dir, maxSize: DefaultMaxCRLSize}
	if err := d.Reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// Reload reads the folder again.
func (d *CRLDirectory) Reload() error {
	const op = "verify.CRLDirectory"
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrNotFound, op, err, "read CRL directory")
	}
	if len(entries) > maxDirectoryFiles {
		return roamsign.E(roamsign.ErrTooLarge, op, "%d files exceed the limit of %d", len(entries), maxDirectoryFiles)
	}
	byKey := map[string][]*CRL{}
	var skipped []string
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			skipped = append(skipped, e.Name())
			continue
		}
		if total += fi.Size(); fi.Size() > d.maxSize || total > maxDirectoryBytes {
			return roamsign.E(roamsign.ErrTooLarge, op, "%s: the directory exceeds its size limits", e.Name())
		}
		b, err := os.ReadFile(filepath.Join(d.dir, e.Name()))
		if err != nil {
			skipped = append(skipped, e.Name())
			continue
		}
		c, err := parseCRL(pemOrDER(b, "X509 CRL"), d.maxSize)
		if err != nil {
			skipped = append(skipped, e.Name())
			continue
		}
		byKey[c.issuerKey] = append(byKey[c.issuerKey], c)
	}
	sort.Strings(skipped)
	d.mu.Lock()
	d.byKey, d.skipped = byKey, skipped
	d.mu.Unlock()
	return nil
}

// Skipped lists the files of the last read that were not CRLs.
func (d *CRLDirectory) Skipped() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]string(nil), d.skipped...)
}

// CRLsByIssuer implements [CRLSource].
func (d *CRLDirectory) CRLsByIssuer(_ context.Context, rawIssuer []byte) ([]*CRL, error) {
	name, _, ok := parseDN(rawIssuer)
	if !ok {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "verify.CRLDirectory", "malformed issuer name")
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]*CRL(nil), d.byKey[name.key()]...), nil
}

var _ CRLSource = (*CRLDirectory)(nil)

// crlCand is a CRL candidate with where it came from.
type crlCand struct {
	crl    *CRL
	origin string
	url    string
}

// ocspCand is an OCSP response candidate (DER) with its origin.
type ocspCand struct {
	der    []byte
	origin string
}

// evidence is the local validation material of one verification: what the
// caller supplied and what the signature carries.
type evidence struct {
	certs []*x509.Certificate
	crls  []crlCand
	ocsps []ocspCand
}

// addData parses supplied material into ev. Certificates must parse
// (ErrInvalidInput, ErrTooLarge). A CRL or OCSP response that does not
// parse is skipped when lenient (it could only fail to decide), an error
// otherwise.
func (v *Verifier) addData(ev *evidence, d ValidationData, origin string, lenient ...bool) error {
	for _, der := range d.Certificates {
		c, err := v.parseCert(der)
		if err != nil && len(lenient) > 0 && lenient[0] {
			continue
		}
		if err != nil {
			return roamsign.Wrap(roamsign.KindOf(err), "verify", err, "malformed "+origin+" certificate")
		}
		ev.certs = append(ev.certs, c)
	}
	for _, der := range d.CRLs {
		c, err := v.parseCarriedCRL(der)
		if err != nil && len(lenient) > 0 && lenient[0] {
			continue
		}
		if err != nil {
			return roamsign.Wrap(roamsign.KindOf(err), "verify", err, "malformed "+origin+" CRL")
		}
		ev.crls = append(ev.crls, crlCand{crl: c, origin: origin})
	}
	for _, der := range d.OCSPResponses {
		if len(der) > 1<<20 {
			return roamsign.E(roamsign.ErrTooLarge, "verify", "%s OCSP response exceeds 1 MiB", origin)
		}
		ev.ocsps = append(ev.ocsps, ocspCand{der: der, origin: origin})
	}
	return nil
}

// merge returns ev with other's material added.
func (ev *evidence) merge(other *evidence) *evidence {
	if other == nil {
		return ev
	}
	out := &evidence{}
	if ev != nil {
		*out = *ev
		out.certs = append([]*x509.Certificate(nil), ev.certs...)
		out.crls = append([]crlCand(nil), ev.crls...)
		out.ocsps = append([]ocspCand(nil), ev.ocsps...)
	}
	out.certs = append(out.certs, other.certs...)
	out.crls = append(out.crls, other.crls...)
	out.ocsps = append(out.ocsps, other.ocsps...)
	return out
}

// crlsFor returns the local CRL candidates whose issuer is name.
func (v *Verifier) crlsFor(ctx context.Context, ev *evidence, rawName []byte, name dn) ([]crlCand, []string) {
	var out []crlCand
	var errs []string
	key := name.key()
	if ev != nil {
		for _, c := range ev.crls {
			if c.crl.issuerKey == key {
				out = append(out, c)
			}
		}
	}
	for _, s := range v.cfg.CRLSources {
		crls, err := s.CRLsByIssuer(ctx, rawName)
		if err != nil {
			errs = append(errs, fmt.Sprintf("CRL source: %v", err))
			continue
		}
		for _, c := range crls {
			if c != nil && c.issuerKey == key {
				out = append(out, crlCand{crl: c, origin: OriginDirectory})
			}
		}
	}
	return out, errs
}

// pemOrDER returns the DER of the first PEM block of the given type, or b
// when it is not PEM.
func pemOrDER(b []byte, typ string) []byte {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "-----BEGIN") {
		return b
	}
	for rest := []byte(s); ; {
		blk, r := pem.Decode(rest)
		if blk == nil {
			return b
		}
		if blk.Type == typ {
			return blk.Bytes
		}
		rest = r
	}
}

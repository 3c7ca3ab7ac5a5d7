package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/atomicfile"
	"github.com/roamsign/roamsign/servercert"
)

// Production enrolment, in the order an agency does it:
//
//	signserver csr new -user ID -name NAME -host HOSTS [-email ADDR] [-out FILE]
//	    (the agency CA issues a certificate for the request)
//	signserver chain import -user ID -chain FILE -user-ca ANCHORS
//	signserver pin set -user ID            (the first PIN, on standard input)
//	signserver device add -user ID -device ID
//
// or, for many users at once, `signserver bulk enrol` (bulkenrol.go).
// The same steps are the admin API's /v1/admin/enrol, /v1/admin/chain,
// /v1/admin/pin and /v1/admin/devices. Every step is recorded in the audit
// log with who did it: the administrator's key name over the API, and
// "cli:" and the operating-system user at the command line.

// maxChainFile bounds a certificate chain file.
const maxChainFile = 1 << 20

func cmdCSRNew(ctx context.Context, c *cmdEnv) error {
	id := c.fs.String("user", "", "user id (12-digit MyKad number)")
	name := c.fs.String("name", "", "name on the certificate (CN)")
	hosts := c.fs.String("host", "", "host systems the user signs for, comma-separated")
	email := c.fs.String("email", "", "e-mail address for OTP delivery")
	alg := c.fs.String("algorithm", "", "key algorithm: RSA-2048 (default), RSA-3072, RSA-4096, EC-P256, EC-P384 or EC-P521")
	out := c.fs.String("out", "", "write the request (PEM) to this file instead of standard output")
	a, err := c.open(ctx, groupPIN)
	if err != nil {
		return err
	}
	defer a.Close()
	uid, err := roamsign.ParseUserID(*id)
	if err != nil {
		return err
	}
	resp, err := a.svc.Enrol(operatorContext(ctx), roamsign.EnrolRequest{
		User: uid, Name: *name, Hosts: splitHosts(*hosts), Email: *email,
		Algorithm: roamsign.KeyAlgorithm(*alg), Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP},
	})
	if err != nil {
		return err
	}
	if err := writePEM(c.stdout, *out, "CERTIFICATE REQUEST", resp.CSR); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "key %s of %s is in the key store; send the request to the CA, then: signserver chain import -user %s -chain FILE\n", resp.KeyID, uid, uid)
	return nil
}

func cmdChainImport(ctx context.Context, c *cmdEnv) error {
	id := c.fs.String("user", "", "user id (12-digit MyKad number)")
	file := c.fs.String("chain", "", "the chain the CA issued, leaf first (PEM, DER or PKCS#7)")
	a, err := c.open(ctx, groupEnrol)
	if err != nil {
		return err
	}
	defer a.Close()
	uid, err := roamsign.ParseUserID(*id)
	if err != nil {
		return err
	}
	chain, err := readChainFile(*file)
	if err != nil {
		return err
	}
	if err := a.importChain(ctx, uid, chain); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "chain of %s imported: %s, serial %s, issued by %s\n", uid, chain[0].Subject, chain[0].SerialNumber.Text(16), chain[0].Issuer)
	return nil
}

func cmdPINSet(ctx context.Context, c *cmdEnv) error {
	id := c.fs.String("user", "", "user id (12-digit MyKad number)")
	a, err := c.open(ctx, groupPIN)
	if err != nil {
		return err
	}
	defer a.Close()
	uid, err := roamsign.ParseUserID(*id)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "first PIN (one line on standard input):")
	pin, err := readSecretLine(c.stdin)
	if err != nil {
		return err
	}
	if err := a.svc.SetPIN(operatorContext(ctx), roamsign.SetPINRequest{User: uid, New: roamsign.Secret(pin)}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "first PIN of %s set\n", uid)
	return nil
}

func cmdDeviceAdd(ctx context.Context, c *cmdEnv) error {
	id := c.fs.String("user", "", "user id (12-digit MyKad number)")
	device := c.fs.String("device", "", "push device id of the user's signing app")
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	uid, err := roamsign.ParseUserID(*id)
	if err != nil {
		return err
	}
	if err := a.svc.RegisterDevice(operatorContext(ctx), roamsign.RegisterDeviceRequest{User: uid, DeviceID: *device}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "push device registered for %s\n", uid)
	return nil
}

// importChain imports chain for id once user CAs are configured.
func (a *app) importChain(ctx context.Context, id roamsign.UserID, chain []*x509.Certificate) error {
	if err := a.checkUserCA(); err != nil {
		return err
	}
	ders := make([][]byte, len(chain))
	for i, c := range chain {
		ders[i] = c.Raw
	}
	return a.svc.ImportChain(operatorContext(ctx), roamsign.ImportChainRequest{User: id, Chain: ders})
}

// errNoUserCA refuses a chain import outside dev mode while no user CA is
// configured: the chain could not be checked to come from the agency CA.
var errNoUserCA = roamsign.E(roamsign.ErrUnsupported, "signserver.importChain",
	"no user CA is configured (-user-ca): an imported chain must verify to the agency CA's trust anchors")

// checkUserCA refuses chain imports while no user CA is configured.
func (a *app) checkUserCA() error {
	if len(a.userAnchors) == 0 {
		return errNoUserCA
	}
	return nil
}

// loadUserAnchors returns the CAs imported chains must verify to: the
// certificates of cfg.UserCA and, in dev mode, the development CA.
func loadUserAnchors(cfg Config, ca *devCA) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	if ca != nil {
		out = append(out, ca.cert)
	}
	if cfg.UserCA == "" {
		return out, nil
	}
	certs, err := readCertFile(cfg.UserCA)
	if err != nil {
		return nil, fmt.Errorf("-user-ca: %w", err)
	}
	for _, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("-user-ca %s: %q is not a CA certificate", cfg.UserCA, c.Subject)
		}
	}
	return append(out, certs...), nil
}

// adminAPI is what the admin API serves: the service, with chain import
// refused while no user CA is configured.
func (a *app) adminAPI() roamsign.Admin {
	if a.checkUserCA() != nil {
		return noChainImport{a.svc}
	}
	return a.svc
}

// noChainImport refuses ImportChain with errNoUserCA.
type noChainImport struct{ roamsign.Admin }

func (noChainImport) ImportChain(context.Context, roamsign.ImportChainRequest) error {
	return errNoUserCA
}

// operatorContext names the operating-system user as the administrator
// ("cli:NAME") for the audit records of a command-line action.
func operatorContext(ctx context.Context) context.Context {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	return roamsign.WithHost(ctx, roamsign.HostID("cli:"+name))
}

// splitHosts splits a comma-separated list of host ids.
func splitHosts(s string) []roamsign.HostID {
	var hs []roamsign.HostID
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, roamsign.HostID(h))
		}
	}
	return hs
}

// readCertFile reads certificates (PEM, DER or PKCS#7) from a file of at
// most maxChainFile bytes.
func readCertFile(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, errors.New("no certificate file named")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxChainFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxChainFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxChainFile)
	}
	certs, _, err := servercert.ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return certs, nil
}

// readChainFile reads a user's chain, leaf first.
func readChainFile(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, errors.New("-chain FILE is required")
	}
	return readCertFile(path)
}

// readCertPool reads a PEM bundle into a pool.
func readCertPool(path string) (*x509.CertPool, error) {
	certs, err := readCertFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// writePEM writes der as one PEM block to the file path (mode 0644), or
// to stdout when path is empty.
func writePEM(stdout io.Writer, path, typ string, der []byte) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if path == "" {
		_, err := stdout.Write(b)
		return err
	}
	return atomicfile.Replace(path, b, 0o644)
}

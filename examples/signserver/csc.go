package main

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/roamsign/roamsign/transport/csc"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// The CSC API v2 face: /csc/v2/ (and /csc/v1/ aliases) over the same
// service, hosts authenticated as on /v1/. In dev mode a demo OAuth client
// "demo-csc" acts for host "demo": its secret is kept in the data
// directory (demo-csc.secret) and it may redirect to
// http://127.0.0.1:<any port>/callback, so a command-line CSC client can
// run the authorization code flow against `make serve`.

// cscDemoClient is the dev mode OAuth client id.
const cscDemoClient = "demo-csc"

// cscHandler builds the CSC face.
func (a *app) cscHandler(auth csc.Authenticator) (http.Handler, error) {
	opts := csc.Options{
		Auth: auth, ClientCerts: a.cfg.ClientCA != "", BaseURL: a.cfg.publicURL(),
		Name: "roamsign signserver", AuthMode: csc.AuthModeOAuth2Code, OfferPSS: true,
		Logger: a.log, Page: cscPage{tmpl: cscTemplate}, Policy: a.cfg.cscPolicy(),
		State: a.store,
	}
	if a.cfg.CSCClientsFile != "" {
		cs, err := loadCSCClients(a.cfg.CSCClientsFile, a.cfg.Dev)
		if err != nil {
			return nil, err
		}
		opts.Clients = append(opts.Clients, cs...)
	}
	if a.cfg.Dev {
		secret, err := loadOrCreateToken(filepath.Join(a.cfg.DataDir, "demo-csc.secret"))
		if err != nil {
			return nil, err
		}
		opts.Clients = append(opts.Clients, csc.OAuthClient{ID: cscDemoClient, Name: "Demo CSC client", Host: demoHost,
			SecretDigest: csc.HashSecret(secret), RedirectURIs: []string{"http://127.0.0.1/callback"}})
	}
	return csc.Handler(a.svc, opts), nil
}

// cscTemplate is the signing page of the CSC authorization code flow.
var cscTemplate = template.Must(template.New("csc-authorize.html").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
}).ParseFS(mustSub(webFS, "web"), "csc-authorize.html"))

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// cscPage renders the signing page in Malay with English, with the
// legal notice of the host demo.
type cscPage struct{ tmpl *template.Template }

func (p cscPage) Render(w http.ResponseWriter, _ *http.Request, d *csc.PageData) {
	_ = p.tmpl.Execute(w, d)
}

// loadCSCClients reads the CSC clients file (at most csc.MaxClientsFile
// bytes).
func loadCSCClients(path string, dev bool) ([]csc.OAuthClient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-csc-clients-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, csc.MaxClientsFile+1))
	if err != nil {
		return nil, fmt.Errorf("-csc-clients-file: %w", err)
	}
	cs, err := csc.ParseClients(data, dev)
	if err != nil {
		return nil, fmt.Errorf("-csc-clients-file %s: %s", path, httpapi.PublicDetail(err))
	}
	return cs, nil
}

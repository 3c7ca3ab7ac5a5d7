package csc

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	"github.com/roamsign/roamsign"
)

// Page renders the signing page of the authorization code flow. The
// handler validates the request, sends the OTP bound to the hashes and
// calls Render; the page must show the data header, every hash and the
// verification code, and post the form fields FieldSession (hidden,
// d.Session), FieldPIN, FieldOTP and FieldAction ("approve" or "cancel")
// to d.Action. With d.Fatal set it shows d.Error only: the request
// cannot go on and there is no form.
type Page interface {
	Render(w http.ResponseWriter, r *http.Request, d *PageData)
}

// PageItem is one hash to approve.
type PageItem struct {
	Label string // document label, when the application gave one
	Hash  string // base64
}

// PageData is what the signing page shows.
type PageData struct {
	Action           string // form action (path of oauth2/authorize)
	Session          string // value of the hidden FieldSession
	ClientName       string // the signature application
	User             roamsign.UserID
	SignerName       string // certificate subject common name
	Subject, Issuer  string
	SerialNumber     string // hexadecimal
	NotBefore        time.Time
	NotAfter         time.Time
	DataHeader       string
	HashAlgorithm    string
	Items            []PageItem
	VerificationCode string
	SentTo           string
	Channel          roamsign.Channel
	ExpiresAt        time.Time
	Lang             string
	Error            string // message to show ("" for none)
	Fatal            bool   // no form: the request cannot go on
}

// render shows the signing page of session sid.
func (s *server) render(w http.ResponseWriter, r *http.Request, sid string, ps *pageSession, msg string) {
	leaf := ps.cred.chain[0]
	header, _ := dataHeader(nameOf(ps.req.client), ps.req.headerText(), false)
	d := &PageData{
		Action: r.URL.Path, Session: sid, ClientName: nameOf(ps.req.client), User: ps.cred.user,
		SignerName: leaf.Subject.CommonName, Subject: roamsign.FormatDN(leaf.RawSubject), Issuer: roamsign.FormatDN(leaf.RawIssuer),
		SerialNumber: leaf.SerialNumber.Text(16), NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(),
		DataHeader: header, HashAlgorithm: ps.req.hashes[0].Algorithm.String(),
		VerificationCode: ps.challenge.VerificationCode, SentTo: ps.challenge.SentTo, Channel: ps.challenge.Channel,
		ExpiresAt: ps.challenge.ExpiresAt, Lang: ps.req.lang, Error: msg,
	}
	for i, h := range ps.req.hashes {
		it := PageItem{Hash: base64.StdEncoding.EncodeToString(h.Value)}
		if i < len(ps.req.labels) {
			it.Label = ps.req.labels[i]
		}
		d.Items = append(d.Items, it)
	}
	pageHeaders(w)
	if msg != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	s.opts.Page.Render(w, r, d)
}

// pageError shows an error the browser cannot be redirected with.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	pageHeaders(w)
	w.WriteHeader(http.StatusBadRequest)
	s.opts.Page.Render(w, r, &PageData{Error: e.desc + " (" + e.code + ")", Fatal: true})
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// defaultPage is the built-in signing page: plain HTML, no script.
type defaultPage struct{}

var defaultTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign / Tandatangan</title></head><body>
<h1>Digital signature / Tandatangan digital</h1>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
{{if not .Fatal}}
<p>{{.ClientName}} asks {{.SignerName}} ({{.User}}) to sign:</p>
<p id="data-header">{{.DataHeader}}</p>
<table><thead><tr><th>Document</th><th>Data Hash To Sign ({{.HashAlgorithm}})</th></tr></thead>
<tbody id="items">{{range .Items}}<tr><td>{{.Label}}</td><td><code>{{.Hash}}</code></td></tr>{{end}}</tbody></table>
<p>Verification code / Kod pengesahan: <strong id="vcode">{{.VerificationCode}}</strong> — the OTP was sent to {{.SentTo}}.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="session" value="{{.Session}}">
<label for="pin">PIN</label> <input id="pin" name="pin" type="password" autocomplete="off" autofocus>
<label for="otp">OTP</label> <input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code">
<button id="btn-approve" name="action" value="approve">Sign / Tandatangan</button>
<button id="btn-cancel" name="action" value="cancel">Cancel / Batal</button>
</form>{{end}}
</body></html>`))

func (defaultPage) Render(w http.ResponseWriter, _ *http.Request, d *PageData) {
	_ = defaultTmpl.Execute(w, d)
}

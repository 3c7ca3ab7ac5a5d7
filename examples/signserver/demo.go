package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/verify"
)

// hostDemo is a small "agency financial system": it keeps the documents,
// prepares PAdES signatures, asks the signing service for an OTP over the
// hashes only, and completes and verifies the signed PDFs. It talks to the
// service through roamsign.API like any host, as host "demo".
type hostDemo struct {
	api      roamsign.API
	verifier *verify.Verifier // nil: verification not configured
	stamper  pdf.Timestamper  // nil: no signature time-stamp (PAdES-B-B)
	// longTerm writes to w the signed PDF in (size bytes) with a /DSS
	// added (B-LT); nil: none.
	longTerm func(ctx context.Context, in io.ReaderAt, size int64, w io.Writer) error
	// lta completes signatures B-LTA in one pass (Prepared.CompleteLTA);
	// nil: below B-LTA.
	lta   *pdf.LTAOptions
	users []demoUser
	log   *slog.Logger
	now   func() time.Time

	// archive keeps the signed PDFs in the data directory for
	// demoRetention, so that download links and the next approval level
	// survive a restart.
	archive *demoArchive

	files demoFiles // documents being signed and their results, on disk
	// maxUpload is the largest upload accepted, in bytes (-demo-max-upload-mb).
	maxUpload int64

	mu       sync.Mutex
	sessions map[string]*demoSession
	uploads  map[string]*demoUpload // lazily made
}

type demoUser struct {
	ID    roamsign.UserID `json:"id"`
	Name  string          `json:"name"`
	Email string          `json:"-"`
	PIN   string          `json:"-"`
}

// demoUsers are enrolled on first start in dev mode.
var demoUsers = []demoUser{
	{ID: "850715015123", Name: "ALIYA BINTI AHMAD", Email: "aliya@agensi.gov.my", PIN: "Kewangan#2026"},
	{ID: "900101145678", Name: "MUHAMMAD FARID BIN OMAR", Email: "farid@agensi.gov.my", PIN: "Perakuan@77"},
}

type demoDoc struct {
	Name       string
	DataHeader string
	PDF        []byte // a sample document
	// path is a document on disk: an upload, a copy of an archived signed
	// document, or a signed result (d.files).
	path string
	file *os.File // open while its signature is prepared and completed
	prep *pdf.Prepared
	// repair, when set, lets an uploaded document refused as damaged be
	// replaced by its repaired copy (the user asked for it); repaired then
	// says what the repair found and changed. The copy is what is signed,
	// and its data header says so.
	repair   *demoFiles
	repaired *repairNote
	// copy is, for a signed result, the repaired copy that was signed,
	// kept beside it for download.
	copy string
}

type demoSession struct {
	user      roamsign.UserID
	level     string
	docs      []*demoDoc
	hashes    []roamsign.Hash
	header    string // the data header the OTP was requested with
	challenge *roamsign.OTPResponse
	cert      *roamsign.CertificateSummary
	chain     []*x509.Certificate
	created   time.Time
}

const (
	demoMaxDocs    = 20
	demoSessionTTL = 15 * time.Minute
	// demoTransferTime bounds the transfer of one upload or download,
	// beyond the server's timeouts, which are meant for API requests.
	demoTransferTime = 30 * time.Minute
)

// newHostDemo returns the host demo; it keeps its documents under
// dataDir: those being signed in demo-work, the signed ones in
// demo-signed.
func newHostDemo(api roamsign.API, v *verify.Verifier, log *slog.Logger, dataDir string) *hostDemo {
	d := &hostDemo{api: api, verifier: v, users: demoUsers, log: log, now: time.Now,
		sessions: map[string]*demoSession{}, maxUpload: demoDefaultMaxUploadMB * demoMB}
	d.archive = &demoArchive{dir: filepath.Join(dataDir, "demo-signed"), keep: demoRetention, now: func() time.Time { return d.now() }}
	d.files.dir = filepath.Join(dataDir, "demo-work")
	return d
}

func (d *hostDemo) ctx(r *http.Request) context.Context {
	return roamsign.WithHost(r.Context(), demoHost)
}

func (d *hostDemo) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /demo/api/config", d.config)
	mux.HandleFunc("POST /demo/api/upload", d.upload)
	mux.HandleFunc("POST /demo/api/prepare", d.prepare)
	mux.HandleFunc("POST /demo/api/sign", d.sign)
	mux.HandleFunc("POST /demo/api/renew", d.renew)
	mux.HandleFunc("GET /demo/download/{tx}/{i}", d.download)
	mux.HandleFunc("GET /demo/download/{tx}/{i}/repaired", d.download)
	mux.HandleFunc("GET /demo/sample/{id}", d.sample)
}

func (d *hostDemo) config(w http.ResponseWriter, _ *http.Request) {
	type doc struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	var docs []doc
	for _, v := range sampleVouchers {
		docs = append(docs, doc{v.ID, v.Title()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": d.users, "docs": docs,
		"maxUploadBytes": d.maxUpload, "tooLarge": tooLargeWords(d.maxUpload)})
}

func (d *hostDemo) sample(w http.ResponseWriter, r *http.Request) {
	for _, v := range sampleVouchers {
		if v.ID == r.PathValue("id") {
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(v.PDF())
			return
		}
	}
	http.NotFound(w, r)
}

type prepareRequest struct {
	Signer roamsign.UserID `json:"signer"`
	Level  string          `json:"level"`
	Docs   []string        `json:"docs"`
	From   string          `json:"from"` // transaction id: sign the documents signed there
	// UploadID names a document sent to /demo/api/upload (streamed to
	// disk, the only way a document is uploaded); UploadName is its file
	// name.
	UploadID   string `json:"uploadId"`
	UploadName string `json:"uploadName"`
	// Repair asks for a repaired copy of an uploaded document that is
	// damaged, or encrypted with permissions only (the copy is
	// decrypted), to be signed instead; without it such a document is
	// refused with the reason.
	Repair bool `json:"repair"`
}

// prepare builds the signing screen: it prepares each PDF, asks for an OTP
// over the hashes and returns what the screen shows.
func (d *hostDemo) prepare(w http.ResponseWriter, r *http.Request) {
	req, docs, err := d.readPrepare(w, r)
	if err != nil {
		writeDemoProblem(w, r, err)
		return
	}
	// The documents' files go with the session once it is stored; on any
	// earlier exit they are released here.
	stored := false
	defer func() {
		if !stored {
			releaseAll(docs)
		}
	}()
	ctx := d.ctx(r)
	med, err := d.api.Medium(ctx, roamsign.MediumRequest{User: req.Signer})
	if err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	if med.Use != roamsign.MediumRoamingOTP || len(med.Chain) == 0 {
		httpapi.WriteProblem(w, r, roamsign.E(roamsign.ErrForbidden, "demo.prepare", "the user has no usable roaming certificate"))
		return
	}
	chain, err := x509.ParseCertificates(bytes.Join(med.Chain, nil))
	if err != nil {
		httpapi.WriteProblem(w, r, roamsign.Wrap(roamsign.ErrInvalidInput, "demo.prepare", err, "bad certificate in the signer's chain"))
		return
	}
	level := truncate(strings.TrimSpace(req.Level), 64)
	s := &demoSession{user: req.Signer, level: level, docs: docs, cert: med.Certificate, chain: chain, created: d.now()}
	if s.hashes, err = prepareDocs(ctx, docs, chain, req.Signer, level, d.stamper); err != nil {
		writeDemoProblem(w, r, whyUnsigned(err))
		return
	}
	s.header = docs[0].DataHeader
	if len(docs) > 1 {
		names := make([]string, len(docs))
		for i, doc := range docs {
			names[i] = doc.Name
		}
		s.header = batchHeader(names, req.Signer, level)
	}
	if s.challenge, err = d.api.RequestOTP(ctx, roamsign.OTPRequest{User: req.Signer, Hashes: s.hashes, DataHeader: s.header}); err != nil {
		writeDemoProblem(w, r, err)
		return
	}
	id := randomID()
	sc := signingScreen(id, s)
	d.mu.Lock()
	d.gc()
	d.sessions[id] = s
	stored = true
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, sc)
}

// readPrepare reads a prepare request, at most 64 KiB of JSON (documents
// are uploaded apart, to /demo/api/upload), and the documents it names.
func (d *hostDemo) readPrepare(w http.ResponseWriter, r *http.Request) (*prepareRequest, []*demoDoc, error) {
	var req prepareRequest
	if err := httpapi.DecodeJSON(w, r, &req, 64<<10); err != nil {
		return nil, nil, err
	}
	docs, err := d.collect(r.Context(), &req)
	if err != nil {
		releaseAll(docs)
		return nil, nil, err
	}
	return &req, docs, nil
}

// prepareDocs prepares a visible signature on each document and returns
// the hashes to sign. pdf.Prepare bounds the memory and work each
// document may cost (an upload is untrusted input). A non-nil stamper
// time-stamps each signature when it is completed (PAdES-B-T).
func prepareDocs(ctx context.Context, docs []*demoDoc, chain []*x509.Certificate, signer roamsign.UserID, level string, stamper pdf.Timestamper) ([]roamsign.Hash, error) {
	hashes := make([]roamsign.Hash, 0, len(docs))
	for _, doc := range docs {
		opts := pdf.Options{
			Reason:      level,
			Location:    "Putrajaya, Malaysia",
			Timestamper: stamper,
			Appearance: &pdf.Appearance{
				Rect: signatureRect(level),
			},
		}
		var prep *pdf.Prepared
		var err error
		if doc.path != "" {
			prep, err = prepareRepairing(ctx, doc, func(f *os.File, size int64) (*pdf.Prepared, error) {
				return pdf.Prepare(ctx, f, size, chain, opts)
			})
		} else {
			prep, err = pdf.Prepare(ctx, bytes.NewReader(doc.PDF), int64(len(doc.PDF)), chain, opts)
		}
		name := doc.Name
		if doc.repaired != nil {
			name += " (repaired copy)"
		}
		doc.DataHeader = fmt.Sprintf("%s | %s | %s", name, signer, level)
		if err != nil {
			return nil, err
		}
		doc.prep = prep
		hashes = append(hashes, roamsign.Hash{Algorithm: prep.Hash(), Value: prep.Digest()})
	}
	return hashes, nil
}

// signatureRect places each approval level's visible signature in its own
// box at the foot of the page.
func signatureRect(level string) [4]float64 {
	slot := map[string]int{"Perakuan 1": 0, "Perakuan 2": 1, "Akuan Terima": 2, "Penyemak": 3}[level]
	x := 40 + float64(slot%2)*270
	y := 60 + float64(slot/2)*80
	return [4]float64{x, y, x + 250, y + 70}
}

// collect returns the documents the request names or uploads (uploads
// stored on disk); on error, also those collected so far, to be released.
func (d *hostDemo) collect(ctx context.Context, req *prepareRequest) (docs []*demoDoc, err error) {
	const op = "demo.prepare"
	if req.From != "" {
		signed, err := d.archive.load(req.From, &d.files)
		if err != nil {
			return nil, err
		}
		docs = append(docs, signed...)
	}
	for _, id := range req.Docs {
		found := false
		for _, v := range sampleVouchers {
			if v.ID == id {
				docs, found = append(docs, &demoDoc{Name: v.Number, PDF: v.PDF()}), true
			}
		}
		if !found {
			return docs, roamsign.E(roamsign.ErrNotFound, op, "unknown document %q", truncate(id, 32))
		}
	}
	uploaded := len(docs)
	if req.UploadID != "" {
		p, ok := d.takeUpload(req.UploadID)
		if !ok {
			return docs, roamsign.E(roamsign.ErrNotFound, op, "the upload has expired; upload the document again")
		}
		docs = append(docs, &demoDoc{Name: uploadName(req.UploadName), path: p})
	}
	if len(docs) == 0 {
		return docs, roamsign.E(roamsign.ErrInvalidInput, op, "choose at least one document")
	}
	if len(docs) > demoMaxDocs {
		return docs, roamsign.E(roamsign.ErrTooLarge, op, "at most %d documents at once", demoMaxDocs)
	}
	if req.Repair {
		// Only what the user uploaded may be repaired, and only when asked
		// (see prepareRepairing).
		for _, doc := range docs[uploaded:] {
			doc.repair = &d.files
		}
	}
	return docs, nil
}

// uploadName is the name an uploaded document is shown under.
func uploadName(s string) string {
	name := cleanName(strings.TrimSuffix(s, ".pdf"), 64)
	if name == "" {
		name = "upload"
	}
	return name
}

type signRequest struct {
	Session string `json:"session"`
	PIN     string `json:"pin"`
	OTP     string `json:"otp"`
}

type signedDoc struct {
	DataHeader   string        `json:"dataHeader"`
	Status       string        `json:"status"`
	Error        string        `json:"error,omitempty"`
	Verification *verification `json:"verification,omitempty"`
	Download     string        `json:"download,omitempty"`
	// Repaired says what the repair of the document found and fixed;
	// RepairedCopy links to the repaired copy as it was signed.
	Repaired     *repairNote `json:"repaired,omitempty"`
	RepairedCopy string      `json:"repairedCopy,omitempty"`
}

type verification struct {
	Verdict    verify.Verdict    `json:"verdict"`
	Signatures []string          `json:"signatures"`
	Report     *verify.PDFResult `json:"report,omitempty"`
}

// sign sends PIN and OTP with the hashes to the service, completes each PDF
// with its signature and verifies the result.
func (d *hostDemo) sign(w http.ResponseWriter, r *http.Request) {
	var req signRequest
	if err := httpapi.DecodeJSON(w, r, &req, 64<<10); err != nil {
		httpapi.WriteProblem(w, r, err)
		return
	}
	d.mu.Lock()
	s := d.sessions[req.Session]
	var ch *roamsign.OTPResponse // renew may replace it meanwhile
	if s != nil {
		ch = s.challenge
	}
	d.mu.Unlock()
	if s == nil {
		writeDemoProblem(w, r, errScreenExpired)
		return
	}
	ctx := d.ctx(r)
	resp, err := d.api.Sign(ctx, roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce,
		PIN: roamsign.Secret(req.PIN), OTP: roamsign.Secret(req.OTP),
		Hashes: s.hashes, RequestID: randomID(), Form: roamsign.FormRaw,
	})
	if err != nil {
		writeDemoProblem(w, r, whyRefused(err, ch, d.now()))
		return
	}
	// The challenge is used now, whatever happens next.
	d.mu.Lock()
	delete(d.sessions, req.Session)
	d.mu.Unlock()
	defer releaseAll(s.docs)
	// Completing, extending and verifying large documents takes longer
	// than the server's write timeout, which is meant for API requests.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(demoTransferTime))

	signedAt := d.now()
	kept := make([]*demoDoc, len(s.docs))
	out := make([]signedDoc, len(s.docs))
	for i, doc := range s.docs {
		var item *roamsign.SignedItem
		if i < len(resp.Items) {
			item = &resp.Items[i]
		}
		out[i], kept[i] = d.finish(ctx, doc, item, fmt.Sprintf("/demo/download/%s/%d", resp.TransactionID, i))
	}
	// The archive moves the files it keeps; what it did not keep goes.
	defer releaseAll(kept)
	if err := d.archive.store(resp.TransactionID, kept); err != nil {
		// The signatures are made and shown; only the download is lost.
		d.log.Error("demo: keeping the signed PDFs failed", "tx", resp.TransactionID, "err", err)
		for i := range out {
			out[i].Download, out[i].RepairedCopy = "", ""
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactionId": resp.TransactionID, "items": out,
		"signedAt": otp.FormatTime(signedAt, nil)})
}

// finish completes doc with its signed item (nil: none came back) into a
// file, adds the long-term update and verifies the result. It returns the
// result's row, with link as its download, and the document to archive:
// the signed file and, for a repaired document, the repaired copy that
// was signed.
func (d *hostDemo) finish(ctx context.Context, doc *demoDoc, item *roamsign.SignedItem, link string) (signedDoc, *demoDoc) {
	out := signedDoc{DataHeader: doc.DataHeader, Status: string(roamsign.ItemFailed), Repaired: doc.repaired}
	signed := &demoDoc{Name: doc.Name, DataHeader: doc.DataHeader, repaired: doc.repaired}
	if item == nil || item.Status != roamsign.ItemSigned {
		if item != nil {
			out.Error = item.Error
		}
		return out, signed
	}
	path, err := d.complete(ctx, doc, item.Signature)
	if err != nil {
		out.Error = roamsign.KindOf(err).Code()
		d.log.Warn("demo: completing the PDF failed", "doc", doc.Name, "err", err)
		return out, signed
	}
	signed.path = path
	out.Status, out.Download = string(roamsign.ItemSigned), link
	if doc.repaired != nil {
		// The repaired copy goes to the archive with the signed file
		// instead of being released with the session.
		signed.copy, doc.path = doc.path, ""
		out.RepairedCopy = link + "/repaired"
	}
	out.Verification = d.verify(ctx, path)
	return out, signed
}

// complete writes doc signed with sig, with the long-term updates when
// the demo makes them, into a file of d.files and returns its path.
func (d *hostDemo) complete(ctx context.Context, doc *demoDoc, sig []byte) (string, error) {
	if d.lta != nil {
		return d.files.create(func(w io.Writer) error {
			_, err := doc.prep.CompleteLTA(ctx, sig, w, *d.lta)
			return err
		})
	}
	path, err := d.files.create(func(w io.Writer) error { return doc.prep.Complete(ctx, sig, w) })
	if err != nil || d.longTerm == nil {
		return path, err
	}
	defer os.Remove(path)
	in, size, err := openSized(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	return d.files.create(func(w io.Writer) error { return d.longTerm(ctx, in, size, w) })
}

// verify checks every signature of the signed PDF at path (byte ranges,
// CMS, chain to the trust anchors, CRL, changes after signing), as a host
// does before posting a signed document.
func (d *hostDemo) verify(ctx context.Context, path string) *verification {
	if d.verifier == nil {
		return nil
	}
	f, size, err := openSized(path)
	if err != nil {
		return &verification{Verdict: verify.Invalid, Signatures: []string{"unreadable: " + roamsign.KindOf(err).Code()}}
	}
	defer f.Close()
	res, err := d.verifier.VerifyPDF(ctx, verify.PDFRequest{Document: f, Size: size})
	if err != nil {
		return &verification{Verdict: verify.Invalid, Signatures: []string{"unreadable: " + roamsign.KindOf(err).Code()}}
	}
	return summarise(res)
}

// summarise turns a PDF verification report into lines for the screen.
func summarise(res *verify.PDFResult) *verification {
	v := &verification{Verdict: res.Verdict, Report: res}
	for _, s := range res.Signatures {
		line := fmt.Sprintf("%s — %s: %s", s.Reason, s.Name, s.Verdict)
		if f := s.Failed(); f != nil {
			line += " (" + f.Name + ": " + f.Reason + ")"
		}
		if s.ModifiedAfterSigning {
			line += " — modified after signing"
		}
		v.Signatures = append(v.Signatures, line)
	}
	return v
}

// download sends a signed PDF of the archive from its file, or, on the
// path ending in /repaired, the repaired copy that was signed.
func (d *hostDemo) download(w http.ResponseWriter, r *http.Request) {
	var i int
	if _, err := fmt.Sscanf(r.PathValue("i"), "%d", &i); err != nil {
		http.NotFound(w, r)
		return
	}
	repaired := strings.HasSuffix(r.URL.Path, "/repaired")
	f, name, err := d.archive.open(r.PathValue("tx"), i, repaired)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	suffix := "signed"
	if repaired {
		suffix = "repaired"
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(demoTransferTime))
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.pdf"`, safeName(name), suffix))
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// gc drops expired sessions; d.mu must be held. Kept PDFs are swept by
// the archive.
func (d *hostDemo) gc() {
	now := d.now()
	for id, s := range d.sessions {
		if now.Sub(s.created) > demoSessionTTL {
			releaseAll(s.docs)
			delete(d.sessions, id)
		}
	}
	for id, u := range d.uploads {
		if now.Sub(u.created) > demoSessionTTL {
			os.Remove(u.path)
			delete(d.uploads, id)
		}
	}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// reasonHeader carries a demo refusal's reason (see demoProblem) beside
// the problem document, for the page to word its headline.
const reasonHeader = "X-Demo-Reason"

// The reasons the page words more precisely than the error's kind.
const (
	reasonOTPExpired     = "otp_expired"     // the OTP's time ran out: request a new one
	reasonTriesExhausted = "tries_exhausted" // every try of the OTP was used: request a new one
	reasonScreenExpired  = "screen_expired"  // the demo forgot the signing screen: start again
	reasonEncrypted      = "encrypted"       // an encrypted (password-protected) upload
	reasonDamaged        = "damaged"         // a damaged upload: tick the repair box
	reasonOwnerEncrypted = "owner_encrypted" // encrypted with permissions only: tick the repair box
	reasonTooLarge       = "upload_too_large"
)

// demoProblem is a refusal with a reason: the kind "expired" covers an
// OTP out of time and one out of tries, whose headlines differ, and
// "unsupported" an encrypted upload among other things.
type demoProblem struct {
	reason string
	err    error
}

func (p *demoProblem) Error() string { return p.err.Error() }
func (p *demoProblem) Unwrap() error { return p.err }

var errScreenExpired = &demoProblem{reasonScreenExpired, roamsign.E(roamsign.ErrExpired, "demo.sign", "the signing screen has expired; start again")}

// demoMB is the unit in which the demo's upload limit is set and told: a
// megabyte of 1,000,000 bytes.
const demoMB = 1_000_000

// demoDefaultMaxUploadMB is the default of -demo-max-upload-mb.
const demoDefaultMaxUploadMB = 1000

// tooLargeWords is the one wording, in Malay and English, of the refusal
// of an upload larger than limit bytes: the server's refusal carries the
// English line as its detail, and the page, which refuses such a file
// before sending it, has both from /demo/api/config.
func tooLargeWords(limit int64) [2]string {
	mb := limit / demoMB
	return [2]string{
		fmt.Sprintf("Fail PDF ini melebihi %d MB, saiz terbesar yang diterima oleh demo ini. Pilih fail yang lebih kecil.", mb),
		fmt.Sprintf("The PDF is larger than %d MB, the largest this demo accepts. Choose a smaller file.", mb),
	}
}

// uploadTooLarge is the refusal of an upload larger than limit bytes,
// whichever way it came.
func uploadTooLarge(limit int64) error {
	return &demoProblem{reasonTooLarge, roamsign.E(roamsign.ErrTooLarge, "demo.upload", "%s", tooLargeWords(limit)[1])}
}

// writeDemoProblem writes err as a problem document, with its reason in
// reasonHeader when it has one.
func writeDemoProblem(w http.ResponseWriter, r *http.Request, err error) {
	var p *demoProblem
	if errors.As(err, &p) {
		w.Header().Set(reasonHeader, p.reason)
	}
	httpapi.WriteProblem(w, r, err)
}

// whyRefused gives a refused signature its reason: an expired challenge
// whose time has not run out has run out of tries.
func whyRefused(err error, ch *roamsign.OTPResponse, now time.Time) error {
	if roamsign.KindOf(err) != roamsign.ErrExpired {
		return err
	}
	if now.Before(ch.ExpiresAt) {
		return &demoProblem{reasonTriesExhausted, err}
	}
	return &demoProblem{reasonOTPExpired, err}
}

// whyUnsigned gives a document refused as encrypted or as damaged its
// reason. For an encrypted one the signer's file, not the server, is at
// fault, so it is a 400 whose detail the page shows, not a 501. A damaged
// one, or one encrypted with permissions only, is refused with what is
// wrong and the box to tick.
func whyUnsigned(err error) error {
	const op = "demo.prepare"
	switch {
	case errors.Is(err, pdf.ErrOwnerEncrypted):
		return &demoProblem{reasonOwnerEncrypted, roamsign.Wrap(roamsign.ErrInvalidInput, op, err,
			`The PDF is encrypted with permissions only (it opens without a password). Tick "Repair damaged PDF" and sign again: a decrypted copy is then signed.`)}
	case errors.Is(err, pdf.ErrPasswordRequired):
		return &demoProblem{reasonEncrypted, roamsign.Wrap(roamsign.ErrInvalidInput, op, err,
			"the PDF is encrypted and needs a password to open: decrypt it with the password, then upload it again")}
	case errors.Is(err, pdf.ErrEncrypted):
		return &demoProblem{reasonEncrypted, roamsign.Wrap(roamsign.ErrInvalidInput, op, err,
			"the PDF is encrypted (password-protected): remove the encryption, then upload it again")}
	case errors.Is(err, pdf.ErrRepairable):
		return &demoProblem{reasonDamaged, roamsign.Wrap(roamsign.ErrInvalidInput, op, err,
			"The PDF is damaged ("+httpapi.PublicDetail(err)+`). Tick "Repair damaged PDF" and sign again: a repaired copy is then signed.`)}
	}
	return err
}

// screen is what the signing screen shows.
type screen struct {
	Session     string                       `json:"session"`
	Items       []screenItem                 `json:"items"`
	Challenge   *roamsign.OTPResponse        `json:"challenge"`
	Certificate *roamsign.CertificateSummary `json:"certificate"`
	// Shown holds the times as the signer reads them (otp.FormatTime):
	// day first, 24-hour, with the zone.
	Shown shownTimes `json:"shown"`
}

type screenItem struct {
	DataHeader string `json:"dataHeader"`
	Hash       string `json:"hash"`
	// Repaired says what the repair of the document found and fixed: the
	// repaired copy is what is signed.
	Repaired *repairNote `json:"repaired,omitempty"`
}

type shownTimes struct {
	Expires   string `json:"expires"`
	CertStart string `json:"certStart,omitempty"`
	CertEnd   string `json:"certEnd,omitempty"`
}

// signingScreen builds the signing screen of session id.
func signingScreen(id string, s *demoSession) screen {
	sc := screen{Session: id, Challenge: s.challenge, Certificate: s.cert,
		Shown: shownTimes{Expires: otp.FormatTime(s.challenge.ExpiresAt, nil)}}
	for i, doc := range s.docs {
		sc.Items = append(sc.Items, screenItem{doc.DataHeader, base64.StdEncoding.EncodeToString(s.hashes[i].Value), doc.repaired})
	}
	if s.cert != nil {
		sc.Shown.CertStart = otp.FormatDate(s.cert.NotBefore, nil)
		sc.Shown.CertEnd = otp.FormatDate(s.cert.NotAfter, nil)
	}
	return sc
}

// renew requests a new OTP for a signing screen whose OTP expired or ran
// out of tries: the same documents, hashes and data header, a new
// challenge.
func (d *hostDemo) renew(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Session string `json:"session"`
	}
	if err := httpapi.DecodeJSON(w, r, &req, 4<<10); err != nil {
		writeDemoProblem(w, r, err)
		return
	}
	d.mu.Lock()
	s := d.sessions[req.Session]
	d.mu.Unlock()
	if s == nil {
		writeDemoProblem(w, r, errScreenExpired)
		return
	}
	ch, err := d.api.RequestOTP(d.ctx(r), roamsign.OTPRequest{User: s.user, Hashes: s.hashes, DataHeader: s.header})
	if err != nil {
		writeDemoProblem(w, r, err)
		return
	}
	d.mu.Lock()
	s.challenge, s.created = ch, d.now()
	sc := signingScreen(req.Session, s)
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, sc)
}

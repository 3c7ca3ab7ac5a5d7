package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// browserUploadLimitMB is the upload limit of the server of
// TestBrowserUpload: above 10 MiB, below what the test refuses.
const browserUploadLimitMB = 30

// TestBrowserUpload drives the page's upload in headless Chromium: a
// 20 MiB PDF (generated at test time) is streamed to the server and signed
// with PIN and OTP, and the downloaded file holds the upload byte for byte
// followed by the signature; a PDF with a wrong startxref is refused with
// the advice to tick "Repair damaged PDF", and with the box ticked the
// repaired copy is signed, the signing screen and the result list what
// was fixed, and the repaired copy that was signed is offered too; so is
// a PDF encrypted with permissions only, as a decrypted copy; a file
// over the server's limit gets the one message, the server's own words.
// Every signed file passes pdfsig, qpdf --check and `signserver verify`.
func TestBrowserUpload(t *testing.T) {
	checkTool(t, "pdfsig")
	checkTool(t, "qpdf")
	checkChromium(t)
	dir := t.TempDir()
	s := startServer(t, dir, "-demo-max-upload-mb", strconv.Itoa(browserUploadLimitMB))
	b := newBrowser(t, s)
	// Sending, signing (B-LTA) and verifying 20 MiB takes seconds, many
	// more on a loaded machine under the race detector.
	b.timeout = 2 * time.Minute
	b.open()
	var signed []string

	// A large upload, alone (the first voucher is ticked by default).
	large, size := pdfxtest.LargeFile(t, pdfxtest.LargeOptions{Pages: 20, Size: 20 << 20})
	require.Greater(t, size, int64(10<<20))
	b.do("choose a 20 MiB PDF",
		chromedp.Click(chromedp.CSS("#doc-pv-0001")),
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser1),
		chromedp.SetValue(chromedp.CSS("#level"), "Perakuan 1"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{large}),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	name := strings.TrimSuffix(filepath.Base(large), ".pdf")
	vcode := b.checkSigningScreen(name, demoUser1, "ALIYA BINTI AHMAD")
	doc := b.confirm(demoUser1, demoPIN1, vcode, 1)
	orig, err := os.ReadFile(large)
	require.NoError(t, err)
	require.Greater(t, len(doc), len(orig))
	require.True(t, bytes.Equal(orig, doc[:len(orig)]), "the signed PDF is an incremental update of the upload")
	signed = append(signed, writeTemp(t, "large-signed.pdf", doc))

	// A damaged upload: refused with the advice, then repaired on request.
	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	damaged := filepath.Join(t.TempDir(), "rosak.pdf")
	broken := wrongStartxref(t, good)
	require.NoError(t, os.WriteFile(damaged, broken, 0o600))
	// What signer/pdf says is wrong with it, which the refusal repeats.
	fx := newDemoFixture(t)
	_, perr := pdf.Prepare(context.Background(), bytes.NewReader(broken), int64(len(broken)), fx.chain, pdf.Options{})
	require.ErrorIs(t, perr, pdf.ErrRepairable)
	what := httpapi.PublicDetail(perr)
	b.do("choose a damaged PDF",
		chromedp.Click(chromedp.CSS("#btn-restart")),
		chromedp.WaitVisible(chromedp.CSS("#step-choose")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{damaged}),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	if got := b.text("#error"); !strings.Contains(got, "The PDF is damaged (") || !strings.Contains(got, "PDF ini rosak") ||
		!strings.Contains(got, `Tick "Repair damaged PDF"`) || !strings.Contains(got, what) {
		b.fail("damaged PDF without the repair box: want the plain refusal that says what is wrong and to tick the box, got %q", got)
	}
	if !b.visible("#step-choose") || b.visible("#step-sign") {
		b.fail("damaged PDF: the page left the first step")
	}
	b.do("tick the repair box and sign again",
		chromedp.Click(chromedp.CSS("#repair")),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	note := b.text("#sign-items .repaired")
	if !strings.Contains(note, "A repaired copy is signed") || b.eval(`String(document.querySelectorAll("#sign-items .repaired li").length)`) == "0" {
		b.fail("signing screen: want what the repair found and fixed, got %q", note)
	}
	vcode = b.checkSigningScreen("rosak (repaired copy)", demoUser1, "ALIYA BINTI AHMAD")
	doc = b.confirm(demoUser1, demoPIN1, vcode, 1)
	if got := b.text("#result-items .repaired"); !strings.Contains(got, "A repaired copy is signed") || got != note {
		b.fail("result: want the same list of fixes as the signing screen (%q), got %q", note, got)
	}
	href := b.eval(`(() => { const a = document.querySelector("#result-items a.repaired-copy"); return a ? a.getAttribute("href") : ""; })()`)
	if !strings.HasSuffix(href, "/repaired") {
		b.fail("result: no link to the repaired copy that was signed (%q)", href)
	}
	repaired := s.get(href)
	require.Greater(t, len(doc), len(repaired))
	require.True(t, bytes.Equal(repaired, doc[:len(repaired)]), "what was signed is the repaired copy offered, byte for byte")
	require.False(t, bytes.Equal(repaired, broken), "the copy is repaired")
	pdfxtest.Check(t, repaired)
	signed = append(signed, writeTemp(t, "repaired-signed.pdf", doc))

	// A PDF encrypted with permissions only: refused with the advice
	// without the box, signed as a decrypted copy with it.
	owner := pdfxtest.QPDF(t, good, pdfxtest.OwnerOnlyEncryptions["aes-256"]...)
	ownerPath := filepath.Join(t.TempDir(), "terhad.pdf")
	require.NoError(t, os.WriteFile(ownerPath, owner, 0o600))
	b.do("choose a PDF encrypted with permissions only, without the repair box",
		chromedp.Click(chromedp.CSS("#btn-restart")),
		chromedp.WaitVisible(chromedp.CSS("#step-choose")),
		chromedp.Click(chromedp.CSS("#repair")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{ownerPath}),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	if got := b.text("#error"); !strings.Contains(got, "encrypted with permissions only") || !strings.Contains(got, `Tick "Repair damaged PDF"`) {
		b.fail("owner-password PDF without the repair box: want the refusal that says to tick the box, got %q", got)
	}
	b.do("tick the repair box and sign the decrypted copy",
		chromedp.Click(chromedp.CSS("#repair")),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	if note := b.text("#sign-items .repaired"); !strings.Contains(note, "removed the encryption") {
		b.fail("signing screen: want the removal of the encryption among the fixes, got %q", note)
	}
	vcode = b.checkSigningScreen("terhad (repaired copy)", demoUser1, "ALIYA BINTI AHMAD")
	doc = b.confirm(demoUser1, demoPIN1, vcode, 1)
	require.NotContains(t, string(doc), "/Encrypt", "the signed copy is decrypted")
	signed = append(signed, writeTemp(t, "decrypted-signed.pdf", doc))

	// A file over the limit: the page refuses it before sending, in the
	// server's words, which the server's own refusal carries too.
	over := filepath.Join(t.TempDir(), "besar.pdf")
	require.NoError(t, os.WriteFile(over, nil, 0o600))
	require.NoError(t, os.Truncate(over, browserUploadLimitMB*demoMB+1))
	b.do("choose a file over the limit",
		chromedp.Click(chromedp.CSS("#btn-restart")),
		chromedp.WaitVisible(chromedp.CSS("#step-choose")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{over}),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	words := tooLargeWords(browserUploadLimitMB * demoMB)
	got := b.text("#error")
	for _, w := range words {
		assert.Contains(t, got, w, "the page's refusal of a file over the limit")
	}
	assert.Contains(t, words[1], fmt.Sprintf("larger than %d MB", browserUploadLimitMB))
	// The server refuses it from its announced size, before the body is
	// sent (Expect: 100-continue), so the answer never races the upload.
	req, err := http.NewRequest(http.MethodPost, s.base+"/demo/api/upload", bytes.NewReader(make([]byte, browserUploadLimitMB*demoMB+1)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("Expect", "100-continue")
	tr := s.hc.Transport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = time.Minute
	resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Do(req)
	require.NoError(t, err)
	var p struct{ Detail string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Equal(t, words[1], p.Detail, "the server's refusal has the page's words")
	b.checkNoExceptions()

	// The signed files verify with the server's own verifier.
	require.NoError(t, s.stop())
	for _, path := range signed {
		out, errOut, err := runCmd(t, "verify", path, "-data-dir", dir)
		if err != nil || !strings.Contains(out, path+": valid (2 signatures") {
			t.Fatalf("verify %s: err %v\nstdout:\n%s\nstderr:\n%s", path, err, out, errOut)
		}
	}
}

// wrongStartxref returns doc with its last startxref pointing a few bytes
// off the cross-reference table, damage pdf.Repair mends.
func wrongStartxref(t *testing.T, doc []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(doc, []byte("startxref\n"))
	require.Positive(t, i)
	j := i + len("startxref\n")
	k := j + bytes.IndexByte(doc[j:], '\n')
	off, err := strconv.Atoi(string(doc[j:k]))
	require.NoError(t, err)
	out := append([]byte{}, doc[:j]...)
	out = append(out, strconv.Itoa(off+7)...)
	return append(out, doc[k:]...)
}

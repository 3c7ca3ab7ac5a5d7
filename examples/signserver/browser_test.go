package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath is Debian's Chromium, installed by `make deps`.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserSigning drives the host demo page in headless Chromium as a
// signer does: choose a voucher, request the OTP, read it from the
// development mailbox, type PIN and OTP, confirm, see the verification,
// download the signed PDF and check it with pdfsig and qpdf; then the
// second approval level by another user on the signed PDF, a wrong OTP,
// and the signing screen on a phone-width viewport.
func TestBrowserSigning(t *testing.T) {
	checkChromium(t)
	checkTool(t, "pdfsig")
	checkTool(t, "qpdf")
	dir := t.TempDir()
	s := startServer(t, dir)

	b := newBrowser(t, s)
	b.open()

	// Certifier 1 signs voucher PV2026/000124.
	b.do("choose the voucher",
		chromedp.Click(chromedp.CSS("#doc-pv-0001")), // checked by default
		chromedp.Click(chromedp.CSS("#doc-pv-0002")),
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser1),
		chromedp.SetValue(chromedp.CSS("#level"), "Perakuan 1"),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	vcode := b.checkSigningScreen("PV2026/000124", demoUser1, "ALIYA BINTI AHMAD")
	pdf1 := b.confirm(demoUser1, demoPIN1, vcode, 1)
	if !strings.Contains(string(pdf1), "PV2026/000124") {
		b.fail("the signed PDF is not voucher PV2026/000124")
	}

	// Certifier 2 signs the already signed PDF.
	b.do("send to the next signer",
		chromedp.Click(chromedp.CSS("#btn-next-level")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	vcode = b.checkSigningScreen("Perakuan 2", demoUser2, "MUHAMMAD FARID BIN OMAR")
	pdf2 := b.confirm(demoUser2, demoPIN2, vcode, 2)
	if len(pdf2) <= len(pdf1) || string(pdf2[:len(pdf1)]) != string(pdf1) {
		b.fail("the second signature is not an incremental update of the first signed PDF")
	}
	if got := b.text("#result-items"); !strings.Contains(got, "Perakuan 1") || !strings.Contains(got, "Perakuan 2") {
		b.fail("the verification screen does not list both approvals:\n%s", got)
	}

	// A wrong OTP is refused in plain words and the signer stays on the
	// signing screen.
	b.do("start again",
		chromedp.Click(chromedp.CSS("#btn-restart")),
		chromedp.WaitVisible(chromedp.CSS("#step-choose")),
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser1),
		chromedp.SetValue(chromedp.CSS("#level"), "Perakuan 1"),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	vcode = b.text("#vcode")
	otp := readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), vcode)
	wrong := otp[:5] + string('0'+(otp[5]-'0'+1)%10)
	b.do("type PIN and a wrong OTP",
		chromedp.SendKeys(chromedp.CSS("#pin"), demoPIN1),
		chromedp.SendKeys(chromedp.CSS("#otp"), wrong),
		chromedp.Click(chromedp.CSS("#btn-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	if got := b.text("#error"); !strings.Contains(got, "Wrong PIN or OTP") || !strings.Contains(got, "PIN atau OTP tidak sah") {
		b.fail("wrong OTP: want the plain-words message, got %q", got)
	}
	// The stable code and the request's reference are shown, internals
	// (operation names like "service.Sign: otp.…") are not.
	if got := b.text("#error"); !strings.Contains(got, "authorization_failed") || !strings.Contains(got, "ruj./ref. ") ||
		strings.Contains(got, "service.") || strings.Contains(got, "otp.") || strings.Contains(got, "httpapi") {
		b.fail("wrong OTP: want the code and a reference without internals, got %q", got)
	}
	if !b.visible("#step-sign") || b.visible("#step-result") {
		b.fail("wrong OTP: the page left the signing screen")
	}
	// The challenge allows another try: the right OTP now signs, submitted
	// from the keyboard.
	b.do("retry with the right OTP",
		chromedp.SendKeys(chromedp.CSS("#otp"), otp+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#step-result")),
	)
	if msg := b.text("#result-msg"); !strings.Contains(msg, "Signed successfully: 1 of 1") {
		b.fail("retry after a wrong OTP: %q", msg)
	}

	// Batch: three vouchers, one OTP, one row each.
	b.do("choose all vouchers",
		chromedp.Click(chromedp.CSS("#btn-restart")),
		chromedp.WaitVisible(chromedp.CSS("#step-choose")),
		chromedp.Click(chromedp.CSS("#doc-pv-0001")),
		chromedp.Click(chromedp.CSS("#doc-pv-0003")),
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser1),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)
	if n := b.eval(`String(document.querySelectorAll("#sign-items tr").length)`); n != "3" {
		b.fail("batch: the signing screen lists %s documents, want 3", n)
	}
	otp = readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), b.text("#vcode"))
	b.do("confirm the batch",
		chromedp.SendKeys(chromedp.CSS("#pin"), demoPIN1),
		chromedp.SendKeys(chromedp.CSS("#otp"), otp),
		chromedp.Click(chromedp.CSS("#btn-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#step-result")),
	)
	if msg := b.text("#result-msg"); !strings.Contains(msg, "Signed successfully: 3 of 3") {
		b.fail("batch: %q", msg)
	}
	if n := b.eval(`String(document.querySelectorAll("#result-items .badge.valid").length)`); n != "3" {
		b.fail("batch: %s documents verified valid, want 3:\n%s", n, b.text("#result-items"))
	}

	// Phone width: the signing screen fits and Confirm is reachable.
	p := b.newTab("phone")
	p.do("open at 375×800",
		chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#doc-pv-0001")),
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser2),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
		chromedp.ScrollIntoView(chromedp.CSS("#btn-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#btn-confirm")),
	)
	box := p.eval(`(() => { const r = document.getElementById("btn-confirm").getBoundingClientRect();
		return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight].map(Math.round).join(" "); })()`)
	var left, right, top, bottom, vw, vh int
	if _, err := fmt.Sscan(box, &left, &right, &top, &bottom, &vw, &vh); err != nil {
		p.fail("confirm button box %q: %v", box, err)
	}
	if vw != 375 || left < 0 || right > vw || top < 0 || bottom > vh || right-left < 40 || bottom-top < 20 {
		p.fail("at 375×800 the confirm button is not fully visible: box left %d right %d top %d bottom %d in viewport %d×%d", left, right, top, bottom, vw, vh)
	}

	if w := p.eval(`String(document.documentElement.scrollWidth)`); w != "375" {
		p.fail("at 375×800 the signing screen scrolls sideways: page width %s", w)
	}

	b.checkNoExceptions()
}

// checkChromium fails t with install advice when Chromium is missing.
func checkChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium not found at %s (%v): install it with `make deps` (Debian package chromium)", chromiumPath, err)
	}
}

// browser is one headless Chromium tab on the test server.
type browser struct {
	t         *testing.T
	s         *testServer
	name      string
	ctx       context.Context
	artifacts string
	// timeout bounds each do; default 20 s (a test of large documents
	// gives more).
	timeout time.Duration

	mu         *sync.Mutex
	exceptions *[]string
}

func newBrowser(t *testing.T, s *testServer) *browser {
	t.Helper()
	checkChromium(t)
	artifacts := os.Getenv("ROAMSIGN_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		// Trust exactly the server's development TLS key, not every
		// certificate.
		chromedp.Flag("ignore-certificate-errors-spki-list", tlsSPKIHash(t, s.dir)),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, s: s, name: "desktop", ctx: ctx, artifacts: artifacts, timeout: 20 * time.Second, mu: &sync.Mutex{}, exceptions: new([]string)}
	// The first action starts the browser; it runs on the tab context
	// itself, since the browser lives as long as that context.
	require.NoError(t, chromedp.Do(ctx), "starting Chromium %s", chromiumPath)
	b.watchExceptions()
	return b
}

// newTab opens another tab in the same browser.
func (b *browser) newTab(name string) *browser {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	nb := &browser{t: b.t, s: b.s, name: name, ctx: ctx, artifacts: b.artifacts, timeout: b.timeout, mu: b.mu, exceptions: b.exceptions}
	nb.watchExceptions()
	return nb
}

// watchExceptions records uncaught JavaScript exceptions of the tab.
func (b *browser) watchExceptions() {
	events := chromedp.Events(b.ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			*b.exceptions = append(*b.exceptions, msg)
			b.mu.Unlock()
		}
	}()
}

func (b *browser) checkNoExceptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(*b.exceptions) > 0 {
		b.t.Errorf("uncaught JavaScript exceptions on the page:\n%s", strings.Join(*b.exceptions, "\n"))
	}
}

// tlsSPKIHash returns the base64 SHA-256 of the development TLS
// certificate's public key, the form Chromium's
// --ignore-certificate-errors-spki-list takes.
func tlsSPKIHash(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "tls", "server.pem"))
	require.NoError(t, err, "development TLS certificate")
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("development TLS certificate: no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func (b *browser) open() {
	b.do("open the host demo",
		chromedp.Navigate(b.s.base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#doc-pv-0002")),
	)
	if title := b.eval(`document.title`); !strings.Contains(title, "Agency Financial System") {
		b.fail("unexpected page title %q", title)
	}
	// Every form control has a label a screen reader announces.
	if unlabelled := b.eval(`[...document.querySelectorAll("input, select, textarea")]
		.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.name).join(" ")`); unlabelled != "" {
		b.fail("form controls without a label: %s", unlabelled)
	}
}

// do runs browser steps with a time limit; on failure it saves a
// screenshot and fails the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression that yields a string.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.fail("evaluate %.60q: %v", expr, err)
	}
	return v
}

// text returns the rendered text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, sel))
}

// visible reports whether the element matching sel is rendered.
func (b *browser) visible(sel string) bool {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.offsetParent !== null ? "yes" : "no"; })()`, sel)) == "yes"
}

// fail saves a full-page screenshot into the artifacts directory and
// fails the test.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	name := fmt.Sprintf("%s-%s-%d.png", b.t.Name(), b.name, time.Now().UnixNano())
	name = strings.NewReplacer("/", "_", " ", "_").Replace(name)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		b.t.Logf("screenshot failed: %v", err)
	} else if path := filepath.Join(b.artifacts, name); os.WriteFile(path, png, 0o644) == nil {
		b.t.Logf("screenshot saved: %s", path)
	}
	b.t.Fatal(msg)
}

var base64Hash = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)

// checkSigningScreen checks what the signing screen shows and returns the
// verification code.
func (b *browser) checkSigningScreen(header, user, name string) string {
	b.t.Helper()
	table := b.text("#step-sign table")
	if !strings.Contains(table, "Data Header") || !strings.Contains(table, "Data Hash To Sign") {
		b.fail("signing screen: no Data Header / Data Hash To Sign columns:\n%s", table)
	}
	row := b.text("#sign-items tr")
	cells := strings.Split(row, "\t")
	if len(cells) != 2 || !strings.Contains(cells[0], header) || !strings.Contains(cells[0], user) || !base64Hash.MatchString(strings.TrimSpace(cells[1])) {
		b.fail("signing screen: want header with %q and %s and a base64 SHA-256 hash, got %q", header, user, row)
	}
	vcode := strings.TrimSpace(b.text("#vcode"))
	if vcode == "" {
		b.fail("signing screen: no verification code")
	}
	for sel, what := range map[string]string{"#cert-start": "start date", "#cert-end": "end date", "#cert-serial": "serial number"} {
		if strings.TrimSpace(b.text(sel)) == "" {
			b.fail("certificate panel: empty %s", what)
		}
	}
	if subj := b.text("#cert-subject"); !strings.Contains(subj, name) {
		b.fail("certificate panel: subject %q does not name %s", subj, name)
	}
	notice := b.text("#form-sign .notice")
	for _, want := range []string{
		"Akta Tandatangan Digital 1997 (Akta 562)", "seksyen 43 dan 83", "Jangan pinjamkan atau kongsi PIN",
		"Digital Signature Act 1997 (Act 562)", "sections 43 and 83", "Do not lend or share your PIN",
	} {
		if !strings.Contains(notice, want) {
			b.fail("legal notice lacks %q:\n%s", want, notice)
		}
	}
	if got := b.eval(`document.activeElement ? document.activeElement.id : ""`); got != "pin" {
		b.fail("signing screen: focus is on %q, want the PIN field", got)
	}
	return vcode
}

// confirm reads the OTP from the development mailbox, types PIN and OTP,
// confirms and checks the result screen; it downloads the signed PDF and
// checks it has wantSigs valid signatures.
func (b *browser) confirm(user, pin, vcode string, wantSigs int) []byte {
	b.t.Helper()
	otp := readOTP(b.t, b.s.hc, b.s.base, demoEmail(b.t, user), vcode)
	b.do("type PIN and OTP and confirm",
		chromedp.SendKeys(chromedp.CSS("#pin"), pin),
		chromedp.SendKeys(chromedp.CSS("#otp"), otp),
		chromedp.Click(chromedp.CSS("#btn-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#step-result")),
		chromedp.WaitVisible(chromedp.CSS("#result-items a[download]")),
	)
	if msg := b.text("#result-msg"); !strings.Contains(msg, "Signed successfully: 1 of 1") {
		b.fail("result: %q", msg)
	}
	if v := b.text("#result-items .badge.valid"); v != "valid" {
		b.fail("verification: want verdict valid, got %q; screen:\n%s", v, b.text("#result-items"))
	}
	if pinLeft := b.eval(`document.getElementById("pin").value`); pinLeft != "" {
		b.fail("the PIN stays in the form after signing")
	}
	href := b.eval(`document.querySelector("#result-items a[download]").getAttribute("href")`)
	if !strings.HasPrefix(href, "/demo/download/") {
		b.fail("download link %q", href)
	}
	doc := b.s.get(href)
	path := writeTemp(b.t, fmt.Sprintf("signed-%d.pdf", wantSigs), doc)
	checkPDF(b.t, path, wantSigs)
	return doc
}

package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// shownTime is a time as the signer reads it: day first, 24-hour, MYT.
var shownTime = regexp.MustCompile(`^\d{2}/\d{2}/\d{4} \d{2}:\d{2} MYT$`)

// TestBrowserTimesHeadlinesAndNewOTP drives the signing screen in headless
// Chromium: the OTP expiry, the certificate dates, the result screen's
// signing time and the mailbox read day first, 24-hour, in MYT (as the
// OTP message does); the OTP's tries running out gets its own headline,
// not the expired one, and a "Request a new OTP" action on the same
// screen, whose new OTP signs.
func TestBrowserTimesHeadlinesAndNewOTP(t *testing.T) {
	checkChromium(t)
	s := startServer(t, t.TempDir())
	c, err := httpapi.NewClient(s.base, httpapi.ClientOptions{HTTPClient: s.hc, APIKey: s.apiKey()})
	require.NoError(t, err)
	med, err := c.Medium(context.Background(), roamsign.MediumRequest{User: demoUser1})
	require.NoError(t, err)

	b := newBrowser(t, s)
	b.open()
	b.do("prepare a voucher",
		chromedp.SetValue(chromedp.CSS("#signer"), demoUser1),
		chromedp.Click(chromedp.CSS("#btn-prepare")),
		chromedp.WaitVisible(chromedp.CSS("#step-sign")),
	)

	// Times: one format, the OTP message's.
	expiresAt, err := time.Parse(time.RFC3339Nano, b.eval(`document.getElementById("expires").dateTime`))
	require.NoError(t, err)
	if got, want := b.text("#expires"), otp.FormatTime(expiresAt, nil); got != want || !shownTime.MatchString(got) {
		b.fail("OTP expiry shown as %q, want %q", got, want)
	}
	if got, want := b.text("#cert-start"), otp.FormatDate(med.Certificate.NotBefore, nil); got != want {
		b.fail("certificate start date shown as %q, want %q (day first)", got, want)
	}
	if got, want := b.text("#cert-end"), otp.FormatDate(med.Certificate.NotAfter, nil); got != want {
		b.fail("certificate end date shown as %q, want %q (day first)", got, want)
	}
	if b.visible("#btn-renew") {
		b.fail("the new-OTP action is offered before the OTP is spent")
	}

	// Every try of the OTP spent: its own headline and the new-OTP action.
	vcode := b.text("#vcode")
	code := readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), vcode)
	wrong := code[:5] + string('0'+(code[5]-'0'+1)%10)
	b.do("type the PIN", chromedp.SendKeys(chromedp.CSS("#pin"), demoPIN1))
	for try := 1; try <= 4; try++ {
		b.do("a wrong OTP",
			chromedp.SendKeys(chromedp.CSS("#otp"), wrong),
			chromedp.Click(chromedp.CSS("#btn-confirm")),
			chromedp.WaitVisible(chromedp.CSS("#error")),
		)
		b.waitEnabled("#btn-confirm")
		if try < 4 && b.visible("#btn-renew") {
			b.fail("try %d: the new-OTP action is offered while tries are left", try)
		}
	}
	headline := b.text("#error")
	if !strings.Contains(headline, "Too many wrong attempts for this OTP") || !strings.Contains(headline, "Terlalu banyak percubaan") {
		b.fail("tries spent: want the too-many-attempts headline, got %q", headline)
	}
	if strings.Contains(headline, "has expired") || strings.Contains(headline, "tamat tempoh") {
		b.fail("tries spent: the headline says the OTP expired: %q", headline)
	}
	if !b.visible("#btn-renew") || !strings.Contains(b.text("#btn-renew"), "Minta OTP baharu") || !strings.Contains(b.text("#btn-renew"), "Request a new OTP") {
		b.fail("tries spent: no \"Minta OTP baharu / Request a new OTP\" action on the signing screen")
	}

	b.do("request a new OTP", chromedp.Click(chromedp.CSS("#btn-renew")))
	b.waitText("#vcode", func(v string) bool { return v != "" && v != vcode }, "a new verification code")
	if b.visible("#error") || b.visible("#btn-renew") {
		b.fail("after a new OTP the old refusal is still shown")
	}
	if !b.visible("#step-sign") {
		b.fail("the new OTP left the signing screen")
	}
	code = readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), b.text("#vcode"))
	b.do("sign with the new OTP",
		chromedp.SendKeys(chromedp.CSS("#pin"), demoPIN1),
		chromedp.SendKeys(chromedp.CSS("#otp"), code),
		chromedp.Click(chromedp.CSS("#btn-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#step-result")),
	)
	if msg := b.text("#result-msg"); !strings.Contains(msg, "Signed successfully: 1 of 1") {
		b.fail("new OTP: %q", msg)
	}
	if got := b.text("#signed-at"); !shownTime.MatchString(got) {
		b.fail("result screen: signing time %q, want day first, 24-hour, MYT", got)
	}

	// The development mailbox lists its messages' times the same way.
	b.do("open the mailbox",
		chromedp.Navigate(s.base+"/dev/mailbox"),
		chromedp.WaitVisible(chromedp.CSS("#messages tr td")),
	)
	if got := b.text("#messages tr td"); !shownTime.MatchString(got) {
		b.fail("mailbox: time %q, want day first, 24-hour, MYT", got)
	}
	b.checkNoExceptions()
}

// waitEnabled waits until the element matching sel is enabled again.
func (b *browser) waitEnabled(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitEnabled(chromedp.CSS(sel)))
}

// waitText waits until the text of sel satisfies ok.
func (b *browser) waitText(sel string, ok func(string) bool, what string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok(b.text(sel)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("%s: %s never came (%q)", sel, what, b.text(sel))
}

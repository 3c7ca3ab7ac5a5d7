package adapt_test

import (
	"context"
	"io"
	"mime/quotedprintable"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/internal/smtptest"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var otpInBody = regexp.MustCompile(`Your digital signature OTP: (\d{6})`)

// withSMTP makes r deliver OTPs by e-mail through a real SMTP server
// (aiosmtpd, STARTTLS and AUTH) and read them from the delivered messages.
func withSMTP(t *testing.T) (func(*otp.Config), func(r *realParts)) {
	srv := smtptest.Start(t)
	sender, err := otp.NewSMTPSender(otp.SMTPConfig{
		Addr: srv.Addr, Mode: otp.STARTTLS, TLSConfig: srv.TLSConfig(),
		Username: srv.Username, Password: srv.Password, From: "noreply@roamsign.test", Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	opt := func(c *otp.Config) { c.Delivery = &otp.Delivery{Email: sender, Logger: c.Logger} }
	read := func(r *realParts) {
		r.otpFn = func(t testing.TB, u roamsign.UserID, ch *roamsign.OTPResponse) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			msg, err := srv.WaitMessage(ctx, "u"+string(u)+"@example.test")
			if err != nil {
				t.Fatalf("no OTP e-mail: %v", err)
			}
			raw, err := io.ReadAll(quotedprintable.NewReader(msg.Parsed.Body))
			if err != nil {
				t.Fatal(err)
			}
			body := string(raw)
			if !strings.Contains(body, ch.VerificationCode) {
				t.Fatalf("e-mail is not for this challenge (verification code %s missing)", ch.VerificationCode)
			}
			m := otpInBody.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no OTP in the e-mail body")
			}
			return m[1]
		}
	}
	return opt, read
}

// TestEndToEndSQLite: SoftHSM keys, the SQLite store (rows sealed), OTPs over real SMTP,
// in-process and over HTTP, then the audit chain.
func TestEndToEndSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roamsign.db"), sqlite.Options{Sealer: storetest.NewSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	endToEnd(t, st)
}

// TestEndToEndPostgres: the same against PostgreSQL 15.
func TestEndToEndPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{Sealer: storetest.NewSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	endToEnd(t, st)
}

func endToEnd(t *testing.T, st auditStore) {
	opt, read := withSMTP(t)
	r := newRealParts(t, st, 4, service.Config{}, nil, opt)
	read(r)
	t.Run("InProcess", func(t *testing.T) { apitest.Run(t, r.env()) })
	t.Run("HTTP", func(t *testing.T) {
		h := apitest.ServeHTTP(t, r.svc, r.svc, r.logs.Logger())
		apitest.Run(t, h.Env(t, r.env()))
	})
	t.Run("CMSBatch100", func(t *testing.T) { cmsBatch100(t, r) })
	r.checkAudit(t)
}

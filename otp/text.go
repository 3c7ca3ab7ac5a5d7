package otp

import (
	"fmt"
	"sync"
	"time"
)

// malaysia is the time zone OTP messages state expiry times in by default:
// MYT, UTC+8 with no daylight saving since 1982 (the tz database's
// Asia/Kuala_Lumpur names it "+08", which a signer does not read as MYT).
var malaysia = sync.OnceValue(func() *time.Location {
	return time.FixedZone("MYT", 8*3600)
})

// Text returns the subject and the plain-text body, in Malay and English, of
// the message that delivers m: the OTP, the verification code, the data
// header, the number of documents (for a late-bound challenge, that the
// signing application names them when it uses the code) and the expiry in
// loc (Asia/Kuala_Lumpur when nil), counted from now. Every e-mail-like sender uses it, so the
// signer always reads the same words.
func (m *Message) Text(now time.Time, loc *time.Location) (subject, body string) {
	exp := FormatTime(m.ExpiresAt, loc)
	mins := int(m.ExpiresAt.Sub(now).Round(time.Minute) / time.Minute)
	header := m.DataHeader
	if header == "" {
		header = "-"
	}
	countMY, countEN := fmt.Sprint(m.Count), fmt.Sprint(m.Count)
	if m.HashesLater {
		countMY = "ditentukan oleh aplikasi semasa kod ini digunakan"
		countEN = "set by the signing application when it uses this code"
	}
	subject = "Kod OTP tandatangan digital / Digital signature OTP [" + m.VerificationCode + "]"
	body = fmt.Sprintf(`Kod OTP anda untuk tandatangan digital: %[1]s

Kod pengesahan: %[2]s
Pastikan kod pengesahan ini sama dengan kod pada skrin sistem anda.
Dokumen: %[3]s
Bilangan dokumen: %[4]s
Sah sehingga: %[5]s (%[6]d minit)

Jangan kongsi kod ini dengan sesiapa. Jika anda tidak memohon tandatangan
ini, abaikan e-mel ini dan maklumkan kepada pentadbir sistem.

----------------------------------------------------------------------

Your digital signature OTP: %[1]s

Verification code: %[2]s
Make sure this verification code matches the code on your system's screen.
Document: %[3]s
Number of documents: %[7]s
Valid until: %[5]s (%[6]d minutes)

Do not share this code with anyone. If you did not request this
signature, ignore this e-mail and inform your system administrator.
`, m.OTP.Reveal(), m.VerificationCode, header, countMY, exp, mins, countEN)
	return subject, body
}

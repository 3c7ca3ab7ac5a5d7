package otp

import "time"

// FormatTime formats t as every text a signer reads states a time (the OTP
// message, the signing and result screens, the development mailbox): day
// first, a 24-hour clock and the zone, "06/12/2026 21:15 MYT". loc nil
// means Malaysian time (MYT, UTC+8).
func FormatTime(t time.Time, loc *time.Location) string {
	return t.In(orMalaysia(loc)).Format("02/01/2006 15:04 MST")
}

// FormatDate formats the day of t as FormatTime does: "06/12/2026".
func FormatDate(t time.Time, loc *time.Location) string {
	return t.In(orMalaysia(loc)).Format("02/01/2006")
}

func orMalaysia(loc *time.Location) *time.Location {
	if loc == nil {
		return malaysia()
	}
	return loc
}

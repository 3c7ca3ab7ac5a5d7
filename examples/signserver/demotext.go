package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// demoMaxHeader is the longest data header the demo sends, in bytes: the
// service's default limit (service.Config.MaxDataHeader).
const demoMaxHeader = 256

// truncate cuts s to at most n bytes on a character boundary, so that a
// cut never leaves half of a multi-byte character ("é" is two bytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanName makes an uploaded file's name fit for a data header: invalid
// UTF-8, control and format characters dropped (a data header may carry
// none, see roamsign.CheckDataHeader), white space trimmed, and at most n
// bytes cut on a character boundary.
func cleanName(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return strings.TrimSpace(truncate(strings.TrimSpace(s), n))
}

// batchHeader is the data header of a batch: the number of documents, as
// many of their names as fit, the signer and the approval level, within
// demoMaxHeader bytes whatever the number of documents (up to
// demoMaxDocs) and the length of their names.
func batchHeader(names []string, signer roamsign.UserID, level string) string {
	tail := fmt.Sprintf(" | %s | %s", signer, level)
	head := fmt.Sprintf("%d dokumen: ", len(names))
	room := demoMaxHeader - len(head) - len(tail)
	var b strings.Builder
	for i, name := range names {
		more := ""
		if i < len(names)-1 {
			more = fmt.Sprintf(", … (+%d)", len(names)-1-i)
		}
		sep := ""
		if i > 0 {
			sep = ", "
		}
		if b.Len()+len(sep)+len(name)+len(more) > room {
			if i == 0 {
				// Not even the first name fits whole: cut it.
				b.WriteString(truncate(name, max(0, room-len(more))))
				b.WriteString(more)
				break
			}
			fmt.Fprintf(&b, ", … (+%d)", len(names)-i)
			break
		}
		b.WriteString(sep + name)
	}
	return head + b.String() + tail
}

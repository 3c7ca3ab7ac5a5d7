package main

import (
	"bytes"
	"fmt"
	"strings"
)

// Voucher describes a sample payment voucher the host demo offers.
type Voucher struct {
	ID     string
	Number string
	Payee  string
	Amount string
	Date   string
}

// Title returns the line shown in the document list.
func (v Voucher) Title() string {
	return fmt.Sprintf("Baucar %s — %s — RM %s", v.Number, v.Payee, v.Amount)
}

// sampleVouchers are the demo documents.
var sampleVouchers = []Voucher{
	{ID: "pv-0001", Number: "PV2026/000123", Payee: "Syarikat Bekalan Pejabat Sdn Bhd", Amount: "12,450.00", Date: "23/11/2026"},
	{ID: "pv-0002", Number: "PV2026/000124", Payee: "Kontraktor Jalan Raya Bhd", Amount: "287,900.50", Date: "23/11/2026"},
	{ID: "pv-0003", Number: "PV2026/000125", Payee: "Pusat Latihan Digital", Amount: "3,200.00", Date: "23/11/2026"},
}

// PDF renders the voucher as a small one-page PDF with a classic xref table.
func (v Voucher) PDF() []byte {
	lines := []string{
		"BAUCAR BAYARAN / PAYMENT VOUCHER",
		"",
		"No. Baucar / Voucher no.: " + v.Number,
		"Tarikh / Date: " + v.Date,
		"Penerima / Payee: " + v.Payee,
		"Amaun / Amount: RM " + v.Amount,
		"",
		"Perakuan 1 / Certifier 1: ______________________",
		"Perakuan 2 / Certifier 2: ______________________",
		"",
		"Dokumen contoh roamsign / roamsign sample document",
	}
	var content bytes.Buffer
	content.WriteString("BT /F1 12 Tf 14 TL 60 780 Td\n")
	for i, l := range lines {
		if i == 0 {
			content.WriteString("/F1 15 Tf ")
		} else if i == 1 {
			content.WriteString("/F1 12 Tf ")
		}
		fmt.Fprintf(&content, "(%s) Tj T*\n", pdfEscape(l))
	}
	content.WriteString("ET\n")

	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		fmt.Sprintf("<< /Title (%s) /Producer (roamsign signserver) >>", pdfEscape("Baucar "+v.Number)),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func pdfEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`, "—", "-")
	return r.Replace(s)
}

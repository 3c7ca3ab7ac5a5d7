package pdf

import (
	"bytes"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
)

// BenchmarkAppearanceUpdate measures building the signature's update on a
// 5 KB file without and with a visible appearance (default lines: text
// shaped, the font subset made and embedded, on a page turned 90 degrees),
// so the appearance's own cost is the difference.
func BenchmarkAppearanceUpdate(b *testing.B) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 2, Padding: 4000})
	rotated := pageDoc("/Rotate 90", "/MediaBox [0 0 595 842]")
	sp := sigParams{hash: roamsign.SHA256, contentsSize: 8192, when: time.Unix(1700000000, 0),
		name: "AHMAD BIN ALI", reason: "Perakuan 1", location: "Putrajaya"}
	visible := sp
	visible.app = &Appearance{Rect: [4]float64{40, 40, 300, 110}}
	for _, c := range []struct {
		name string
		doc  []byte
		sp   sigParams
	}{{"invisible", doc, sp}, {"visible", doc, visible}, {"visible-rotated", rotated, visible}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u, err := buildUpdate(bytes.NewReader(c.doc), int64(len(c.doc)), c.sp)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(u.bytes)), "update-bytes")
			}
		})
	}
}

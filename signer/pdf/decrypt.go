package pdf

import (
	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// decrypted returns a reader of rd's document without its encryption.
func decrypted(rd *pdfx.Reader) (*pdfx.Reader, error) {
	return nil, &roamsign.Error{Kind: roamsign.ErrUnsupported, Op: "pdf.Repair", Msg: "removing this document's encryption is not supported", Err: ErrEncrypted}
}

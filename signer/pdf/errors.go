package pdf

import (
	"errors"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// ErrRepairable is the cause of a refusal of a damaged document that
// [Repair] can mend: a missing end-of-file marker, a wrong startxref,
// cross-reference data or object offsets that are not where the file says.
// Match it with errors.Is; the error is also roamsign.ErrInvalidInput.
var ErrRepairable = errors.New("repair it first: pdf.Repair writes a clean copy, which is then what is signed (the -repair option of hostclient and of the demo upload)")

// ErrEncrypted is the cause of a refusal of an encrypted document, by
// Prepare and by Repair alike. Match it with errors.Is; the error is also
// roamsign.ErrUnsupported.
var ErrEncrypted = errors.New("remove the encryption first with a PDF tool (for example qpdf --decrypt, with the password when the document needs one to open), then sign the decrypted copy")

// refusal turns a reading error of pdfx into the package's refusal: a
// damaged structure says what is wrong and that a repaired copy can be
// signed.
func refusal(op string, err error) error {
	var de *pdfx.DamageError
	if errors.As(err, &de) {
		return &roamsign.Error{Kind: roamsign.ErrInvalidInput, Op: op, Msg: de.Msg, Err: ErrRepairable}
	}
	return err
}

// errEncrypted is the refusal of an encrypted document.
func errEncrypted(op string) error {
	return &roamsign.Error{Kind: roamsign.ErrUnsupported, Op: op, Msg: "the document is encrypted", Err: ErrEncrypted}
}

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

// ErrEncrypted is the cause of a refusal of an encrypted document. Match
// it with errors.Is; the error is also roamsign.ErrUnsupported.
var ErrEncrypted = errors.New("remove the encryption first: a document with only an owner password (it opens without a password) can be repaired into an unencrypted copy with pdf.Repair and RepairOptions.RemoveEncryption (the -repair option of hostclient and of the demo upload); a document that needs a password to open must be decrypted with that password in the tool that encrypted it")

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

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

// ErrEncrypted is the cause of every refusal of an encrypted document, by
// Prepare and by Repair alike: errors.Is(err, ErrEncrypted) holds for
// [ErrOwnerEncrypted] and [ErrPasswordRequired] too, which say more. As
// the cause itself it means an encryption that roamsign cannot remove (a
// public-key security handler, an unknown version or crypt filter) or a
// malformed encryption dictionary. The error is also
// roamsign.ErrUnsupported.
var ErrEncrypted = errors.New("remove the encryption first with a PDF tool (for example qpdf --decrypt, with the password when the document needs one to open), then sign the decrypted copy")

// ErrOwnerEncrypted is the cause of a refusal of a document encrypted
// with permissions only: it opens without a password (it has an owner
// password and no user password). [Repair] with
// RepairOptions.RemoveEncryption writes a decrypted copy that can be
// signed. errors.Is(err, ErrEncrypted) also holds.
var ErrOwnerEncrypted error = &encryptedCause{"to sign it, repair it with removal of the encryption (pdf.Repair with RemoveEncryption, hostclient -repair, the demo's repair box), which signs a decrypted copy"}

// ErrPasswordRequired is the cause of a refusal of a document that needs
// a password to open (it has a user password): roamsign cannot remove
// that encryption, by Prepare or by Repair. errors.Is(err, ErrEncrypted)
// also holds.
var ErrPasswordRequired error = &encryptedCause{"roamsign cannot remove that: decrypt it with the password first (for example qpdf --decrypt --password=… in.pdf out.pdf), then sign the decrypted copy"}

// encryptedCause is a cause that is also ErrEncrypted.
type encryptedCause struct{ msg string }

func (e *encryptedCause) Error() string { return e.msg }

// Is reports whether target is ErrEncrypted.
func (e *encryptedCause) Is(target error) bool { return target == ErrEncrypted }

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

// errEncrypted is the refusal of the encrypted document r: what kind of
// encryption it has, and what to do.
func errEncrypted(op string, r *pdfx.Reader) error {
	return encryptionRefusal(op, r.Decryptable())
}

// encryptionRefusal turns what pdfx found of a document's encryption (nil:
// it opens without a password) into the package's refusal.
func encryptionRefusal(op string, err error) error {
	e := &roamsign.Error{Kind: roamsign.ErrUnsupported, Op: op}
	switch {
	case err == nil:
		e.Msg, e.Err = "the document is encrypted with permissions only (it opens without a password)", ErrOwnerEncrypted
	case errors.Is(err, pdfx.ErrPasswordRequired):
		e.Msg, e.Err = "the document needs a password to open", ErrPasswordRequired
	case errors.Is(err, roamsign.ErrUnsupported), errors.Is(err, roamsign.ErrInvalidInput):
		e.Kind = roamsign.KindOf(err)
		e.Msg, e.Err = "the document is encrypted ("+pdfxMsg(err)+")", ErrEncrypted
	default:
		return err // reading failed (too large, unavailable)
	}
	return e
}

// pdfxMsg returns the plain message of a pdfx error, without its
// operation name.
func pdfxMsg(err error) string {
	var e *roamsign.Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}

//go:build cgo

package hsm

import (
	"errors"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// faults are the return values after which the session (and perhaps the
// login or the library) must be re-established.
var faults = map[uint]bool{
	pkcs11.CKR_SESSION_HANDLE_INVALID:   true,
	pkcs11.CKR_SESSION_CLOSED:           true,
	pkcs11.CKR_DEVICE_REMOVED:           true,
	pkcs11.CKR_TOKEN_NOT_PRESENT:        true,
	pkcs11.CKR_USER_NOT_LOGGED_IN:       true,
	pkcs11.CKR_DEVICE_ERROR:             true,
	pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED: true,
	pkcs11.CKR_SLOT_ID_INVALID:          true,
}

func isFault(err error) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && faults[uint(e)]
}

// pinRejected reports whether a failed C_Login judged the PIN: only these
// answers count toward the token's PIN lock, and only these are latched so
// that the PIN is never tried again.
func pinRejected(err error) bool {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch uint(e) {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED:
		return true
	}
	return false
}

func isRV(err error, rv uint) bool {
	if err == nil {
		return false // no allocation for e on the success path
	}
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// mapErr types a raw PKCS#11 error; errors that are already typed pass
// through unchanged.
func mapErr(def roamsign.Kind, op string, err error, msg string) error {
	if err == nil {
		return nil
	}
	var re *roamsign.Error
	if errors.As(err, &re) {
		return err
	}
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return roamsign.Wrap(def, op, err, msg)
	}
	kind := def
	switch uint(e) {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED:
		kind = roamsign.ErrUnauthenticated
	case pkcs11.CKR_PIN_LOCKED:
		kind = roamsign.ErrLocked
	case pkcs11.CKR_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ARGUMENTS_BAD, pkcs11.CKR_TEMPLATE_INCONSISTENT, pkcs11.CKR_ATTRIBUTE_VALUE_INVALID:
		kind = roamsign.ErrInvalidInput
	case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_MECHANISM_PARAM_INVALID, pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_FUNCTION_NOT_SUPPORTED, pkcs11.CKR_KEY_SIZE_RANGE:
		kind = roamsign.ErrUnsupported
	case pkcs11.CKR_ATTRIBUTE_SENSITIVE:
		kind = roamsign.ErrForbidden
	case pkcs11.CKR_DEVICE_MEMORY, pkcs11.CKR_HOST_MEMORY, pkcs11.CKR_SESSION_COUNT, pkcs11.CKR_FUNCTION_CANCELED:
		kind = roamsign.ErrUnavailable
	}
	if faults[uint(e)] {
		kind = roamsign.ErrUnavailable
	}
	return roamsign.Wrap(kind, op, err, msg)
}

package verify

import "errors"

var errMalformed = errors.New("malformed DER")

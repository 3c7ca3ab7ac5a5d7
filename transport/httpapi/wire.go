package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/roamsign/roamsign"
)

// The wire types carry PIN and OTP as plain strings: roamsign.Secret
// redacts itself in JSON on purpose, so the transport spells the value out
// here, and nowhere else. Values of these types are never logged.

type signWire struct {
	ChallengeID string              `json:"challengeId"`
	Nonce       []byte              `json:"nonce"`
	PIN         string              `json:"pin"`
	OTP         string              `json:"otp"`
	Hashes      []roamsign.Hash     `json:"hashes"`
	RequestID   string              `json:"requestId"`
	Form        roamsign.OutputForm `json:"form,omitempty"`
}

func (w *signWire) request() roamsign.SignRequest {
	return roamsign.SignRequest{
		ChallengeID: w.ChallengeID, Nonce: w.Nonce, PIN: roamsign.Secret(w.PIN), OTP: roamsign.Secret(w.OTP),
		Hashes: w.Hashes, RequestID: w.RequestID, Form: w.Form,
	}
}

func signWireOf(r roamsign.SignRequest) signWire {
	return signWire{
		ChallengeID: r.ChallengeID, Nonce: r.Nonce, PIN: r.PIN.Reveal(), OTP: r.OTP.Reveal(),
		Hashes: r.Hashes, RequestID: r.RequestID, Form: r.Form,
	}
}

type setPINWire struct {
	User roamsign.UserID `json:"user"`
	Old  string          `json:"old,omitempty"`
	New  string          `json:"new"`
}

type resetPINWire struct {
	User roamsign.UserID `json:"user"`
	New  string          `json:"new"`
}

// maxJSONDepth bounds nesting; the API's documents are at most 4 deep.
const maxJSONDepth = 16

// decodeStrict decodes exactly one JSON value into v: unknown fields,
// trailing data and excessive nesting are refused with ErrInvalidInput; a
// body over the reader's limit gives ErrTooLarge.
func decodeStrict(r io.Reader, v any) error {
	const op = "httpapi.decode"
	body, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return roamsign.E(roamsign.ErrTooLarge, op, "request body exceeds %d bytes", mbe.Limit)
		}
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "reading request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "empty request body")
	}
	if depth(body) > maxJSONDepth {
		return roamsign.E(roamsign.ErrInvalidInput, op, "JSON nested too deeply")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return roamsign.Wrap(kindOrInvalid(err), op, errors.New(jsonErrText(err)), "malformed JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return roamsign.E(roamsign.ErrInvalidInput, op, "trailing data after the JSON body")
	}
	return nil
}

// kindOrInvalid keeps a validation error's kind (for example a user id
// that fails ParseUserID) and otherwise calls it invalid input.
func kindOrInvalid(err error) roamsign.Kind {
	if k := roamsign.KindOf(err); k != roamsign.KindUnknown {
		return k
	}
	return roamsign.ErrInvalidInput
}

// jsonErrText describes a decoding error without echoing values.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var re *roamsign.Error
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + itoa(se.Offset)
	case errors.As(err, &te):
		return "wrong type for field " + quote(te.Field)
	case errors.As(err, &re):
		return re.Msg
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

func depth(b []byte) int {
	d, max := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b, _ := json.Marshal(s)
	return string(b)
}

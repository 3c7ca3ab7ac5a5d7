package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

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
// repeated object keys, trailing data and excessive nesting are refused
// with ErrInvalidInput; a body over the reader's limit gives ErrTooLarge.
// Error messages say in plain words what was wrong; the decoder's own
// text stays in the cause, for the log.
func decodeStrict(r io.Reader, v any) error {
	const op = "httpapi.decode"
	body, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return roamsign.E(roamsign.ErrTooLarge, op, "request body exceeds %d bytes", mbe.Limit)
		}
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "empty request body")
	}
	if err := checkStructure(body); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed JSON body: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "malformed JSON body"
		if p := jsonProblem(err); p != "" {
			msg += ": " + p
		}
		return roamsign.Wrap(kindOrInvalid(err), op, err, msg)
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

// jsonProblem says in plain words what a decoding error found, without
// echoing values; "" when the decoder's error is of no known form (its
// text is then left to the log).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var re *roamsign.Error
	switch {
	case errors.As(err, &re):
		return re.Msg
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "wrong type for field " + quote(te.Field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	// DisallowUnknownFields reports `json: unknown field "name"` with no
	// error type of its own.
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field `); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			return "unknown field " + quote(n)
		}
		return "unknown field"
	}
	return ""
}

// checkStructure walks body's tokens once and refuses nesting deeper than
// maxJSONDepth and any object key given twice. Keys are compared as
// encoding/json matches them to fields, ignoring case, so "user" and
// "User" in one object are a repeat: with both, the last would win here
// while a proxy or another parser might read the first. Syntax errors are
// left to the decoder.
func checkStructure(body []byte) error {
	type frame struct {
		object, wantKey bool
		keys            map[string]struct{}
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or a syntax error Decode will report
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			k := foldKey(s)
			if _, dup := top.keys[k]; dup {
				return errors.New("key " + quote(s) + " given twice")
			}
			top.keys[k] = struct{}{}
			top.wantKey = false
			continue
		}
		// A value: it completes a member of the enclosing object.
		if top != nil && top.object {
			top.wantKey = true
		}
		if d, ok := tok.(json.Delim); ok {
			if len(stack) == maxJSONDepth {
				return errors.New("nested too deeply")
			}
			stack = append(stack, &frame{object: d == '{', wantKey: d == '{', keys: map[string]struct{}{}})
		}
	}
}

// foldKey maps every rune of s to the smallest rune of its case-folding
// orbit, so foldKey(a) == foldKey(b) exactly when strings.EqualFold(a, b).
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strconv.Quote(s)
}

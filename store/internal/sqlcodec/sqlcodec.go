package sqlcodec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/roamsign/roamsign"
)

// MaxJSON bounds a JSON column read back from the database.
const MaxJSON = 128 << 20

// JSON encodes v as JSON text; a nil list encodes as "[]".
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "[]"
	}
	return string(b)
}

// FromJSON decodes a JSON column into a value of type T.
func FromJSON[T any](s string) (T, error) {
	var v T
	if len(s) > MaxJSON {
		return v, fmt.Errorf("JSON column of %d bytes exceeds the limit", len(s))
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return v, err
	}
	return v, nil
}

// Micro returns t as microseconds since the Unix epoch, or nil (SQL NULL)
// for the zero time.
func Micro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// FromMicro is the inverse of [Micro]; ok false gives the zero time.
func FromMicro(v int64, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// Items is the JSON form of a transaction's per-item results.
type Items = []roamsign.SignedItem

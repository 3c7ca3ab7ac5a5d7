package roamsign

import (
	"crypto/rand"
	"encoding/hex"
)

// NewRequestID returns a fresh idempotency key for [SignRequest.RequestID]:
// 32 lower-case hex digits from crypto/rand (128 bits), so two hosts'
// keys never collide. A host makes one per signing attempt and sends the
// same one again when it retries that attempt.
func NewRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// devMailbox keeps the last OTP messages the development server delivered,
// so a newcomer can sign without a mail server. It exists only in dev mode.
type devMailbox struct {
	mu   sync.Mutex
	max  int
	msgs []mailMessage
}

type mailMessage struct {
	Time    time.Time `json:"time"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
}

func newDevMailbox(max int) *devMailbox { return &devMailbox{max: max} }

func (m *devMailbox) add(msg mailMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	if len(m.msgs) > m.max {
		m.msgs = append([]mailMessage(nil), m.msgs[len(m.msgs)-m.max:]...)
	}
}

// list returns the messages, newest first.
func (m *devMailbox) list() []mailMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]mailMessage, len(m.msgs))
	for i, msg := range m.msgs {
		out[len(m.msgs)-1-i] = msg
	}
	return out
}

func (m *devMailbox) serveJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(m.list())
}

package tsa

import "time"

// Metrics receives one [Observation] per attempt at an authority, so that
// a server can count requests, failures by reason and latency per TSA
// without this package importing a metrics library. It must be safe for
// concurrent use and must not block.
type Metrics interface {
	ObserveTSA(Observation)
}

// Observation describes one attempt at one authority.
type Observation struct {
	// TSA is the authority's URL.
	TSA string
	// Sent is false when the request was not sent: the configured quota
	// was spent or the authority was in back-off (Reason is ReasonLimited).
	Sent bool
	// Reason is empty when a verified token came back.
	Reason Reason
	// Latency is the time from sending the request to the end of the
	// reply's verification; zero when not sent.
	Latency time.Duration
}

type noMetrics struct{}

func (noMetrics) ObserveTSA(Observation) {}

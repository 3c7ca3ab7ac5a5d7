package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/roamsign/roamsign"
)

// CheckpointAppender is what [RunCheckpoints] needs.
type CheckpointAppender interface {
	AppendCheckpoint(ctx context.Context, cp Checkpoint) (*roamsign.AuditRecord, error)
}

// RunCheckpoints appends a signed checkpoint every interval until ctx ends,
// logging failures (never key material) to log, which may be nil. cp.Time
// is left zero so each checkpoint takes the store's clock. It returns
// ctx.Err() when stopped.
func RunCheckpoints(ctx context.Context, s CheckpointAppender, cp Checkpoint, every time.Duration, log *slog.Logger) error {
	if every <= 0 {
		return roamsign.E(roamsign.ErrInvalidInput, "store.RunCheckpoints", "interval must be positive")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cp.Time = time.Time{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			rec, err := s.AppendCheckpoint(ctx, cp)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.ErrorContext(ctx, "audit checkpoint failed", "kind", roamsign.KindOf(err).Code(), "err", err)
				continue
			}
			log.InfoContext(ctx, "audit checkpoint", "seq", rec.Seq, "key", cp.KeyID)
		}
	}
}

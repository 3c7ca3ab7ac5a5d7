package postgres_test

import (
	"context"
	"log"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store/postgres"
)

// Open a store on a shared database; every replica does the same, and the
// migrations run once.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, "postgres://roamsign@db.internal:5432/roamsign?sslmode=verify-full", postgres.Options{MaxConns: 20})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Single use across all replicas: exactly one ConsumeChallenge succeeds.
	if err := s.ConsumeChallenge(ctx, "challenge-id", time.Now()); err != nil {
		log.Print(roamsign.KindOf(err).Code())
	}
}

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/sqlite"
)

func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "roamsign-example-")
	defer os.RemoveAll(dir)

	s, err := sqlite.Open(ctx, filepath.Join(dir, "roamsign.db"), sqlite.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	now := time.Now()
	c := &roamsign.ChallengeRecord{
		ID: "c1", User: "850101-14-5555", Host: "hr",
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), MaxTries: 3,
	}
	if err := s.CreateChallenge(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.ConsumeChallenge(ctx, "c1", now))
	fmt.Println(s.ConsumeChallenge(ctx, "c1", now))

	_ = s.AppendAudit(ctx, &roamsign.AuditRecord{Event: roamsign.AuditAuthorised, User: c.User, Host: c.Host, Outcome: "ok"})
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	fmt.Println(res.Records, err)
	// Output:
	// <nil>
	// sqlite.ConsumeChallenge: challenge already used
	// 1 <nil>
}

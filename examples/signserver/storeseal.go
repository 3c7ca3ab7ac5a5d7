package main

import (
	"context"
	"fmt"

	"github.com/roamsign/roamsign/store"
)

// cmdStoreSeal is `store seal`: the explicit, audited upgrade step that
// seals the rows a database holds from before rows were sealed. The server
// refuses such rows (an alarm and an audit record each time) until it is
// run; it seals them as they are, so run it right after the upgrade, before
// the server serves again, on a database no one else has written since.
func cmdStoreSeal(ctx context.Context, c *cmdEnv) error {
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	rs, ok := a.store.(store.RowSealing)
	if !ok {
		return fmt.Errorf("store %T cannot seal its rows", a.store)
	}
	n, err := rs.SealUnsealed(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "sealed %d users, %d challenges, %d transactions (recorded in the audit log)\n", n.Users, n.Challenges, n.Transactions)
	return nil
}

//go:build !unix

package proctime

import "time"

func cpu() time.Duration    { return 0 }
func thread() time.Duration { return 0 }

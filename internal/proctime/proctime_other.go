//go:build !unix

package proctime

import "time"

func cpu() time.Duration { return 0 }

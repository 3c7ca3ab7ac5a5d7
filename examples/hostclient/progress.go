package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress reports the progress of a batch on w. On a terminal it is one
// line redrawn as a bar; anywhere else (a pipe, a log file) plain lines,
// at most one per tenth of the batch and one at the end, with no carriage
// returns. Done ends a drawn bar's line, so the next message, an error
// included, starts on a line of its own; it is safe to defer.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	total int
	drawn bool // a bar is on the current line
	tenth int  // the last tenth printed as a plain line
}

// barWidth is the number of cells of the terminal bar.
const barWidth = 30

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label, total: max(total, 1), tenth: -1}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Step reports that done of the total are done.
func (p *progress) Step(done int) {
	done = min(max(done, 0), p.total)
	if p.tty {
		full := done * barWidth / p.total
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", full), strings.Repeat(".", barWidth-full), done, p.total)
		p.drawn = true
		return
	}
	if tenth := done * 10 / p.total; tenth != p.tenth {
		fmt.Fprintf(p.w, "%s %d/%d\n", p.label, done, p.total)
		p.tenth = tenth
	}
}

// Done ends the bar's line, if one is drawn.
func (p *progress) Done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

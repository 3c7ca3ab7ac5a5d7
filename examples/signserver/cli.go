package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one subcommand of signserver.
//
// # Adding a subcommand
//
// Write its function in a file of its own and add one entry to commands.
// The function declares its own flags on c.fs, then parses the command
// line with one of
//
//	c.parse()                       // no configuration: only its own flags
//	c.config(groupData, groupCA)    // its flags + the configuration flags of those groups
//	c.open(ctx, groupPIN)           // as config with groupData and groupStore, then opens the key store and database
//
// so that `signserver NAME -h` lists exactly its own flags and the
// configuration groups it needs (never, say, the SMTP settings of serve).
// The JSON file (-config) and the ROAMSIGN_* environment variables still
// set every setting. For example:
//
//	func cmdCSRNew(ctx context.Context, c *cmdEnv) error {
//		user := c.fs.String("user", "", "user id (12-digit MyKad number)")
//		a, err := c.open(ctx, groupCA)
//		if err != nil {
//			return err // -h, flag errors and their hint are handled by dispatch
//		}
//		defer a.Close()
//		...
//		fmt.Fprintf(c.stdout, "...")
//		return nil
//	}
//
// and in commands:
//
//	{name: "csr new", args: "-user ID", summary: "make a certificate request for a user's key", run: cmdCSRNew},
//
// A command that has printed why it failed returns exitError{1}: the exit
// status is 1 and nothing more is printed.
type command struct {
	name    string // as typed, one or two words: "serve", "keys list"
	args    string // the synopsis after the name, for the usage line
	summary string // one line for `signserver -h`
	run     func(ctx context.Context, c *cmdEnv) error
}

// commands are signserver's subcommands, in the order `signserver -h`
// lists them. The first is the default, run when no command is named.
var commands = []command{
	{name: "serve", args: "[flags]", summary: "run the sign server (the default command)", run: cmdServe},
	{name: "enrol", args: "-user ID -name NAME [-email ADDR] [-host HOSTS] [-pin-stdin]", summary: "enrol a user: key, certificate and (with -pin-stdin) the first PIN", run: cmdEnrol},
	{name: "csr new", args: "-user ID -name NAME -host HOSTS [-email ADDR] [-algorithm ALG] [-out FILE]", summary: "make a user's key in the key store and a certificate request (PEM) for the agency CA", run: cmdCSRNew},
	{name: "chain import", args: "-user ID -chain FILE [-user-ca ANCHORS]", summary: "import the chain the CA issued for a user's key (checked: key, user id, trust anchors)", run: cmdChainImport},
	{name: "pin set", args: "-user ID   (the first PIN is read from standard input)", summary: "set a user's first PIN", run: cmdPINSet},
	{name: "device add", args: "-user ID -device ID", summary: "register a push device for a user's OTPs", run: cmdDeviceAdd},
	{name: "bulk enrol", args: bulkUsage, summary: "enrol the users of a CSV file, resumably, with a per-row report", run: cmdBulkEnrol},
	{name: "pin reset", args: "-user ID   (the new PIN is read from standard input)", summary: "set a new PIN and clear the lock", run: cmdPINReset},
	{name: "verify", args: "FILE.pdf|FILE.p7s [-content FILE] [-anchors FILE] [-crl FILE]... [-ocsp FILE]... [-offline] [-at TIME] [-json]", summary: "verify the signatures of a PDF or of a detached CMS signature", run: cmdVerify},
	{name: "audit verify", args: "[-quiet]", summary: "verify the audit hash chain and its anchored checkpoints", run: cmdAuditVerify},
	{name: "keys list", args: "", summary: "list the keys in the key store", run: cmdKeysList},
	{name: "store seal", args: "", summary: "seal the rows stored before rows were sealed (once, after upgrading; docs/row-integrity.md)", run: cmdStoreSeal},
	{name: "apikey new", args: "-name HOST", summary: "make an API key for a host or an administrator (printed once)", run: cmdAPIKeyNew},
}

// commandAliases maps other spellings to a command's name.
var commandAliases = map[string]string{"enroll": "enrol"}

// cmdEnv is what a command runs with: its flag set (empty until the
// command declares its flags), its arguments and its standard streams.
type cmdEnv struct {
	cmd    *command
	fs     *flag.FlagSet
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// parse parses the command line for a command that takes only its own
// flags.
func (c *cmdEnv) parse() error {
	if err := c.fs.Parse(c.args); err != nil {
		return flagError{err}
	}
	return nil
}

// config parses the command line with the configuration flags of groups
// and returns the configuration (defaults, -config file, environment,
// flags).
func (c *cmdEnv) config(groups ...flagGroup) (Config, error) {
	return loadConfig(c.fs, c.args, getenv, append([]flagGroup{groupFile}, groups...)...)
}

// open parses the command line as config does, with the data directory
// and store groups added to groups, and assembles the parts for a
// one-shot command. The caller closes the app.
func (c *cmdEnv) open(ctx context.Context, groups ...flagGroup) (*app, error) {
	cfg, err := c.config(append([]flagGroup{groupData, groupStore}, groups...)...)
	if err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, newLogger(c.stderr, "warn"), io.Discard, oneShot)
}

// usage prints the command's usage line, summary and flags to w: its
// own flags first, then the configuration settings it reads.
func (c *cmdEnv) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", strings.TrimSpace("signserver "+c.cmd.name+" "+c.cmd.args), upperFirst(c.cmd.summary))
	own := flag.NewFlagSet("", flag.ContinueOnError)
	settings := flag.NewFlagSet("", flag.ContinueOnError)
	c.fs.VisitAll(func(f *flag.Flag) {
		to := own
		if f.Name == "config" || isConfigFlag(f.Name) {
			to = settings
		}
		to.Var(f.Value, f.Name, f.Usage)
		to.Lookup(f.Name).DefValue = f.DefValue
	})
	for _, part := range []struct {
		title string
		fs    *flag.FlagSet
	}{
		{"flags:", own},
		{"settings (also from the JSON file of -config or the ROAMSIGN_* environment variables):", settings},
	} {
		n := 0
		part.fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", part.title)
		part.fs.SetOutput(w)
		part.fs.PrintDefaults()
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// findCommand splits the command name off args: one word, or two when
// the first is the group of a two-word command ("keys list"). With no
// name (no arguments, or a flag first) it is the default command.
func findCommand(args []string) (cmd *command, name string, rest []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &commands[0], commands[0].name, args
	}
	name, rest = args[0], args[1:]
	if alias, ok := commandAliases[name]; ok {
		name = alias
	}
	if len(rest) > 0 {
		for i := range commands {
			if commands[i].name == name+" "+rest[0] {
				return &commands[i], commands[i].name, rest[1:]
			}
		}
	}
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], name, rest
		}
	}
	return nil, name, rest
}

// dispatch runs the subcommand args name and returns its flag set. Help
// (-h) prints the usage on stdout and succeeds; a flag error says which
// command's -h lists the flags.
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (*flag.FlagSet, string, error) {
	if len(args) > 0 && isHelp(args[0]) {
		printCommands(stdout)
		return flag.NewFlagSet("signserver", flag.ContinueOnError), "help", nil
	}
	cmd, name, rest := findCommand(args)
	if cmd == nil {
		fs := flag.NewFlagSet("signserver", flag.ContinueOnError)
		if sub := commandsIn(name); len(sub) > 0 {
			return fs, name, fmt.Errorf("%q needs one of: %s (signserver -h lists the commands)", name, strings.Join(sub, ", "))
		}
		return fs, name, fmt.Errorf("unknown command %q (signserver -h lists the commands)", name)
	}
	fs := flag.NewFlagSet("signserver "+cmd.name, flag.ContinueOnError)
	// The flag package's own printing is off: -h is answered below on
	// stdout, and a flag error is returned once, with the hint.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c := &cmdEnv{cmd: cmd, fs: fs, args: rest, stdin: stdin, stdout: stdout, stderr: stderr}
	err := cmd.run(ctx, c)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(stdout)
		return fs, cmd.name, nil
	}
	if errors.As(err, new(flagError)) {
		err = fmt.Errorf("%w (signserver %s -h lists its flags)", err, cmd.name)
	}
	return fs, cmd.name, err
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// commandsIn returns the two-word commands whose first word is group.
func commandsIn(group string) []string {
	var out []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c.name)
		}
	}
	return out
}

// printCommands prints the list of subcommands (signserver -h).
func printCommands(w io.Writer) {
	fmt.Fprintln(w, "usage: signserver [COMMAND] [flags]")
	fmt.Fprintln(w, "\nThe example roamsign sign server. With no command it serves on embedded defaults.")
	fmt.Fprintln(w, "\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n`signserver COMMAND -h` lists the flags of one command.")
}

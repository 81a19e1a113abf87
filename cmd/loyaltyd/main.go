// Command loyaltyd runs a customer club (a loyalty program) for an online
// store on Shopify or WooCommerce: it syncs orders and customers, applies
// the program's rules, keeps an exact points ledger, and writes discount
// codes, tags and customer fields back to the store.
//
// Run `loyaltyd demo` to see it work on a synthetic store, and
// `loyaltyd help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main is the program: its standard streams, environment and clock are
// fields so that tests drive it end to end.
type Main struct {
	Stdout, Stderr io.Writer
	// LookupEnv reads the environment; config expansion and
	// $LOYALTYD_CONFIG go through it.
	LookupEnv func(string) (string, bool)
	// Now is the clock.
	Now func() time.Time
	// IsTerminal reports whether a writer is a terminal (progress bars,
	// text logs).
	IsTerminal func(io.Writer) bool
}

// NewMain returns a Main on the process's streams, environment and clock.
func NewMain() *Main {
	return &Main{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		LookupEnv:  os.LookupEnv,
		Now:        time.Now,
		IsTerminal: isTerminal,
	}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "run a self-contained demo store: a year of orders, the rules, the ledger", runDemo},
		{"run", "run the daemon: poll every store, deliver write-backs, serve health checks", runDaemon},
		{"sync", "sync --once: one full pass over every store (pull, apply, push), then exit", runSync},
		{"check-config", "validate the configuration; errors name file:line and the key", runCheckConfig},
		{"customer", "show a customer's points, tier, codes and the reason for every entry", runCustomer},
		{"adjust", "give or take a customer's points by hand, with a reason (audited)", runAdjust},
		{"redeem", "buy a reward with a member's points; the code goes to the store", runRedeem},
		{"link", "print a customer's signed balance link, for an e-mail", runLink},
		{"status", "how each store's sync stands: last poll, lag, webhooks, reconciliation, write-backs", runStatus},
		{"outbox", "list dead write-backs with their reason; retry them by hand", runOutbox},
		{"export", "list or print the exports prepared for the platform's data requests", runExport},
		{"backup", "write a consistent copy of the database while loyaltyd runs", runBackup},
		{"rebuild", "recompute every balance from the stored orders (--check only compares)", runRebuild},
		{"report", "how the program does: points, liability, members against the holdout, ROI, segments, goals", runReport},
		{"simulate", "replay the order history under a candidate program, side by side with the current one", runSimulate},
		{"import", "import order history from a Shopify or WooCommerce CSV export or JSON lines", runImport},
		{"healthcheck", "exit 0 when the daemon at the configured address answers /healthz", runHealthcheck},
		{"bench", "measure loyaltyd against its limits: synthetic stores, sync, webhooks, the engine", runBench},
		{"version", "print the version", runVersion},
	}
}

// usageError is a mistake in the command line or the configuration: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Run runs the command line args (without the program name) and returns
// the exit code: 0 on success, 1 on a runtime error, 2 on a usage or
// configuration error.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return m.Run(ctx, []string{args[1], "--help"})
		}
		m.usage(m.Stdout)
		return exitOK
	case "-v", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, m, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintf(m.Stderr, "loyaltyd %s: %v\n", name, err)
			return exitUsage
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			fmt.Fprintf(m.Stderr, "loyaltyd %s: interrupted\n", name)
			return exitRuntime
		default:
			fmt.Fprintf(m.Stderr, "loyaltyd %s: %v\n", name, err)
			return exitRuntime
		}
	}
	fmt.Fprintf(m.Stderr, "loyaltyd: unknown command %q\n\n", name)
	m.usage(m.Stderr)
	return exitUsage
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "loyaltyd runs a customer club (loyalty program) next to a Shopify or WooCommerce store.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: loyaltyd <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes -c FILE (default ./loyaltyd.yaml, or $LOYALTYD_CONFIG) and --help.")
	fmt.Fprintln(w, "Start with: loyaltyd demo")
}

// newFlags returns a flag set for a subcommand whose errors and help go to
// the program's stderr, with the usage line and a description.
func (m *Main) newFlags(name, args, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet("loyaltyd "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: loyaltyd %s %s\n\n%s\n\nFlags:\n", name, args, desc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and turns flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	return nil
}

// common holds the flags every command that reads the configuration takes.
type common struct {
	config    string
	logFormat string
	logLevel  string
}

func (m *Main) commonFlags(fs *flag.FlagSet) *common {
	c := &common{}
	def := "loyaltyd.yaml"
	if v, ok := m.LookupEnv("LOYALTYD_CONFIG"); ok && v != "" {
		def = v
	}
	fs.StringVar(&c.config, "c", def, "configuration `file` ($LOYALTYD_CONFIG)")
	fs.StringVar(&c.config, "config", def, "configuration `file` (same as -c)")
	fs.StringVar(&c.logFormat, "log-format", "", "log format: auto (text on a terminal, JSON otherwise), text or json; overrides log.format")
	fs.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn or error; overrides log.level")
	return c
}

// Package cli is the takos-apply command line: flag parsing, wiring of the
// packages under pkg/internal, rendering and exit codes.
//
// It is the entry point only; its API beyond Run is not supported. Run
// receives the process's world (arguments, environment, standard streams)
// so that the whole CLI runs in-process in tests.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Exit codes, one table for every subcommand.
const (
	ExitOK       = 0 // success; warnings allowed
	ExitFindings = 1 // error findings (or warnings with --strict)
	ExitUsage    = 2 // bad flags or arguments
	ExitFailure  = 3 // I/O, auth, network or control-plane failure
)

// env is what a command may touch of the process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// actions: the process runs in a GitHub Actions step (GITHUB_ACTIONS),
	// read here once for every command.
	actions bool
}

const usage = `takos-apply validates a Takos app manifest (.takos/app.yml) and ships its OAuth client.

Usage:
  takos-apply lint [flags] [PATH...]    validate and lint manifests (files or directories)
  takos-apply plan [flags] [PATH]       show what apply would change on the control plane (read only)
  takos-apply apply [flags] [PATH]      create or update the OAuth client and export its credentials
  takos-apply auth debug [flags]        show how takos-apply authenticates, without printing tokens
  takos-apply broker [flags]            run the GitHub OIDC broker that mints short-lived Takos PATs
  takos-apply schema                    print the embedded JSON Schema of app.yml
  takos-apply version                   print the version

Run 'takos-apply COMMAND -h' for a command's flags.
Exit codes: 0 ok, 1 findings, 2 usage error, 3 I/O, auth or control-plane failure.
`

// Run executes takos-apply with args (without the program name) and returns
// the process exit code.
//
// In GitHub Actions (GITHUB_ACTIONS=true) stdout and stderr are the
// runner's command channels: each is then written only through one
// safetext.Stream, which makes every line inert except the workflow commands
// takos-apply itself builds (masks, annotations, its notice), so text from
// the manifest or from any server can never start a command.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	actions := getenv("GITHUB_ACTIONS") == "true"
	if actions {
		so, se := safetext.NewStream(stdout), safetext.NewStream(stderr)
		defer so.Flush()
		defer se.Flush()
		stdout, stderr = so, se
	}
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, actions: actions}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "lint", "validate":
		return runLint(ctx, e, rest)
	case "plan":
		return runPlanApply(ctx, e, rest, false)
	case "apply":
		return runPlanApply(ctx, e, rest, true)
	case "auth":
		return runAuth(ctx, e, rest)
	case "broker":
		return runBroker(ctx, e, rest)
	case "schema":
		return runSchema(e, rest)
	case "version", "--version", "-version":
		return runVersion(e, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "takos-apply: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
}

// newFlagSet returns a flag set that reports to stderr and never exits.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: takos-apply %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterleaved parses flags that may follow positional arguments, as in
// "takos-apply lint app.yml --format json": pre-commit appends file names
// after the hook's args, and users expect either order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		i := 0
		for i < len(args) && !strings.HasPrefix(args[i], "-") {
			i++
		}
		pos = append(pos, args[:i]...)
		if i == len(args) {
			return pos, nil
		}
		if args[i] == "--" {
			return append(pos, args[i+1:]...), nil
		}
		args = args[i:]
	}
}

// usageExit maps a flag parsing error to an exit code: -h is not an error.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// envDefault returns getenv(name) or def when it is empty.
func envDefault(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// colorEnabled says whether text output to w may use ANSI colours: only on
// a terminal, and never when NO_COLOR is set (https://no-color.org).
func colorEnabled(w io.Writer, getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && isTerminal(w)
}

// isTerminal reports whether w is a terminal, for colour decisions.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

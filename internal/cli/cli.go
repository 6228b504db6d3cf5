// Package cli is the takos-apply command line: flag parsing, wiring of the
// packages under internal, rendering and exit codes.
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

	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Exit codes, one table for every subcommand.
const (
	ExitOK       = 0 // success; warnings allowed
	ExitFindings = 1 // error findings (or warnings with --strict)
	ExitUsage    = 2 // bad flags or arguments
	ExitFailure  = 3 // I/O, auth, network or control-plane failure

	// ExitChanges is plan --detailed-exitcode's "changes pending"; with
	// that flag every error is ExitFindings (as terraform's
	// -detailed-exitcode), so the shared value 2 is never ambiguous.
	ExitChanges = 2
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
	// secrets is the run's one secret registry (see Run); masker, in
	// Actions, is its ::add-mask:: writer on stdout.
	secrets *safetext.Secrets
	masker  *export.Masker
	// procStdout and procStderr are the process's own streams, without the
	// guard. Only a child process dev runs on a terminal writes there: it
	// is the developer's own app and keeps its terminal (colours, TTY).
	procStdout, procStderr io.Writer
}

const usage = `takos-apply validates a Takos app manifest (.takos/app.yml) and ships its OAuth client.

Usage:
  takos-apply lint [flags] [PATH...]    validate and lint manifests (files or directories)
  takos-apply plan [flags] [PATH]       show what apply would change on the control plane (read only)
  takos-apply apply [flags] [PATH]      create or update the OAuth client and export its credentials
  takos-apply auth debug [flags]        show how takos-apply authenticates, without printing tokens
  takos-apply dev [flags] [PATH] [-- COMMAND ARGS...]
                                        run a local Takos control plane and OAuth server for the manifest
  takos-apply broker [flags]            run the GitHub OIDC broker and gateway to Takos (keyless CI)
  takos-apply schema                    print the embedded JSON Schema of app.yml
  takos-apply rules [--format F]        list every lint rule with its severity
  takos-apply explain RULE...           describe a rule: severity, what it finds, docs
  takos-apply version                   print the version

Run 'takos-apply COMMAND -h' (or 'takos-apply help COMMAND') for a command's
description, flags, environment variables and exit codes.
Exit codes: 0 ok, 1 findings, 2 usage error, 3 I/O, auth or control-plane failure.
`

// Run executes takos-apply with args (without the program name) and returns
// the process exit code.
//
// stdout and stderr are each written only through one safetext.Stream, the
// one guard of untrusted text: it makes every line inert — controls shown
// as escapes, no workflow command but those takos-apply itself builds
// (masks, annotations, its notice) — and redacts every secret of the run's
// registry, so text from the manifest or from any server can neither start
// a command in a GitHub Actions log nor drive a terminal, and no credential
// is printed. The registry is filled by auth, apply and the broker; in
// GitHub Actions (GITHUB_ACTIONS=true) it masks each value on stdout the
// moment it is registered.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	actions := getenv("GITHUB_ACTIONS") == "true"
	secrets := &safetext.Secrets{}
	so, se := safetext.NewStream(stdout).WithSecrets(secrets), safetext.NewStream(stderr).WithSecrets(secrets)
	defer so.Flush()
	defer se.Flush()
	stdout, stderr = so, se
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, actions: actions, secrets: secrets,
		procStdout: so.Underlying(), procStderr: se.Underlying()}
	if actions {
		e.masker = export.MaskerFor(so, secrets)
	}
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
	case "dev":
		return runDev(ctx, e, rest)
	case "schema":
		return runSchema(ctx, e, rest)
	case "rules":
		return runRules(ctx, e, rest)
	case "explain":
		return runExplain(ctx, e, rest)
	case "version", "--version", "-version":
		return runVersion(ctx, e, rest)
	case "help", "-h", "-help", "--help":
		switch topic := strings.Join(rest, " "); topic {
		case "":
			fmt.Fprint(stdout, usage)
			return ExitOK
		case "lint", "validate", "plan", "apply", "auth", "auth debug", "schema", "version", "broker", "dev", "rules", "explain":
			return Run(ctx, append(rest, "-h"), getenv, stdin, so.Underlying(), se.Underlying())
		default:
			fmt.Fprintf(stderr, "takos-apply help: unknown command %q\n\n%s", topic, usage)
			return ExitUsage
		}
	default:
		fmt.Fprintf(stderr, "takos-apply: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
}

// newFlagSet returns a flag set that reports to stderr and never exits,
// for commands that print their own usage (see usageExit). The commands of
// this file use cmdFlagSet and parseArgs instead.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: takos-apply %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// usageExit maps a flag parsing error of a newFlagSet to an exit code: -h
// is not an error.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// cmdFlagSet returns a flag set that never exits and prints nothing by
// itself: a parsing error is printed once, to stderr, by parseArgs, and -h
// prints the command's help to stdout (help is output the user asked for;
// errors are not).
func cmdFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses args for the command cmd and prints what the user must
// see: the help on -h (exit 0), the parsing error on stderr otherwise (exit
// 2). ok is false when the command must stop with code.
func parseArgs(ctx context.Context, e *env, fs *flag.FlagSet, cmd string, args []string) (pos []string, code int, ok bool) {
	pos, err := parseInterleaved(ctx, fs, args)
	switch {
	case err == nil:
		return pos, ExitOK, true
	case errors.Is(err, flag.ErrHelp):
		writeHelp(e.stdout, fs, cmd)
		return nil, ExitOK, false
	case ctx.Err() != nil:
		fmt.Fprintf(e.stderr, "takos-apply %s: %v\n", cmd, err)
		return nil, ExitFailure, false
	}
	fmt.Fprintf(e.stderr, "takos-apply %s: %v\nRun 'takos-apply %s -h' for help.\n", cmd, err, cmd)
	return nil, ExitUsage, false
}

// parseNoArgs is parseArgs for a command that takes flags only: a
// positional argument is a usage error.
func parseNoArgs(ctx context.Context, e *env, fs *flag.FlagSet, cmd string, args []string) (code int, ok bool) {
	pos, code, ok := parseArgs(ctx, e, fs, cmd, args)
	if ok && len(pos) > 0 {
		fmt.Fprintf(e.stderr, "takos-apply %s: unexpected argument %q\n", cmd, pos[0])
		return ExitUsage, false
	}
	return code, ok
}

// parseInterleaved parses flags that may follow positional arguments, as in
// "takos-apply lint app.yml --format json": pre-commit appends file names
// after the hook's args, and users expect either order.
//
// It walks args once: "--" ends the flags (everything after it is a path,
// even "-x.yml"), a lone "-" is a path (standard input), a flag that takes
// a value consumes the next argument unless written as --name=value, and
// everything else is a path. The flags and their values are then handed
// to fs.Parse in their original order, so fs reports unknown flags,
// missing values and -h exactly as the flag package does. One pass over a
// finite list always ends; ctx is checked anyway so that a signal stops
// even an enormous argument list.
func parseInterleaved(ctx context.Context, fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
			continue
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	// fs stops at its first non-flag; the walk above put none in flags,
	// but a value the flag package reads differently must not vanish.
	return append(pos, fs.Args()...), nil
}

// isBoolFlag reports whether f takes no value (--strict, not --strict x).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// envDefault returns getenv(name) or def when it is empty.
func envDefault(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// The values of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// colorEnabled says whether text output to w may use ANSI colours: always
// or never when --color says so (a command-line choice beats the
// environment, as https://no-color.org asks); with auto, only on a
// terminal that is not TERM=dumb, and never when NO_COLOR is set.
func colorEnabled(mode string, w io.Writer, getenv func(string) string) bool {
	switch mode {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	return getenv("NO_COLOR") == "" && getenv("TERM") != "dumb" && isTerminal(w)
}

// isTerminal reports whether w is a terminal, for colour decisions and the
// one-time secret print.
func isTerminal(w io.Writer) bool {
	f, ok := osFile(w)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// osFile is the file w writes to, under its Stream.
func osFile(w io.Writer) (*os.File, bool) {
	if s, ok := w.(*safetext.Stream); ok {
		w = s.Underlying()
	}
	f, ok := w.(*os.File)
	return f, ok
}

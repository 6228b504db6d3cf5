// Package cli is the takos-apply command line: wiring, not work. It holds
// the command table and its one argument parser (command.go), flags,
// environment, the settings file, exit codes and the choice of sinks; the
// work is in the packages it wires (lint.LintFiles, reconcile, auth,
// export, report).
//
// It is the entry point only; its API beyond Run, NotifyContext and
// PrepareProcess is not supported. Run receives the process's world
// (arguments, environment, standard streams) so that the whole CLI runs
// in-process in tests.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
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
	// guard (and without the gates). Only a child process dev runs on a
	// terminal writes there: it is the developer's own app and keeps its
	// terminal (colours, TTY).
	procStdout, procStderr io.Writer
	// ctx is the run's context, for interrupted.
	ctx context.Context
	// gates sit between the command and the process's stdout and stderr
	// (under the Actions streams), so that an abandoned command writes no
	// more once Run has returned (signalAbandon); rawStderr is below them.
	gates     []*gate
	rawStderr io.Writer
	// abandoned: a signal ended the run while its command was still
	// running (signalAbandon), so its streams are not flushed.
	abandoned bool
}

// errorf prints a failure of command cmd ("" for takos-apply itself): in
// GitHub Actions an error annotation, as an action's core.setFailed does,
// so that the run's summary shows it and not only "Process completed with
// exit code 2"; elsewhere a "takos-apply cmd: " line.
func (e *env) errorf(cmd, format string, args ...any) {
	title := "takos-apply"
	if cmd != "" {
		title += " " + cmd
	}
	msg := fmt.Sprintf(format, args...)
	if e.actions {
		c := safetext.NewCommand("error", []safetext.Prop{{Key: "title", Value: title}}, strings.TrimSuffix(msg, "\n"))
		if safetext.WriteCommand(e.stderr, c) == nil {
			return
		}
	}
	fmt.Fprintf(e.stderr, "%s: %s", title, msg)
	if !strings.HasSuffix(msg, "\n") {
		fmt.Fprintln(e.stderr)
	}
}

// findingf prints an error in a file takos-apply reads for itself (the
// settings file): an error annotation on its line in GitHub Actions,
// "file:line:col: error: message" elsewhere.
func (e *env) findingf(d diag.Diagnostic) {
	if e.actions {
		props := []safetext.Prop{{Key: "file", Value: d.File}}
		if d.Pos.Line > 0 {
			props = append(props, safetext.Prop{Key: "line", Value: strconv.Itoa(d.Pos.Line)}, safetext.Prop{Key: "col", Value: strconv.Itoa(d.Pos.Column)})
		}
		props = append(props, safetext.Prop{Key: "title", Value: "takos-apply settings"})
		if safetext.WriteCommand(e.stderr, safetext.NewCommand("error", props, d.Message)) == nil {
			return
		}
	}
	if d.Pos.Line > 0 {
		fmt.Fprintf(e.stderr, "%s:%d:%d: error: %s\n", d.File, d.Pos.Line, d.Pos.Column, d.Message)
		return
	}
	fmt.Fprintf(e.stderr, "%s: error: %s\n", d.File, d.Message)
}

// interrupted reports whether err is only the end of a run a signal
// stopped: the run then says "interrupted" once (runCommand), not the
// cancellation of each request it had in flight. An error that also
// carries another failure (a clean-up that failed after the cancel) is
// not only that, and is printed.
func (e *env) interrupted(err error) bool {
	return err != nil && e.ctx != nil && interruption(e.ctx) != nil && onlyCanceled(err)
}

// onlyCanceled reports whether every chain of err ends in
// context.Canceled.
func onlyCanceled(err error) bool {
	switch u := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		errs := u.Unwrap()
		for _, e := range errs {
			if !onlyCanceled(e) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return onlyCanceled(u.Unwrap())
	}
	// A leaf: context.Canceled itself, an error that says it is one (net's
	// "operation was canceled"), or the signal itself: net/http reports a
	// request whose context was cancelled with a cause as that cause
	// ("Get …: interrupted by interrupt"), not as context.Canceled.
	var i *Interrupted
	return errors.Is(err, context.Canceled) || errors.As(err, &i)
}

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
//
// A run whose context ends with an *Interrupted cause (NotifyContext)
// prints "takos-apply: interrupted" and returns 130 or 143.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	actions := getenv("GITHUB_ACTIONS") == "true"
	// The gates sit under the Streams, so an abandoned command's last
	// writes are dropped after Run returns (see signalAbandon).
	og, eg := newGate(stdout), newGate(stderr)
	secrets := &safetext.Secrets{}
	so, se := safetext.NewStream(og).WithSecrets(secrets), safetext.NewStream(eg).WithSecrets(secrets)
	e := &env{getenv: getenv, stdin: stdin, stdout: so, stderr: se, actions: actions, secrets: secrets,
		procStdout: stdout, procStderr: stderr, ctx: ctx, gates: []*gate{og, eg}, rawStderr: stderr}
	if actions {
		e.masker = export.MaskerFor(so, secrets)
	}
	code := dispatch(ctx, e, args)
	if !e.abandoned {
		// An abandoned command may still hold a Stream, blocked in a
		// write: what it has not written is dropped with it.
		so.Flush()
		se.Flush()
	}
	return code
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

// osFile is the file w writes to, under its Stream and its gate.
func osFile(w io.Writer) (*os.File, bool) {
	if s, ok := w.(*safetext.Stream); ok {
		w = s.Underlying()
	}
	if g, ok := w.(*gate); ok {
		w = g.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

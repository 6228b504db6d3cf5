package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
)

// A command is one takos-apply subcommand. Every command is parsed, helped
// and stopped the same way (runCommand); adding one is a row in commands
// and a setup function.
type command struct {
	// name is what follows "takos-apply": "lint", "auth debug".
	name    string
	aliases []string
	// usage is the synopsis after "takos-apply ": "lint [flags] [PATH...]";
	// short, when set, is a shorter one for the list of commands.
	usage, short string
	// summary is the command's line in "takos-apply help".
	summary string
	help    help
	args    arity
	signals onSignal
	// lints: the command lints manifests; main tunes the process for it
	// (PrepareProcess).
	lints bool
	// runsCommand: what follows "--" is a command for it to run (dev), not
	// more paths; run gets it after a "--" of its own.
	runsCommand bool
	// setup registers the command's flags on fs, with defaults read from
	// e, and returns what runs once the arguments are parsed. A command
	// without setup is a group of subcommands ("auth").
	setup func(e *env, fs *flag.FlagSet) action
}

// action is a parsed command, ready to run.
type action struct {
	// run runs the command with its positional arguments and returns the
	// exit code.
	run func(ctx context.Context, args []string) int
	// exit, when set, maps every exit code of the command, usage errors
	// included (plan --detailed-exitcode); it sees the flags as parsed.
	exit func(code int) int
}

// arity is how many positional arguments a command takes.
type arity int

const (
	noArgs   arity = iota
	optPath        // at most one (plan, apply)
	anyPaths       // any number (lint)
)

// commands is every command, in the order "takos-apply help" lists them.
var commands = []*command{
	lintCommand,
	planCommand,
	applyCommand,
	authCommand,
	authDebugCommand,
	devCommand,
	brokerCommand,
	brokerCheckCommand,
	brokerTestCommand,
	brokerSchemaCommand,
	schemaCommand,
	rulesCommand,
	explainCommand,
	versionCommand,
}

// lookup finds the command args start with: the longest name that matches
// ("broker check" before "broker"). rest is what follows the name.
func lookup(args []string) (cmd *command, rest []string) {
	if len(args) == 0 {
		return nil, nil
	}
	if len(args) > 1 {
		if c := find(args[0] + " " + args[1]); c != nil {
			return c, args[2:]
		}
	}
	return find(args[0]), args[1:]
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name || slices.Contains(c.aliases, name) {
			return c
		}
	}
	return nil
}

// subcommands returns the commands under group ("auth" → "auth debug").
func subcommands(group string) []*command {
	var out []*command
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c)
		}
	}
	return out
}

// subcommandWords are the names of group's subcommands without the group
// ("debug" for "auth debug").
func subcommandWords(group string) []string {
	var out []string
	for _, s := range subcommands(group) {
		out = append(out, strings.TrimPrefix(s.name, group+" "))
	}
	return out
}

// dispatch runs the command args name.
func dispatch(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage())
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return runHelp(e, args[1:])
	case "-v", "--version", "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		e.errorf("", "unknown command %q%s", args[0], didYouMean(args[0], commandWords()))
		fmt.Fprint(e.stderr, "\n"+usage())
		return ExitUsage
	}
	return runCommand(ctx, e, cmd, rest)
}

// runHelp is "takos-apply help [COMMAND]".
func runHelp(e *env, topic []string) int {
	if len(topic) == 0 || isHelpArg(topic[0]) {
		fmt.Fprint(e.stdout, usage())
		return ExitOK
	}
	cmd, rest := lookup(topic)
	if cmd == nil || len(rest) > 0 {
		name := strings.Join(topic, " ")
		e.errorf("help", "unknown command %q%s", name, didYouMean(topic[0], commandWords()))
		fmt.Fprint(e.stderr, "\n"+usage())
		return ExitUsage
	}
	return runCommand(context.Background(), e, cmd, []string{"-h"})
}

// runCommand parses args for cmd and runs it: -h prints the help on stdout
// (exit 0), a usage error goes to stderr (exit 2), and a signal ends the
// run as cmd.signals says, with one line and exit 130 or 143.
func runCommand(ctx context.Context, e *env, cmd *command, args []string) int {
	if cmd.setup == nil {
		return runGroup(ctx, e, cmd, args)
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	act := cmd.setup(e, fs)
	exit := act.exit
	if exit == nil {
		exit = func(code int) int { return code }
	}
	var command []string // after "--", for a command that runs one
	if cmd.runsCommand {
		if i := slices.Index(args, "--"); i >= 0 {
			args, command = args[:i], append([]string{"--"}, args[i+1:]...)
		}
	}
	pos, help, err := parseArgs(ctx, fs, args)
	switch {
	case help:
		writeHelp(e.stdout, cmd, fs)
		return ExitOK
	case err != nil && ctx.Err() != nil:
		if i := interruption(ctx); i != nil {
			fmt.Fprintln(e.stderr, "takos-apply: interrupted")
			return i.ExitCode()
		}
		e.errorf(cmd.name, "%v", err)
		return exit(ExitFailure)
	case err != nil:
		msg := err.Error()
		var uf *unknownFlagError
		if errors.As(err, &uf) && uf.suggestion == "" && cmd.args != noArgs && strings.ContainsAny(uf.flag, "./") {
			msg += fmt.Sprintf(`; a path that starts with "-" goes after "--": takos-apply %s -- %s`, cmd.name, uf.flag)
		}
		return exit(usageError(e, cmd, msg))
	}
	switch {
	case cmd.args == noArgs && len(pos) > 0:
		if words := subcommandWords(cmd.name); len(words) > 0 && len(args) > 0 && args[0] == pos[0] {
			return exit(usageError(e, cmd, fmt.Sprintf("unknown subcommand %q%s; the subcommands are %s",
				pos[0], didYouMean(pos[0], words), strings.Join(words, ", "))))
		}
		return exit(usageError(e, cmd, fmt.Sprintf("unexpected argument %q", pos[0])))
	case cmd.args == optPath && len(pos) > 1:
		return exit(usageError(e, cmd, fmt.Sprintf("one manifest at a time, got %d", len(pos))))
	}
	code, abandoned := runSignals(ctx, e, cmd, act.run, append(pos, command...))
	if i := interruption(ctx); i != nil && cmd.signals != signalServe {
		w := e.stderr
		if abandoned {
			w = e.rawStderr
		}
		fmt.Fprintln(w, "takos-apply: interrupted")
		return i.ExitCode()
	}
	return exit(code)
}

// runSignals runs the command; an abandoned command (see signalAbandon)
// is left running with its output gates closed when a signal arrives.
func runSignals(ctx context.Context, e *env, cmd *command, run func(context.Context, []string) int, pos []string) (code int, abandoned bool) {
	if cmd.signals != signalAbandon {
		return run(ctx, pos), false
	}
	done := make(chan int, 1)
	go func() { done <- run(ctx, pos) }()
	select {
	case code := <-done:
		return code, false
	case <-ctx.Done():
		if interruption(ctx) == nil {
			return <-done, false // a deadline: the command reports it
		}
		for _, g := range e.gates {
			g.close()
		}
		e.abandoned = true
		return ExitFailure, true
	}
}

// runGroup is a group name alone ("takos-apply auth"): its help with -h, a
// usage error otherwise. A group of one subcommand prints that one's help.
func runGroup(ctx context.Context, e *env, cmd *command, args []string) int {
	subs := subcommands(cmd.name)
	if len(args) > 0 && isHelpArg(args[0]) {
		if len(subs) == 1 {
			return runCommand(ctx, e, subs[0], []string{"-h"})
		}
		fmt.Fprint(e.stdout, groupUsage(subs))
		return ExitOK
	}
	words := subcommandWords(cmd.name)
	msg := "missing subcommand"
	if len(args) > 0 {
		msg = fmt.Sprintf("unknown subcommand %q%s", args[0], didYouMean(args[0], words))
	}
	e.errorf(cmd.name, "%s; the subcommands are %s", msg, strings.Join(words, ", "))
	fmt.Fprint(e.stderr, groupUsage(subs))
	return ExitUsage
}

func groupUsage(subs []*command) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	writeCommandList(&b, subs)
	fmt.Fprintf(&b, "Run 'takos-apply %s -h' for help.\n", subs[0].name)
	return b.String()
}

// writeCommandList lists commands with their summaries, aligned; a long
// synopsis puts its summary on the next line.
func writeCommandList(b *strings.Builder, cmds []*command) {
	const width = 34
	for _, c := range cmds {
		if c.summary == "" {
			continue
		}
		u := cmp.Or(c.short, c.usage)
		if len(u) <= width {
			fmt.Fprintf(b, "  takos-apply %-*s  %s\n", width, u, c.summary)
			continue
		}
		fmt.Fprintf(b, "  takos-apply %s\n  %*s  %s\n", u, width+len("takos-apply "), "", c.summary)
	}
}

func isHelpArg(a string) bool {
	switch a {
	case "-h", "-help", "--help", "--h", "help":
		return true
	}
	return false
}

// usageError prints a usage error of cmd on stderr: the error, the
// command's synopsis and where help is.
func usageError(e *env, cmd *command, msg string) int {
	return usageErrorOf(e, cmd.name, cmd.usage, msg)
}

// usageErrorOf is usageError for a command known by its name and
// synopsis (from inside its own setup).
func usageErrorOf(e *env, name, usage, msg string) int {
	e.errorf(name, "%s", msg)
	fmt.Fprintf(e.stderr, "Usage: takos-apply %s\nRun 'takos-apply %s -h' for help.\n", usage, name)
	return ExitUsage
}

// didYouMean is "; did you mean "x"?" for the candidate nearest to word,
// or "".
func didYouMean(word string, candidates []string) string {
	if c := fuzzy.Closest(word, candidates); c != "" && c != word {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

func commandWords() []string {
	var out []string
	for _, c := range commands {
		if !strings.Contains(c.name, " ") {
			out = append(out, c.name)
		}
	}
	return append(out, "help")
}

// usage is "takos-apply help": every command with its summary.
func usage() string {
	var b strings.Builder
	b.WriteString("takos-apply validates a Takos app manifest (.takos/app.yml) and ships its OAuth client.\n\nUsage:\n")
	writeCommandList(&b, commands)
	b.WriteString(`
Run 'takos-apply COMMAND -h' (or 'takos-apply help COMMAND') for a command's
description, flags, environment variables and exit codes; 'takos-apply -v'
prints the version.
Exit codes: 0 ok, 1 findings, 2 usage error, 3 I/O, auth or control-plane
failure, 130 or 143 interrupted (SIGINT, SIGTERM).
`)
	return b.String()
}

// parseArgs parses a command's arguments: flags may come before or after
// positional arguments ("takos-apply lint app.yml --format json":
// pre-commit appends file names after the hook's args), "--" ends the
// flags (everything after it is positional, even "-x.yml"), a lone "-" is
// positional (standard input), and a flag that takes a value consumes the
// next argument unless written --name=value. -flag and --flag are the
// same, as in the flag package, whose FlagSet holds the flags.
//
// help reports -h, -help or --help. After an error the walk goes on, so
// every flag that parses is set (plan --detailed-exitcode then maps even a
// usage error), and the first error is returned. ctx is checked on each
// argument, so a signal stops even an enormous list.
func parseArgs(ctx context.Context, fs *flag.FlagSet, args []string) (pos []string, help bool, err error) {
	fail := func(format string, a ...any) {
		if err == nil {
			err = fmt.Errorf(format, a...)
		}
	}
	for i := 0; i < len(args); i++ {
		if cerr := ctx.Err(); cerr != nil {
			return nil, false, cerr
		}
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimPrefix(a[1:], "-")
		name, value, hasValue := strings.Cut(name, "=")
		if name == "" || name[0] == '-' || name[0] == '=' {
			fail("bad flag syntax: %s", a)
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			if (name == "h" || name == "help") && !hasValue {
				help = true
				continue
			}
			if err == nil {
				err = &unknownFlagError{flag: strings.SplitN(a, "=", 2)[0], suggestion: flagSuggestion(fs, name)}
			}
			continue
		}
		if !hasValue {
			if isBoolFlag(f) {
				value = "true"
			} else if i+1 < len(args) {
				i++
				value = args[i]
			} else {
				fail("flag --%s needs a value", name)
				continue
			}
		}
		if serr := fs.Set(name, value); serr != nil {
			if isBoolFlag(f) {
				fail("invalid value %q for --%s: write true or false", value, name)
			} else {
				fail("invalid value %q for --%s: %v", value, name, serr)
			}
		}
	}
	return pos, help, err
}

// unknownFlagError is a flag the command does not have, as typed.
type unknownFlagError struct{ flag, suggestion string }

func (u *unknownFlagError) Error() string { return "unknown flag " + u.flag + u.suggestion }

// flagSuggestion is "; did you mean --x?" for the flag of fs nearest to
// name, or "".
func flagSuggestion(fs *flag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if c := fuzzy.Closest(name, names); c != "" {
		return "; did you mean --" + c + "?"
	}
	return ""
}

// isBoolFlag reports whether f takes no value (--strict, not --strict x).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// writeHelp prints cmd's help: the synopsis, what it does, its flags with
// their effective defaults (read from the environment), its subcommands,
// the environment it reads and its exit codes.
func writeHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	h := cmd.help
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: takos-apply %s\n\n%s", cmd.usage, h.description)
	if subs := subcommands(cmd.name); len(subs) > 0 {
		b.WriteString("\nSubcommands:\n")
		writeCommandList(&b, subs)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		b.WriteString("\nFlags:\n")
		writeFlags(&b, fs)
	}
	if len(h.env) > 0 {
		b.WriteString("\nEnvironment:\n")
		for _, l := range h.env {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("\n" + h.exitCodes)
	io.WriteString(w, b.String())
}

// writeFlags lists fs's flags as flag.PrintDefaults does, in the one style
// of every message: --name.
func writeFlags(b *strings.Builder, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, use := flag.UnquoteUsage(f)
		b.WriteString("  --" + f.Name)
		if typ != "" {
			b.WriteString(" " + typ)
		}
		b.WriteString("\n        " + strings.ReplaceAll(use, "\n", "\n        "))
		switch f.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			if typ == "string" {
				fmt.Fprintf(b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(b, " (default %v)", f.DefValue)
			}
		}
		b.WriteString("\n")
	})
}

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

var lintCommand = &command{
	name:    "lint",
	aliases: []string{"validate"},
	usage:   "lint [flags] [PATH...]",
	summary: "validate and lint manifests (files or directories)",
	help:    lintHelp,
	args:    anyPaths,
	signals: signalAbandon,
	lints:   true,
	setup:   lintSetup,
}

// lintFlags are shared by lint, plan and apply: every command that reads a
// manifest lints it the same way, with the same configuration file.
type lintFlags struct {
	env      string
	format   string
	formats  []string // what --format accepts for this command
	strict   bool
	maxSize  int64
	color    string
	disable  ruleList
	exclude  patternList // lint only
	config   string
	noConfig bool
}

func (l *lintFlags) register(fs *flag.FlagSet, e *env, formats ...string) {
	fs.StringVar(&l.env, "env", envDefault(e.getenv, "TAKOS_ENV", "production"),
		"deploy environment; localhost redirect URIs warn in production (env TAKOS_ENV)")
	l.formats = formats
	def := "text"
	if e.actions && slices.Contains(formats, "github") {
		def = "github"
	}
	fs.StringVar(&l.format, "format", def, "output format: "+strings.Join(formats, "|"))
	fs.BoolVar(&l.strict, "strict", false, "treat warnings as errors (exit 1)")
	fs.Int64Var(&l.maxSize, "max-file-size", manifest.DefaultLimits().MaxBytes, "largest manifest accepted, in bytes")
	fs.StringVar(&l.color, "color", colorAuto, "colour text output: auto (a terminal without NO_COLOR or TERM=dumb), always or never")
	fs.Var(&l.disable, "disable", "rule IDs to drop everywhere, comma-separated or repeated (see also # takos-apply:ignore RULE)")
	fs.StringVar(&l.config, "config", "", "lint settings file; default .takos-apply.yml (or .yaml) in the working directory or a parent up to the repository root")
	fs.BoolVar(&l.noConfig, "no-config", false, "read no lint settings file")
}

// lintOptions are the lint rules' options for this run; scopes nil means
// the embedded scope catalogue.
func (l *lintFlags) lintOptions(scopes []string) lint.Options {
	return lint.Options{Env: l.env, Scopes: scopes, Disable: l.disable}
}

// lintConfig is the lint run over files these flags describe.
func (l *lintFlags) lintConfig() lint.Config {
	lim := manifest.DefaultLimits()
	lim.MaxBytes = l.maxSize
	return lint.Config{Options: l.lintOptions(nil), Limits: lim, Exclude: &l.exclude.Patterns}
}

// check applies the configuration file under the flags and reports an
// unknown --format or --color as a usage error on stderr; it says once when
// --env names an environment takos-apply does not know, which is treated
// as production (fail safe). It returns the exit code to stop with, or -1.
func (l *lintFlags) check(e *env, fs *flag.FlagSet, cmd string) int {
	if code := l.applyConfig(e, fs, cmd); code >= 0 {
		return code
	}
	if !slices.Contains(l.formats, l.format) {
		hint := ""
		if !slices.Contains(l.formats, "github") && (l.format == "github" || l.format == "sarif") {
			hint = " (in GitHub Actions the findings are annotations whatever the format)"
		}
		e.errorf(cmd, "unknown --format %q%s; use %s%s", l.format,
			didYouMean(l.format, l.formats), strings.Join(l.formats, ", "), hint)
		return ExitUsage
	}
	switch l.color {
	case colorAuto, colorAlways, colorNever:
	default:
		e.errorf(cmd, "unknown --color %q%s; use auto, always or never", l.color,
			didYouMean(l.color, []string{colorAuto, colorAlways, colorNever}))
		return ExitUsage
	}
	if env := strings.TrimSpace(l.env); env != "" && !redirecturi.Development(env) && !strings.EqualFold(env, "production") && !strings.EqualFold(env, "prod") {
		fmt.Fprintf(e.stderr, "takos-apply %s: note: environment %q (--env / TAKOS_ENV) is not development, dev, local or test; treating %s as production\n",
			cmd, safetext.Compact(l.env, 60), safetext.Compact(env, 60))
	}
	return -1
}

// stdinDefaultName is the path standard input is reported under without
// --stdin-filename.
const stdinDefaultName = "<stdin>"

func lintSetup(e *env, fs *flag.FlagSet) action {
	var lf lintFlags
	lf.register(fs, e, "text", "json", "github", "sarif")
	stdinName := fs.String("stdin-filename", stdinDefaultName, "the file name standard input (PATH -) is reported under")
	fs.Var(&lf.exclude, "exclude", "skip manifests whose path matches this glob (** spans directories); repeatable")
	return action{run: func(ctx context.Context, paths []string) int {
		if code := lf.check(e, fs, "lint"); code >= 0 {
			return code
		}
		return runLint(ctx, e, &lf, *stdinName, paths)
	}}
}

// runLint is the wiring of lint: the report writer for --format, the run
// over the files (lint.LintFiles) and the exit code.
func runLint(ctx context.Context, e *env, lf *lintFlags, stdinName string, paths []string) int {
	paths, fromStdin, err := splitStdin(paths)
	if err != nil {
		e.errorf("lint", "%v", err)
		return ExitUsage
	}
	ropts := report.Options{
		Color:       lf.format == "text" && colorEnabled(lf.color, e.stdout, e.getenv),
		Version:     Version(),
		Development: redirecturi.Development(lf.env),
		Root:        workingDir(),
	}
	if lf.format == "sarif" {
		// Only SARIF lists the rules; the other formats need not build the
		// merged catalogue at start-up.
		ropts.Rules = lint.Catalog()
	}
	out, err := report.NewWriter(lf.format, e.stdout, ropts)
	if err != nil {
		e.errorf("lint", "%v", err)
		return ExitUsage
	}
	cfg := lf.lintConfig()
	cfg.Snippets = lf.format == "text"
	// Every format lists at most report.MaxPerRule findings of a rule per
	// file; capped as each file is linted, the files waiting in the
	// window stay small.
	cfg.MaxPerRule = report.MaxPerRule
	if fromStdin {
		cfg.Stdin, cfg.StdinName = e.stdin, stdinName
	}
	res, writeErr := lint.LintFiles(ctx, paths, cfg, func(f lint.File) error { return out.WriteFile(report.File(f)) })
	if res.Files == 0 && len(res.Failures) == 1 {
		// Nothing to lint (no manifest, a missing path): say so, write no
		// report.
		if isPath, none := lint.IsPathError(res.Failures[0]); isPath {
			e.errorf("lint", "%v", res.Failures[0])
			if none {
				return ExitUsage
			}
			return ExitFailure
		}
	}
	if writeErr == nil {
		writeErr = out.Close()
	}
	if writeErr != nil {
		e.errorf("lint", "writing output: %v", writeErr)
		return ExitFailure
	}
	for _, f := range res.Failures {
		e.errorf("lint", "%v", f)
	}
	if len(res.Failures) > 0 {
		return ExitFailure
	}
	return summaryExit(out.Summary(), lf.strict)
}

// workingDir is the root SARIF makes absolute paths relative to; "" (file
// URIs) if it cannot be known.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func summaryExit(s report.Summary, strict bool) int {
	if s.Errors > 0 || (strict && s.Warnings > 0) {
		return ExitFindings
	}
	return ExitOK
}

// splitStdin removes the "-" (standard input) from paths. Standard input
// can be read only once, so a second "-" is a usage error.
func splitStdin(paths []string) (rest []string, stdin bool, err error) {
	for _, p := range paths {
		if p != "-" {
			rest = append(rest, p)
			continue
		}
		if stdin {
			return nil, false, errors.New(`"-" (standard input) may be given only once`)
		}
		stdin = true
	}
	return rest, stdin, nil
}

// ruleList is --disable: repeatable, comma-separated rule IDs, each checked
// against the catalogue so a typo is a usage error, not a silent no-op.
type ruleList []string

func (r *ruleList) String() string { return strings.Join(*r, ",") }

func (r *ruleList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if err := lint.KnownRule(id); err != nil {
			return err
		}
		*r = append(*r, id)
	}
	return nil
}

// patternList is --exclude: repeatable glob patterns over the paths lint
// finds (lint.Patterns).
type patternList struct {
	lint.Patterns
	flags []string
}

func (p *patternList) String() string { return strings.Join(p.flags, ",") }

func (p *patternList) Set(v string) error {
	if err := p.Add(v, ""); err != nil {
		return err
	}
	p.flags = append(p.flags, v)
	return nil
}

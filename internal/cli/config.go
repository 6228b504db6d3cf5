package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// The lint settings file, found as golangci-lint and actionlint find
// theirs: in the working directory or a parent up to the repository root
// (the first directory with .git), never above it.
var configNames = []string{".takos-apply.yml", ".takos-apply.yaml"}

// configKeys are the settings the file may hold: the flags of every
// command that lints, by flag name.
var configKeys = []string{"env", "strict", "disable", "exclude"}

// lintSettings is what a settings file holds.
type lintSettings struct {
	env            string
	strict         *bool
	disable        []string
	exclude        []string
	excludeBaseDir string
}

// applyConfig reads the settings file (unless --no-config) and applies it
// under the command line: a flag given on the command line wins, then
// TAKOS_ENV for env, then the file; the file's disable and exclude lists
// are added to the flags'. It returns the exit code to stop with, or -1.
func (l *lintFlags) applyConfig(e *env, flags *flag.FlagSet, cmd string) int {
	if l.noConfig {
		return -1
	}
	path := l.config
	if path == "" {
		var err error
		if path, err = findConfig(); err != nil {
			e.errorf(cmd, "%v", err)
			return ExitUsage
		}
		if path == "" {
			return -1
		}
	}
	s, problems, err := loadConfig(path)
	if err != nil {
		e.errorf(cmd, "reading the lint settings file %s: %v", path, err)
		if errors.Is(err, fs.ErrNotExist) {
			return ExitUsage
		}
		return ExitFailure
	}
	if len(problems) > 0 {
		for _, p := range problems {
			e.findingf(p)
		}
		e.errorf(cmd, "the lint settings file %s has errors; fix it, or pass --no-config to ignore it", path)
		return ExitUsage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// dev is local development whatever the repository's CI lints as.
	if s.env != "" && !set["env"] && e.getenv("TAKOS_ENV") == "" && cmd != "dev" {
		l.env = s.env
	}
	if s.strict != nil && !set["strict"] {
		l.strict = *s.strict
	}
	l.disable = append(l.disable, s.disable...)
	if flags.Lookup("exclude") != nil {
		for _, g := range s.exclude {
			// Checked by loadConfig.
			_ = l.exclude.Add(g, s.excludeBaseDir)
		}
	}
	return -1
}

// findConfig returns the settings file for the working directory, or "".
func findConfig() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", nil // nowhere to look
	}
	// The directories searched: up to the repository root, or only the
	// working directory outside a repository.
	dirs := []string{wd}
	for dir := wd; ; {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			dirs = dirs[:1]
			break
		}
		dir = parent
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		var found []string
		for _, name := range configNames {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				found = append(found, filepath.Join(dir, name))
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return displayPath(wd, found[0]), nil
		}
		return "", fmt.Errorf("both %s and %s exist; keep one", displayPath(wd, found[0]), displayPath(wd, found[1]))
	}
	return "", nil
}

// displayPath is p relative to the working directory when it is inside it.
func displayPath(wd, p string) string {
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// loadConfig reads a settings file with the manifest's YAML loader, so a
// problem is reported as file:line:col like a lint finding.
func loadConfig(path string) (lintSettings, diag.List, error) {
	s := lintSettings{excludeBaseDir: filepath.Dir(path)}
	src, refused, err := lint.ReadTarget(lint.Target{Path: path, Root: filepath.Dir(path)}, 1<<20)
	if err != nil {
		return s, nil, err
	}
	var problems diag.List
	for _, d := range refused {
		problems = append(problems, diag.Diagnostic{File: path, Severity: diag.Error, Message: d.Message})
	}
	if len(refused) > 0 {
		return s, problems, nil
	}
	doc, diags := manifest.Parse(path, src, manifest.Limits{MaxBytes: 1 << 20, MaxDepth: 8, MaxKeys: 100, MaxNodes: 10_000})
	for _, d := range diags {
		if d.Severity == diag.Error && d.Rule != manifest.RuleEmpty.ID {
			problems = append(problems, d)
		}
	}
	if len(problems) > 0 || doc.Value == nil {
		return s, problems, nil // an empty file sets nothing
	}
	at := func(ptr string, key bool, format string, a ...any) {
		p := doc.Pos(ptr)
		if key {
			p = doc.KeyPos(ptr)
		}
		problems = append(problems, diag.Diagnostic{File: path, Pos: p, Severity: diag.Error, Message: fmt.Sprintf(format, a...)})
	}
	top, ok := doc.Value.(map[string]any)
	if !ok {
		at("", false, "the lint settings are a mapping of %s; for example:  strict: true", strings.Join(configKeys, ", "))
		return s, problems, nil
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return diag.Compare(diag.Diagnostic{Pos: doc.KeyPos(manifest.Pointer(a))}, diag.Diagnostic{Pos: doc.KeyPos(manifest.Pointer(b))})
	})
	for _, k := range keys {
		ptr := manifest.Pointer(k)
		v := top[k]
		switch k {
		case "env":
			str, ok := v.(string)
			if !ok || strings.TrimSpace(str) == "" {
				at(ptr, false, "env is a deploy environment name, such as production or development")
				continue
			}
			s.env = str
		case "strict":
			b, ok := v.(bool)
			if !ok {
				// The YAML 1.1 booleans a user means (strict: yes): say
				// which one to write, as lint's schema-type does.
				str, _ := v.(string)
				switch strings.ToLower(str) {
				case "yes", "y", "on":
					at(ptr, false, "strict is true or false; write true (%s is text in YAML 1.2, which takos-apply reads, not a boolean)", str)
				case "no", "n", "off":
					at(ptr, false, "strict is true or false; write false (%s is text in YAML 1.2, which takos-apply reads, not a boolean)", str)
				default:
					at(ptr, false, "strict is true or false")
				}
				continue
			}
			s.strict = &b
		case "disable", "exclude":
			list, ok := v.([]any)
			if !ok {
				at(ptr, false, "%s is a list, for example:  %s: [%s]", k, k, map[string]string{"disable": "yaml11-boolean", "exclude": `"**/testdata/**"`}[k])
				continue
			}
			for i, item := range list {
				iptr := manifest.Pointer(k, fmt.Sprint(i))
				str, ok := item.(string)
				if !ok || str == "" {
					at(iptr, false, "a %s entry is a non-empty string", k)
					continue
				}
				if k == "disable" {
					if err := lint.KnownRule(str); err != nil {
						at(iptr, false, "%v", err)
						continue
					}
					s.disable = append(s.disable, str)
					continue
				}
				if err := new(lint.Patterns).Add(str, ""); err != nil {
					at(iptr, false, "%v", err)
					continue
				}
				s.exclude = append(s.exclude, str)
			}
		default:
			at(ptr, true, "unknown setting %q%s (the settings are %s)", k, didYouMean(k, configKeys), strings.Join(configKeys, ", "))
		}
	}
	return s, problems, nil
}

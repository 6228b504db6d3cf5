package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// argsGuard is how long one parse may take before the test calls it a
// hang: the parser once looped forever on a lone "-", and a regression
// must fail the suite instead of stalling CI until its global timeout.
const argsGuard = 5 * time.Second

// within runs f and fails the test if it does not return within argsGuard.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(argsGuard):
		t.Fatalf("%s did not return within %v (hang)", what, argsGuard)
		panic("unreachable")
	}
}

func testFlagSet() (*flag.FlagSet, *string, *bool) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "text", "")
	strict := fs.Bool("strict", false, "")
	return fs, format, strict
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args       []string
		wantPos    []string
		wantFormat string
		wantStrict bool
		wantHelp   bool
		wantErr    string
	}{
		{args: nil, wantPos: nil, wantFormat: "text"},
		{args: []string{"-"}, wantPos: []string{"-"}, wantFormat: "text"},
		{args: []string{"x.yml", "-"}, wantPos: []string{"x.yml", "-"}, wantFormat: "text"},
		{args: []string{"-", "--format", "json"}, wantPos: []string{"-"}, wantFormat: "json"},
		{args: []string{"a", "--format", "json", "b", "--strict"}, wantPos: []string{"a", "b"}, wantFormat: "json", wantStrict: true},
		{args: []string{"--format=json", "a"}, wantPos: []string{"a"}, wantFormat: "json"},
		{args: []string{"-strict", "a"}, wantPos: []string{"a"}, wantFormat: "text", wantStrict: true},
		{args: []string{"--strict=false", "a"}, wantPos: []string{"a"}, wantFormat: "text"},
		// "--" ends the flags: what follows is a path, even "-x.yml".
		{args: []string{"--", "-x.yml"}, wantPos: []string{"-x.yml"}, wantFormat: "text"},
		{args: []string{"a", "--", "--format", "json"}, wantPos: []string{"a", "--format", "json"}, wantFormat: "text"},
		{args: []string{"--strict", "--", "--"}, wantPos: []string{"--"}, wantFormat: "text", wantStrict: true},
		// A flag's value is the next argument, whatever it looks like.
		{args: []string{"--format", "-"}, wantPos: nil, wantFormat: "-"},
		{args: []string{"--format", "--"}, wantPos: nil, wantFormat: "--"},
		{args: []string{"--format"}, wantErr: "flag --format needs a value"},
		{args: []string{"-x.yml"}, wantErr: "unknown flag -x.yml"},
		{args: []string{"--formt", "json"}, wantErr: "unknown flag --formt; did you mean --format?"},
		{args: []string{"--strict=maybe"}, wantErr: `invalid value "maybe" for --strict: write true or false`},
		{args: []string{"---format", "json"}, wantErr: "bad flag syntax: ---format"},
		{args: []string{"a", "-h"}, wantPos: []string{"a"}, wantFormat: "text", wantHelp: true},
		{args: []string{"--help", "--format", "json"}, wantFormat: "json", wantHelp: true},
		// After an error the other flags are still set (plan
		// --detailed-exitcode maps a usage error), and the first error
		// is the one reported.
		{args: []string{"--bogus", "--strict", "--nope"}, wantStrict: true, wantFormat: "text", wantErr: "unknown flag --bogus"},
	}
	for _, tc := range tests {
		name := strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			fs, format, strict := testFlagSet()
			type result struct {
				pos  []string
				help bool
				err  error
			}
			got := within(t, "parseArgs("+name+")", func() result {
				pos, help, err := parseArgs(context.Background(), fs, tc.args)
				return result{pos, help, err}
			})
			if tc.wantErr != "" {
				if got.err == nil || got.err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", got.err, tc.wantErr)
				}
				if *strict != tc.wantStrict {
					t.Errorf("strict %v after the error, want %v", *strict, tc.wantStrict)
				}
				return
			}
			if got.err != nil {
				t.Fatalf("unexpected error %v", got.err)
			}
			if !slices.Equal(got.pos, tc.wantPos) || *format != tc.wantFormat || *strict != tc.wantStrict || got.help != tc.wantHelp {
				t.Errorf("got paths %q format %q strict %v help %v, want %q %q %v %v", got.pos, *format, *strict, got.help, tc.wantPos, tc.wantFormat, tc.wantStrict, tc.wantHelp)
			}
		})
	}
}

func TestParseArgsCanceled(t *testing.T) {
	fs, _, _ := testFlagSet()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := within(t, "parseArgs", func() error {
		_, _, err := parseArgs(ctx, fs, []string{"a", "-", "b"})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// FuzzParseArgs feeds argument lists (NUL-separated in the corpus) to the
// parser: it must return, every argument must come back as exactly one of
// a path, a flag or a flag's value, and paths keep their order.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"", "-", "-\x00-", "x.yml\x00-", "--\x00-x.yml", "--format\x00-", "-\x00--format\x00json",
		"--format", "---x", "--=x", "-=", "a\x00--strict\x00b\x00--\x00--strict", "-h", "--format=json\x00-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		if s != "" {
			args = strings.Split(s, "\x00")
		}
		if len(args) > 64 {
			args = args[:64]
		}
		fs, _, _ := testFlagSet()
		type result struct {
			pos []string
			err error
		}
		got := within(t, "parseArgs", func() result {
			pos, _, err := parseArgs(context.Background(), fs, args)
			return result{pos, err}
		})
		if got.err != nil {
			return
		}
		if len(got.pos) > len(args) {
			t.Fatalf("%q: %d paths from %d arguments", args, len(got.pos), len(args))
		}
		// Every path is an argument, in order.
		i := 0
		for _, p := range got.pos {
			for i < len(args) && args[i] != p {
				i++
			}
			if i == len(args) {
				t.Fatalf("%q: path %q is not an argument in order (paths %q)", args, p, got.pos)
			}
			i++
		}
		// Without "--", every plain word that is no flag's value is a path.
		if !slices.Contains(args, "--") {
			for j, a := range args {
				isValue := j > 0 && (args[j-1] == "--format" || args[j-1] == "-format")
				if !isValue && (a == "-" || !strings.HasPrefix(a, "-")) && !slices.Contains(got.pos, a) {
					t.Fatalf("%q: argument %q was dropped (paths %q)", args, a, got.pos)
				}
			}
		}
	})
}

// runIn runs the CLI in dir with stdin and a deadline, failing on a hang.
func runIn(t *testing.T, dir string, env map[string]string, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), argsGuard)
	defer cancel()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := within(t, "takos-apply "+strings.Join(args, " "), func() int {
		return Run(ctx, args, getenv, stdin, &stdout, &stderr)
	})
	return code, stdout.String(), stderr.String()
}

const stdinManifest = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: demo
spec:
  version: 1.0
`

// TestLintStdin: "lint -" reads standard input, positions name
// --stdin-filename, and it mixes with file paths in path order.
func TestLintStdin(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yml"), []byte(stdinManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // lines of stdout, in order
		wantErr  string
	}{
		{name: "lone dash", args: []string{"lint", "-"}, wantCode: 1,
			want: []string{"<stdin>:6:12: error: spec.version must be a string"}},
		{name: "named", args: []string{"lint", "--stdin-filename", ".takos/app.yml", "-"}, wantCode: 1,
			want: []string{".takos/app.yml:6:12: error:"}},
		{name: "flags after the dash", args: []string{"lint", "-", "--stdin-filename", "z.yml", "--format", "json"}, wantCode: 1,
			want: []string{`{"files":[{"path":"z.yml","diagnostics":[{"rule":"schema-type"`}},
		{name: "with a file, in path order", args: []string{"lint", "--format", "json", "--stdin-filename", "b.yml", "-", "a.yml"}, wantCode: 1,
			want: []string{`{"files":[{"path":"a.yml"`, `{"path":"b.yml"`}},
		{name: "twice", args: []string{"lint", "-", "-"}, wantCode: 2,
			wantErr: `"-" (standard input) may be given only once`},
		{name: "double dash then a dash-named path", args: []string{"lint", "--", "-x.yml"}, wantCode: 3,
			wantErr: "reading -x.yml: no such file or directory"},
		{name: "plan reads no stdin", args: []string{"plan", "-"}, wantCode: 2,
			wantErr: "standard input (-) is read by lint only"},
		{name: "apply reads no stdin", args: []string{"apply", "--", "-"}, wantCode: 2,
			wantErr: "standard input (-) is read by lint only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runIn(t, "", nil, strings.NewReader(stdinManifest), tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, out, errOut)
			}
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if tc.wantErr != "" && !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, errOut)
			}
		})
	}
}

// blockingReader never returns, like a terminal nobody types into.
type blockingReader struct{ ch chan struct{} }

func (b blockingReader) Read([]byte) (int, error) { <-b.ch; return 0, io.EOF }

// TestLintStdinCanceled: a signal (the context) ends "lint -" even when
// standard input never closes.
func TestLintStdinCanceled(t *testing.T) {
	r := blockingReader{make(chan struct{})}
	defer close(r.ch)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := within(t, "lint - on a blocked stdin", func() int {
		return Run(ctx, []string{"lint", "-"}, func(string) string { return "" }, r, &stdout, &stderr)
	})
	if code != 3 || !strings.Contains(stderr.String(), "reading standard input: context deadline exceeded") {
		t.Errorf("exit %d, stderr %q; want 3 and the cancelled read", code, stderr.String())
	}
}

package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/export/exporttest"
)

// parseFileCommands reads a file-command file with the reference parser of
// the runner's format.
func parseFileCommands(text string) ([]KV, error) {
	recs, err := exporttest.ParseFileCommands(text)
	var out []KV
	for _, r := range recs {
		out = append(out, KV{r.Name, r.Value})
	}
	return out, err
}

func newRunnerFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runner_file")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var recordRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*)<<(ghadelimiter_[0-9a-f]{32})\n`)

func TestSetOutputs(t *testing.T) {
	const canary = "s3cr3t-CANARY-7f3a"
	tests := []struct {
		name    string
		kv      []KV
		wantErr error // nil: success and round-trip
	}{
		{name: "simple", kv: []KV{{"client-id", "abc"}, {"changed", "true"}, {"action", "create"}}},
		{name: "empty value", kv: []KV{{"client-secret", ""}}},
		{name: "underscore and digits", kv: []KV{{"_a1", "v"}, {"A_B-9", "w"}}},
		{name: "multi-line value", kv: []KV{{"x", "line1\nline2\n"}}},
		{name: "newline EVIL injection", kv: []KV{{"x", canary + "\nEVIL=1"}}},
		{name: "heredoc injection", kv: []KV{{"x", canary + "\nEVIL<<EOF\npwned\nEOF"}}},
		{name: "forged toolkit delimiter", kv: []KV{{"x", "a\nghadelimiter_00000000000000000000000000000000\nEVIL=1"}}},
		{name: "legacy fixed delimiter", kv: []KV{{"x", "a\n_GitHubActionsFileCommandDelimeter_\nEVIL=1\n"}}},
		{name: "value only delimiter-like", kv: []KV{{"x", "ghadelimiter_"}}},
		{name: "unicode value", kv: []KV{{"x", "héllo ✓ " + canary}}},
		{name: "empty name", kv: []KV{{"", canary}}, wantErr: errInvalidName},
		{name: "leading digit", kv: []KV{{"1x", canary}}, wantErr: errInvalidName},
		{name: "newline in name", kv: []KV{{"X\nY", canary}}, wantErr: errInvalidName},
		{name: "equals in name", kv: []KV{{"a=b", canary}}, wantErr: errInvalidName},
		{name: "heredoc in name", kv: []KV{{"a<<b", canary}}, wantErr: errInvalidName},
		{name: "space in name", kv: []KV{{"a b", canary}}, wantErr: errInvalidName},
		{name: "non-ASCII name", kv: []KV{{"ñame", canary}}, wantErr: errInvalidName},
		{name: "carriage return", kv: []KV{{"x", canary + "\r\nEVIL=1"}}, wantErr: errInvalidValue},
		{name: "invalid UTF-8", kv: []KV{{"x", canary + "\xff"}}, wantErr: errInvalidValue},
		{name: "duplicate", kv: []KV{{"x", "1"}, {"x", canary}}, wantErr: errDuplicateName},
		{name: "valid then invalid writes nothing", kv: []KV{{"ok", canary}, {"bad name", "v"}}, wantErr: errInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newRunnerFile(t)
			err := setOutputs(p, tc.kv)
			content := readFile(t, p)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("setOutputs(%q) = %v, want %v", tc.kv, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), canary) {
					t.Errorf("setOutputs error %q leaks the value", err)
				}
				if content != "" {
					t.Errorf("setOutputs(%q) wrote %q after an error, want nothing", tc.kv, content)
				}
				return
			}
			if err != nil {
				t.Fatalf("setOutputs(%q) = %v, want nil", tc.kv, err)
			}
			got, perr := parseFileCommands(content)
			if perr != nil {
				t.Fatalf("parse %q: %v", content, perr)
			}
			if diff := cmp.Diff(tc.kv, got); diff != "" {
				t.Errorf("setOutputs(%q) round trip mismatch (-want +got):\n%s", tc.kv, diff)
			}
			// Every record has its own fresh, well-formed delimiter.
			delims := map[string]bool{}
			rest := content
			for _, p := range tc.kv {
				m := recordRE.FindStringSubmatch(rest)
				if m == nil || m[1] != p.Name {
					t.Fatalf("record for %q not at %q", p.Name, rest)
				}
				if delims[m[2]] {
					t.Errorf("delimiter %s reused", m[2])
				}
				delims[m[2]] = true
				end := strings.Index(rest, "\n"+m[2]+"\n")
				rest = rest[end+len(m[2])+2:]
			}
			if rest != "" {
				t.Errorf("trailing data %q after records", rest)
			}
		})
	}
}

func TestSetOutputsAppends(t *testing.T) {
	p := newRunnerFile(t)
	if err := os.WriteFile(p, []byte("earlier=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setOutputs(p, []KV{{"a", "b"}}); err != nil {
		t.Fatalf("setOutputs = %v", err)
	}
	got, err := parseFileCommands(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{{"earlier", "1"}, {"a", "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("setOutputs did not append (-want +got):\n%s", diff)
	}
}

func TestFileCommandRecordDelimiterCollision(t *testing.T) {
	const d = "ghadelimiter_0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, key, value string
	}{
		{"value equals delimiter line", "x", "a\n" + d + "\nEVIL=1"},
		{"value ends with delimiter", "x", "a" + d},
		{"value is delimiter", "x", d},
		{"name contains delimiter", "x" + d, "v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := fileCommandRecord(tc.key, tc.value, d)
			if !errors.Is(err, errContainsDelimiter) {
				t.Errorf("fileCommandRecord(%q, %q) = %q, %v, want %v", tc.key, tc.value, rec, err, errContainsDelimiter)
			}
		})
	}
	if rec, err := fileCommandRecord("x", "ghadelimiter_0123", d); err != nil || rec != "x<<"+d+"\nghadelimiter_0123\n"+d+"\n" {
		t.Errorf("fileCommandRecord(prefix only) = %q, %v, want a record", rec, err)
	}
}

func TestSetEnvAllowlist(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantErr error
	}{
		{"client id", "OAUTH_CLIENT_ID", nil},
		{"client secret", "OAUTH_CLIENT_SECRET", nil},
		{"BASH_ENV", "BASH_ENV", errNameNotAllowed},
		{"NODE_OPTIONS", "NODE_OPTIONS", errNameNotAllowed},
		{"GITHUB_PATH", "GITHUB_PATH", errNameNotAllowed},
		{"LD_PRELOAD", "LD_PRELOAD", errNameNotAllowed},
		{"PATH", "PATH", errNameNotAllowed},
		{"lower case", "oauth_client_id", errNameNotAllowed},
		{"suffix", "OAUTH_CLIENT_ID_X", errNameNotAllowed},
		{"hyphenated output name", "client-id", errNameNotAllowed},
		{"newline", "X\nY", errInvalidName},
		{"allowed name with newline", "OAUTH_CLIENT_ID\nBASH_ENV", errInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newRunnerFile(t)
			err := setEnv(p, []KV{{tc.key, "v"}})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("setEnv(%q) = %v, want %v", tc.key, err, tc.wantErr)
			}
			got, perr := parseFileCommands(readFile(t, p))
			if perr != nil {
				t.Fatal(perr)
			}
			var want []KV
			if tc.wantErr == nil {
				want = []KV{{tc.key, "v"}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("setEnv(%q) file (-want +got):\n%s", tc.key, diff)
			}
		})
	}
}

// allowedEnvNames is the whole allowlist, spelled out rather than taken
// from the constants so that renaming a constant is caught.
var allowedEnvNames = []string{"OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"}

func TestIsAllowedEnvName(t *testing.T) {
	for _, name := range allowedEnvNames {
		if !isAllowedEnvName(name) {
			t.Errorf("isAllowedEnvName(%q) = false, want true", name)
		}
	}
	if got := []string{oauthClientIDEnv, oauthClientSecretEnv}; !slices.Equal(got, allowedEnvNames) {
		t.Errorf("oauthClientIDEnv, oauthClientSecretEnv = %q, want %q", got, allowedEnvNames)
	}
	refused := []string{
		"BASH_ENV", "ENV", "NODE_OPTIONS", "LD_PRELOAD", "LD_LIBRARY_PATH", "PATH", "PYTHONPATH",
		"GITHUB_PATH", "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_TOKEN", "RUNNER_TEMP",
		"", "oauth_client_id", "OAUTH_CLIENT_ID_X", "XOAUTH_CLIENT_ID", "OAUTH_CLIENT", "OAUTH_CLIENT_ID ",
		" OAUTH_CLIENT_SECRET", "OAUTH_CLIENT_ID\n", "OAUTH_CLIENT_ID\x00", "client-id", "client-secret",
	}
	for _, name := range refused {
		if isAllowedEnvName(name) {
			t.Errorf("isAllowedEnvName(%q) = true, want false", name)
		}
	}
	// The check runs for every record and dotenv key; it must not allocate.
	// The result goes to a package variable and the name is built at run
	// time, so the compiler can neither drop the call nor fold it.
	name := strings.Clone("BASH_ENV")
	if n := testing.AllocsPerRun(100, func() { allowedSink = isAllowedEnvName(name) }); n != 0 {
		t.Errorf("isAllowedEnvName allocates %v times per call, want 0", n)
	}
}

// FuzzIsAllowedEnvName checks that nothing but the two allowlisted names is
// ever accepted; without -fuzz it runs the seeds.
func FuzzIsAllowedEnvName(f *testing.F) {
	for _, s := range append([]string{"BASH_ENV", "OAUTH_CLIENT_IDX", "oauth_client_secret", ""}, allowedEnvNames...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if isAllowedEnvName(name) && !slices.Contains(allowedEnvNames, name) {
			t.Fatalf("isAllowedEnvName(%q) = true, want false: not in the allowlist %q", name, allowedEnvNames)
		}
	})
}

func TestFileCommandPathErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		call    func(path string) error
		varName string
	}{
		{"setOutputs", func(p string) error { return setOutputs(p, []KV{{"a", "b"}}) }, envGitHubOutput},
		{"setEnv", func(p string) error { return setEnv(p, []KV{{oauthClientIDEnv, "b"}}) }, envGitHubEnv},
		{"appendSummary", func(p string) error { return appendSummary(p, "# hi") }, envGitHubStepSummary},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/missing variable", func(t *testing.T) {
			err := tc.call("")
			var me *missingEnvError
			if !errors.As(err, &me) || me.Name != tc.varName {
				t.Fatalf("%s(\"\") = %v, want *missingEnvError{%s}", tc.name, err, tc.varName)
			}
			if !strings.Contains(err.Error(), tc.varName) {
				t.Errorf("%s(\"\") error %q does not name %s", tc.name, err, tc.varName)
			}
		})
		t.Run(tc.name+"/file does not exist", func(t *testing.T) {
			p := filepath.Join(dir, tc.name+"-missing")
			if err := tc.call(p); err == nil {
				t.Fatalf("%s(missing file) = nil, want error", tc.name)
			}
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s created %s (stat err %v), want it left absent", tc.name, p, err)
			}
		})
		t.Run(tc.name+"/directory", func(t *testing.T) {
			if err := tc.call(dir); err == nil {
				t.Fatalf("%s(directory) = nil, want error", tc.name)
			}
		})
		t.Run(tc.name+"/read-only file", func(t *testing.T) {
			if os.Geteuid() == 0 {
				t.Skip("root ignores file permissions")
			}
			p := filepath.Join(t.TempDir(), "ro")
			if err := os.WriteFile(p, nil, 0o444); err != nil {
				t.Fatal(err)
			}
			if err := tc.call(p); err == nil {
				t.Fatalf("%s(read-only) = nil, want error", tc.name)
			}
		})
		t.Run(tc.name+"/unwritable device", func(t *testing.T) {
			// /dev/full opens but every write fails with ENOSPC, even for root.
			if _, err := os.Stat("/dev/full"); err != nil {
				t.Skip("no /dev/full")
			}
			if tc.name == "appendSummary" {
				t.Skip("appendSummary refuses non-regular files before writing; covered in summary tests")
			}
			if err := tc.call("/dev/full"); err == nil {
				t.Fatalf("%s(/dev/full) = nil, want error", tc.name)
			}
		})
	}
}

func TestSetOutputsConcurrent(t *testing.T) {
	p := newRunnerFile(t)
	const n = 64
	value := strings.Repeat("v", 3000) + "\nsecond line"
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- setOutputs(p, []KV{{fmt.Sprintf("k%d", i), value}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("setOutputs = %v", err)
		}
	}
	got, err := parseFileCommands(readFile(t, p))
	if err != nil {
		t.Fatalf("concurrent appends interleaved: %v", err)
	}
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for _, kv := range got {
		if kv.Value != value {
			t.Errorf("record %s value corrupted (len %d)", kv.Name, len(kv.Value))
		}
	}
}

func FuzzFileCommands(f *testing.F) {
	seeds := []KV{
		{"client-id", "abc"},
		{"x", "a\nEVIL=1"},
		{"x", "ghadelimiter_00000000000000000000000000000000"},
		{"x", "\n_GitHubActionsFileCommandDelimeter_\nEVIL<<x\n"},
		{"X\nY", "v"},
		{"BASH_ENV", "/tmp/x"},
		{"a", "\r\n"},
		{"a", ""},
		{"a", "\n\n"},
		{"a<<b", "c"},
	}
	for _, s := range seeds {
		f.Add(s.Name, s.Value)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, name, value string) {
		p := filepath.Join(dir, "out")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := setOutputs(p, []KV{{name, value}})
		content := readFile(t, p)
		if err != nil {
			if content != "" {
				t.Fatalf("setOutputs(%q, %q) = %v but wrote %q", name, value, err, content)
			}
			return
		}
		got, perr := parseFileCommands(content)
		if perr != nil {
			t.Fatalf("setOutputs(%q, %q) wrote unparsable %q: %v", name, value, content, perr)
		}
		want := []KV{{name, value}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("setOutputs(%q, %q) round trip mismatch (-want +got):\n%s", name, value, diff)
		}
	})
}

// allowedSink keeps isAllowedEnvName's result alive in the allocation test.
var allowedSink bool

package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseDotenv is a reference dotenv reader with the common semantics of
// godotenv and Node dotenv: optional "export ", KEY=VALUE; single-quoted values
// are literal; double-quoted values unescape \\ \" \$ \` and \n; unquoted
// values are trimmed and end at " #". Later assignments win.
func parseDotenv(text string) (map[string]string, error) {
	env := map[string]string{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		trim = strings.TrimPrefix(trim, "export ")
		k, v, ok := strings.Cut(trim, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: no '='", n+1)
		}
		k = strings.TrimSpace(k)
		v = strings.TrimLeft(v, " \t")
		switch {
		case strings.HasPrefix(v, "'"):
			end := strings.IndexByte(v[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated '", n+1)
			}
			v = v[1 : 1+end]
		case strings.HasPrefix(v, `"`):
			var b strings.Builder
			i := 1
			for ; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
					switch v[i] {
					case 'n':
						b.WriteByte('\n')
					case '\\', '"', '$', '`':
						b.WriteByte(v[i])
					default:
						b.WriteByte('\\')
						b.WriteByte(v[i])
					}
					continue
				}
				b.WriteByte(v[i])
			}
			if i >= len(v) {
				return nil, fmt.Errorf("line %d: unterminated \"", n+1)
			}
			v = b.String()
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = v[:i]
			}
			v = strings.TrimSpace(v)
		}
		env[k] = v
	}
	return env, nil
}

// specialValues covers every character the quoting has to handle.
var specialValues = []string{
	"plain-Secret_123",
	"",
	"it's",
	`say "hi"`,
	"$HOME and ${PATH} and $(id)",
	`back\slash\\ and \n literal`,
	"with spaces  and\ttab",
	"hash # not a comment",
	"#leading",
	"`id`",
	"mix '\"$`\\ all",
	"it's $HOME, ${PATH}, $(id) and `id`",
	`C:\dir\$USER`,
	"trailing backslash\\",
	"ünïcødé ✓",
	"=starts=with=equals",
	"export X=1",
}

func dotenvPath(t *testing.T, content *string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if content != nil {
		if err := os.WriteFile(p, []byte(*content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func ptr(s string) *string { return &s }

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestUpdateDotenv(t *testing.T) {
	id := KV{oauthClientIDEnv, "cid-1"}
	sec := KV{oauthClientSecretEnv, "s3cr3t"}
	tests := []struct {
		name     string
		existing *string
		kv       []KV
		want     string
		replaced []string
		appended []string
	}{
		{
			name:     "create",
			kv:       []KV{id, sec},
			want:     "OAUTH_CLIENT_ID='cid-1'\nOAUTH_CLIENT_SECRET='s3cr3t'\n",
			appended: []string{oauthClientIDEnv, oauthClientSecretEnv},
		},
		{
			name:     "keeps comments, blanks, other keys and order",
			existing: ptr("# app settings\nA=1\n\nOAUTH_CLIENT_ID=old # was here\nB='two'\n# end\n"),
			kv:       []KV{id, sec},
			want:     "# app settings\nA=1\n\nOAUTH_CLIENT_ID='cid-1'\nB='two'\n# end\nOAUTH_CLIENT_SECRET='s3cr3t'\n",
			replaced: []string{oauthClientIDEnv},
			appended: []string{oauthClientSecretEnv},
		},
		{
			name:     "export forms and spacing",
			existing: ptr("export OAUTH_CLIENT_SECRET=\"old\"\n  OAUTH_CLIENT_ID = 'x'\n"),
			kv:       []KV{id, sec},
			want:     "export OAUTH_CLIENT_SECRET='s3cr3t'\nOAUTH_CLIENT_ID='cid-1'\n",
			replaced: []string{oauthClientIDEnv, oauthClientSecretEnv},
		},
		{
			name:     "later duplicates removed",
			existing: ptr("OAUTH_CLIENT_ID=a\nX=1\nexport OAUTH_CLIENT_ID=b\n"),
			kv:       []KV{id},
			want:     "OAUTH_CLIENT_ID='cid-1'\nX=1\n",
			replaced: []string{oauthClientIDEnv},
		},
		{
			name:     "similar keys untouched",
			existing: ptr("OAUTH_CLIENT_ID_OLD=1\n#OAUTH_CLIENT_ID=2\nMY_OAUTH_CLIENT_ID=3\n"),
			kv:       []KV{id},
			want:     "OAUTH_CLIENT_ID_OLD=1\n#OAUTH_CLIENT_ID=2\nMY_OAUTH_CLIENT_ID=3\nOAUTH_CLIENT_ID='cid-1'\n",
			appended: []string{oauthClientIDEnv},
		},
		{
			name:     "no final newline",
			existing: ptr("A=1"),
			kv:       []KV{id},
			want:     "A=1\nOAUTH_CLIENT_ID='cid-1'\n",
			appended: []string{oauthClientIDEnv},
		},
		{
			name:     "replace last line without newline",
			existing: ptr("A=1\nOAUTH_CLIENT_ID=x"),
			kv:       []KV{id},
			want:     "A=1\nOAUTH_CLIENT_ID='cid-1'\n",
			replaced: []string{oauthClientIDEnv},
		},
		{
			name:     "CRLF kept",
			existing: ptr("A=1\r\nOAUTH_CLIENT_ID=x\r\n"),
			kv:       []KV{id, sec},
			want:     "A=1\r\nOAUTH_CLIENT_ID='cid-1'\r\nOAUTH_CLIENT_SECRET='s3cr3t'\r\n",
			replaced: []string{oauthClientIDEnv},
			appended: []string{oauthClientSecretEnv},
		},
		{
			name:     "quoting",
			kv:       []KV{{oauthClientSecretEnv, `a'b"c$d\e`}},
			want:     `OAUTH_CLIENT_SECRET="a'b\"c\$d\\e"` + "\n",
			appended: []string{oauthClientSecretEnv},
		},
		{
			name:     "empty file",
			existing: ptr(""),
			kv:       []KV{id},
			want:     "OAUTH_CLIENT_ID='cid-1'\n",
			appended: []string{oauthClientIDEnv},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dotenvPath(t, tc.existing, 0o600)
			res, err := writeDotenv(p, tc.kv)
			if err != nil {
				t.Fatalf("writeDotenv(%q) = %v", tc.kv, err)
			}
			if got := readFile(t, p); got != tc.want {
				t.Errorf("writeDotenv(%q) file =\n%q\nwant\n%q", tc.kv, got, tc.want)
			}
			want := dotenvResult{Created: tc.existing == nil, Replaced: tc.replaced, Appended: tc.appended}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("writeDotenv(%q) result (-want +got):\n%s", tc.kv, diff)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("writeDotenv mode = %v, want 0600", fi.Mode().Perm())
			}
			assertNoTemps(t, filepath.Dir(p))
		})
	}
}

func TestUpdateDotenvIdempotent(t *testing.T) {
	p := dotenvPath(t, ptr("# c\nA=1\n"), 0o600)
	kv := []KV{{oauthClientIDEnv, "x"}, {oauthClientSecretEnv, "it's"}}
	if _, err := writeDotenv(p, kv); err != nil {
		t.Fatal(err)
	}
	first := readFile(t, p)
	res, err := writeDotenv(p, kv)
	if err != nil {
		t.Fatal(err)
	}
	if second := readFile(t, p); second != first {
		t.Errorf("second writeDotenv changed the file:\n%q\nwant\n%q", second, first)
	}
	// The second run finds both keys and rewrites them in place.
	want := dotenvResult{Replaced: []string{oauthClientIDEnv, oauthClientSecretEnv}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("second writeDotenv result (-want +got):\n%s", diff)
	}
}

func TestUpdateDotenvRoundTrip(t *testing.T) {
	for _, v := range specialValues {
		t.Run(v, func(t *testing.T) {
			p := dotenvPath(t, ptr("OTHER='keep me'\n"), 0o600)
			if _, err := writeDotenv(p, []KV{{oauthClientSecretEnv, v}}); err != nil {
				t.Fatalf("writeDotenv(%q) = %v", v, err)
			}
			env, err := parseDotenv(readFile(t, p))
			if err != nil {
				t.Fatalf("parseDotenv: %v", err)
			}
			want := map[string]string{"OTHER": "keep me", oauthClientSecretEnv: v}
			if diff := cmp.Diff(want, env); diff != "" {
				t.Errorf("writeDotenv(%q) dotenv round trip (-want +got):\n%s", v, diff)
			}
		})
	}
}

func TestUpdateDotenvShellRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, v := range specialValues {
		t.Run(v, func(t *testing.T) {
			p := dotenvPath(t, ptr("# comment\nexport OAUTH_CLIENT_SECRET=old\n"), 0o600)
			if _, err := writeDotenv(p, []KV{{oauthClientIDEnv, "id " + v}, {oauthClientSecretEnv, v}}); err != nil {
				t.Fatalf("writeDotenv(%q) = %v", v, err)
			}
			cmd := exec.Command(sh, "-c", `. ./.env; printf %s "$OAUTH_CLIENT_SECRET"; printf '\0'; printf %s "$OAUTH_CLIENT_ID"`)
			cmd.Dir = filepath.Dir(p)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("sh: %v", err)
			}
			gotSecret, gotID, _ := strings.Cut(string(out), "\x00")
			if gotSecret != v || gotID != "id "+v {
				t.Errorf("writeDotenv(%q): sh reads secret %q, id %q", v, gotSecret, gotID)
			}
		})
	}
}

func TestUpdateDotenvTightensMode(t *testing.T) {
	for _, mode := range []fs.FileMode{0o644, 0o666, 0o640, 0o400} {
		t.Run(mode.String(), func(t *testing.T) {
			p := dotenvPath(t, ptr("A=1\n"), mode)
			res, err := writeDotenv(p, []KV{{oauthClientIDEnv, "x"}})
			if err != nil {
				t.Fatalf("writeDotenv = %v", err)
			}
			if res.TightenedFrom != mode {
				t.Errorf("writeDotenv TightenedFrom = %v, want %v", res.TightenedFrom, mode)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode after writeDotenv = %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

func TestUpdateDotenvRejects(t *testing.T) {
	const canary = "s3cr3t-CANARY-91"
	tests := []struct {
		name     string
		existing string
		kv       []KV
		wantErr  error // nil: any error
	}{
		{"BASH_ENV", "", []KV{{"BASH_ENV", canary}}, errNameNotAllowed},
		{"LD_PRELOAD", "", []KV{{"LD_PRELOAD", canary}}, errNameNotAllowed},
		{"hyphen", "", []KV{{"client-id", canary}}, errInvalidName},
		{"newline name", "", []KV{{"X\nY", canary}}, errInvalidName},
		{"newline value", "", []KV{{oauthClientSecretEnv, canary + "\nEVIL=1"}}, errInvalidValue},
		{"CR value", "", []KV{{oauthClientSecretEnv, canary + "\r"}}, errInvalidValue},
		{"NUL value", "", []KV{{oauthClientSecretEnv, canary + "\x00"}}, errInvalidValue},
		{"invalid UTF-8", "", []KV{{oauthClientSecretEnv, canary + "\xfe"}}, errInvalidValue},
		{"duplicate", "", []KV{{oauthClientIDEnv, "a"}, {oauthClientIDEnv, canary}}, errDuplicateName},
		{"multi-line existing double", "A=1\nOAUTH_CLIENT_SECRET=\"line1\nline2\"\n", []KV{{oauthClientSecretEnv, canary}}, nil},
		{"multi-line existing single", "OAUTH_CLIENT_ID='a\nb'\n", []KV{{oauthClientIDEnv, canary}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dotenvPath(t, ptr(tc.existing), 0o600)
			_, err := writeDotenv(p, tc.kv)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("writeDotenv(%q) = %v, want %v", tc.kv, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("writeDotenv error %q leaks the value", err)
			}
			if got := readFile(t, p); got != tc.existing {
				t.Errorf("writeDotenv changed the file on error: %q, want %q", got, tc.existing)
			}
			assertNoTemps(t, filepath.Dir(p))
		})
	}
}

func TestUpdateDotenvUnsafePaths(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(victim, []byte("echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, ".env")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	asDir := filepath.Join(dir, "envdir")
	if err := os.Mkdir(asDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path string }{
		{"symlink", link},
		{"directory", asDir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := writeDotenv(tc.path, []KV{{oauthClientIDEnv, "x"}})
			if !errors.Is(err, errUnsafeDotenvPath) {
				t.Fatalf("writeDotenv(%s) = %v, want %v", tc.name, err, errUnsafeDotenvPath)
			}
			assertNoTemps(t, dir)
		})
	}
	if got := readFile(t, victim); got != "echo hi\n" {
		t.Errorf("symlink target modified: %q", got)
	}
	if _, err := writeDotenv("", []KV{{oauthClientIDEnv, "x"}}); err == nil {
		t.Errorf("writeDotenv(\"\") = nil, want error")
	}
	if _, err := writeDotenv(filepath.Join(dir, "missing-dir", ".env"), []KV{{oauthClientIDEnv, "x"}}); err == nil {
		t.Errorf("writeDotenv(missing dir) = nil, want error")
	}
}

func TestUpdateDotenvFailingRename(t *testing.T) {
	// A real rename failure: the target turns into a directory between the
	// read and the rename (rename(2) of a file over a directory fails).
	p := dotenvPath(t, ptr("A=1\n"), 0o600)
	raced := func(oldpath, newpath string) error {
		if err := os.Remove(newpath); err != nil {
			return err
		}
		if err := os.Mkdir(newpath, 0o700); err != nil {
			return err
		}
		return os.Rename(oldpath, newpath)
	}
	_, err := updateDotenv(p, []KV{{oauthClientSecretEnv, "s3cr3t"}}, raced)
	if err == nil {
		t.Fatalf("updateDotenv with target turned into a directory = nil, want error")
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q leaks the secret", err)
	}
	assertNoTemps(t, filepath.Dir(p))

	// And an injected failure with the original file still in place.
	p2 := dotenvPath(t, ptr("A=1\n"), 0o600)
	failing := func(string, string) error { return errors.New("injected rename failure") }
	if _, err := updateDotenv(p2, []KV{{oauthClientIDEnv, "x"}}, failing); err == nil {
		t.Fatalf("updateDotenv with failing rename = nil, want error")
	}
	if got := readFile(t, p2); got != "A=1\n" {
		t.Errorf("file after failed rename = %q, want unchanged", got)
	}
	assertNoTemps(t, filepath.Dir(p2))
}

func TestQuoteClosed(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true}, {"plain", true}, {"'a'", true}, {"'a", false}, {`"a\"b"`, true},
		{`"a\"`, false}, {`'a\'`, true}, {"`x", false}, {"  \"x\" # c", true},
	}
	for _, tc := range tests {
		if got := quoteClosed(tc.in); got != tc.want {
			t.Errorf("quoteClosed(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// runnerCommand parses a line the way actions/runner's ActionCommand.TryParseV2
// does: leading whitespace trimmed, "::name props::data", properties split on
// ',' and '=', data and properties unescaped. ok is false for plain lines.
func runnerCommand(line string) (name string, props map[string]string, data string, ok bool) {
	msg := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(msg, "::") {
		return "", nil, "", false
	}
	end := strings.Index(msg[2:], "::")
	if end < 0 {
		return "", nil, "", false
	}
	info := msg[2 : 2+end]
	name, propStr, _ := strings.Cut(info, " ")
	props = map[string]string{}
	for _, p := range strings.Split(propStr, ",") {
		k, v, found := strings.Cut(p, "=")
		if found {
			props[k] = unescapeRunner(v, true)
		}
	}
	return name, props, unescapeRunner(msg[2+end+2:], false), true
}

// unescapeRunner mirrors the runner's UnescapeData/UnescapeProperty order.
func unescapeRunner(s string, property bool) string {
	s = strings.ReplaceAll(s, "%0D", "\r")
	s = strings.ReplaceAll(s, "%0A", "\n")
	if property {
		s = strings.ReplaceAll(s, "%3A", ":")
		s = strings.ReplaceAll(s, "%2C", ",")
	}
	return strings.ReplaceAll(s, "%25", "%")
}

func renderGitHub(t *testing.T, files []File) []string {
	t.Helper()
	var b bytes.Buffer
	if err := GitHub(&b, files); err != nil {
		t.Fatalf("GitHub: %v", err)
	}
	out := b.String()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("GitHub output does not end with a newline: %q", out)
	}
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

// manyFindings returns one file with the given number of findings per
// severity, interleaved so that capping must count per level.
func manyFindings(errors, warnings, infos int) File {
	var l diag.List
	line := 1
	add := func(n int, sev diag.Severity) {
		for i := 0; i < n; i++ {
			l = append(l, diag.Diagnostic{File: "app.yml", Pos: diag.Pos{Line: line, Column: 3}, Severity: sev,
				Rule: "rule-" + sev.String(), Message: fmt.Sprintf("%s number %d", sev, i+1)})
			line++
		}
	}
	add(errors, diag.Error)
	add(warnings, diag.Warning)
	add(infos, diag.Info)
	l.Sort()
	return File{Path: "app.yml", Diags: l}
}

func TestGitHubCap(t *testing.T) {
	tests := []struct {
		name                                      string
		errors, warnings, infos                   int
		wantErr, wantWarn, wantNotice, wantLogged int
	}{
		{"under the cap", 3, 2, 1, 3, 2, 1, 0},
		{"exactly ten", 10, 10, 9, 10, 10, 9, 0},
		{"over the cap", 13, 11, 12, 10, 10, 9, 3 + 1 + 3},
		{"errors only", 25, 0, 0, 10, 0, 0, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := manyFindings(tc.errors, tc.warnings, tc.infos)
			lines := renderGitHub(t, []File{f})
			counts := map[string]int{}
			var logged []string
			for _, l := range lines {
				if name, _, _, ok := runnerCommand(l); ok {
					counts[name]++
					continue
				}
				if strings.HasPrefix(l, "app.yml:") {
					logged = append(logged, l)
				}
			}
			// One notice is the summary.
			if counts["error"] != tc.wantErr || counts["warning"] != tc.wantWarn || counts["notice"] != tc.wantNotice+1 {
				t.Errorf("GitHub(%d/%d/%d) commands = %v, want error=%d warning=%d notice=%d",
					tc.errors, tc.warnings, tc.infos, counts, tc.wantErr, tc.wantWarn, tc.wantNotice+1)
			}
			if len(logged) != tc.wantLogged {
				t.Errorf("GitHub(%d/%d/%d) log lines = %d %q, want %d", tc.errors, tc.warnings, tc.infos, len(logged), logged, tc.wantLogged)
			}
			// The first findings of each level are the annotated ones: the
			// log holds exactly the ones past the cap, in the text format.
			if tc.errors > annotationCap {
				want := fmt.Sprintf("app.yml:%d:3: error: error number %d [rule-error]", annotationCap+1, annotationCap+1)
				if logged[0] != want {
					t.Errorf("first logged line = %q, want %q", logged[0], want)
				}
			}
			sum := Summarize([]File{f})
			wantSummary := "::notice title=takos-apply::" + summaryLine(sum)
			capLine := fmt.Sprintf("takos-apply: %d findings are only in the log above", tc.wantLogged)
			last := lines[len(lines)-1]
			if tc.wantLogged == 0 {
				if last != wantSummary {
					t.Errorf("last line = %q, want %q", last, wantSummary)
				}
				return
			}
			if lines[len(lines)-2] != wantSummary {
				t.Errorf("second-to-last line = %q, want %q", lines[len(lines)-2], wantSummary)
			}
			if !strings.HasPrefix(last, capLine) {
				t.Errorf("last line = %q, want prefix %q", last, capLine)
			}
		})
	}
}

func TestGitHubCapSingular(t *testing.T) {
	lines := renderGitHub(t, []File{manyFindings(11, 0, 0)})
	want := "takos-apply: 1 finding is only in the log above"
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, want) {
		t.Errorf("last line = %q, want prefix %q", last, want)
	}
}

// TestGitHubInjection renders hostile messages and paths both as
// annotations and, past the cap, as log lines, and parses every line as
// the runner would: the only commands are the ones GitHub meant to emit,
// and each of them carries its message and path intact.
func TestGitHubInjection(t *testing.T) {
	hostile := []string{
		injectMessage,
		"::set-output name=x::y",
		"  ::add-mask::secret",
		"\t::stop-commands::tok",
		"\u00a0::error::nbsp",
		"\u2028::error::line separator",
		"\u0085::error::next line",
		"a\r::error::carriage return",
		"a\r\n::warning::crlf",
		"x ##[set-output name=a;]b",
		"%0A::error::pre-escaped",
		"\ufeff::error::bom",
	}
	paths := []string{"app.yml", "::error::path.yml", " ::x,y:z.yml", "dir\n::set-env name=A::b/app.yml"}
	var files []File
	type want struct{ level, file, title, msg string }
	var wantCmds []want
	for _, p := range paths {
		var l diag.List
		// 12 errors per path: the first 10 are annotated on the first
		// path only, so both renderings see every hostile string.
		for i := 0; i < 12; i++ {
			msg := hostile[i%len(hostile)]
			l = append(l, diag.Diagnostic{File: p, Pos: diag.Pos{Line: i + 1, Column: 1}, Severity: diag.Error, Rule: "r,u:le", Message: msg})
		}
		files = append(files, File{Path: p, Diags: l})
	}
	for _, d := range files[0].Diags[:annotationCap] {
		wantCmds = append(wantCmds, want{"error", files[0].Path, "takos-apply: r,u:le", safetext.EscapeControlsKeepNewlines(d.Message)})
	}
	lines := renderGitHub(t, files)
	var got []want
	for i, l := range lines {
		if strings.Contains(l, "##[") {
			t.Errorf("line %d contains a legacy command prefix: %q", i, l)
		}
		for _, r := range l {
			if unsafeRune(r) {
				t.Errorf("line %d contains raw control %U: %q", i, r, l)
			}
		}
		name, props, data, ok := runnerCommand(l)
		if !ok {
			continue
		}
		if !strings.HasPrefix(l, "::"+name+" ") {
			t.Errorf("line %d is a %q command not emitted as one: %q", i, name, l)
		}
		if name == "notice" && props["title"] == "takos-apply" && len(props) == 1 {
			continue // the summary
		}
		if line, err := strconv.Atoi(props["line"]); err != nil || line < 1 {
			t.Errorf("line %d: command %q has line=%q", i, l, props["line"])
		}
		got = append(got, want{name, props["file"], props["title"], strings.ReplaceAll(data, `##\[`, "##[")})
	}
	if len(got) != len(wantCmds) {
		t.Fatalf("GitHub emitted %d annotation commands, want %d:\n%s", len(got), len(wantCmds), strings.Join(lines, "\n"))
	}
	for i := range got {
		if got[i] != wantCmds[i] {
			t.Errorf("command %d = %+v, want %+v", i, got[i], wantCmds[i])
		}
	}
	// Every finding past the cap is in the log, once, with its path.
	logged := 0
	for _, l := range lines {
		if _, _, _, ok := runnerCommand(l); !ok && strings.Contains(l, ": error: ") {
			logged++
		}
	}
	if want := 4*12 - annotationCap; logged != want {
		t.Errorf("log lines = %d, want %d", logged, want)
	}
}

// unsafeRune is the test's own list of what must never reach a log line
// raw: controls other than tab, line separators, bidi overrides and every
// other invisible format character (Unicode Cf: zero-width spaces, the BOM).
func unsafeRune(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || unicode.Is(unicode.Cf, r)
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, data, prop string
	}{
		{"plain", "abc", "abc", "abc"},
		{"percent first", "%0A", "%250A", "%250A"},
		{"newlines", "a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"property separators", "a:b,c", "a:b,c", "a%3Ab%2Cc"},
		{"controls visible", "a\x1bb\x00", `a\x1bb\x00`, `a\x1bb\x00`},
		{"legacy command", "##[error]x", `##\[error]x`, `##\[error]x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := safetext.NewCommand("notice", []safetext.Prop{{Key: "title", Value: tc.in}}, tc.in).String()
			if want := "::notice title=" + tc.prop + "::" + tc.data; got != want {
				t.Errorf("command of %q = %q, want %q", tc.in, got, want)
			}
		})
	}
}

// TestGitHubThroughStream: on a runner stream (safetext.Stream, as the CLI
// writes in Actions mode) the annotations and the notice keep their
// command form and the log lines stay the same.
func TestGitHubThroughStream(t *testing.T) {
	files := []File{manyFindings(12, 1, 1)}
	var direct, streamed bytes.Buffer
	if err := GitHub(&direct, files); err != nil {
		t.Fatal(err)
	}
	s := safetext.NewStream(&streamed)
	if err := GitHub(s, files); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if streamed.String() != direct.String() {
		t.Errorf("GitHub through a Stream =\n%s\nwant\n%s", streamed.String(), direct.String())
	}
	if n := strings.Count(streamed.String(), "\n::"); n != 12 {
		t.Errorf("GitHub through a Stream wrote %d commands after the first line, want 12", n)
	}
}

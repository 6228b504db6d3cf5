package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wfCommand is a workflow command as the Actions runner reads it.
type wfCommand struct {
	legacy bool
	name   string
	props  map[string]string
	data   string
}

// runnerCommands reads a step's output as the runner does
// (actions/runner ActionCommandManager): each line — split at LF and at CR,
// as .NET's ReadLine does — is trimmed of leading white space, and one that
// starts with "::" is a command "::name k=v,k=v::data", with % CR LF (and
// : , in properties) percent-decoded; a "##[name k=v;]data" anywhere in a
// line is a legacy command.
func runnerCommands(out string) []wfCommand {
	unescape := func(s string, prop bool) string {
		s = strings.NewReplacer("%0D", "\r", "%0A", "\n").Replace(s)
		if prop {
			s = strings.NewReplacer("%3A", ":", "%2C", ",").Replace(s)
		}
		return strings.ReplaceAll(s, "%25", "%")
	}
	var cmds []wfCommand
	for _, line := range regexp.MustCompile(`\r\n|\r|\n`).Split(out, -1) {
		if i := strings.Index(line, "##["); i >= 0 {
			if j := strings.Index(line[i:], "]"); j >= 0 {
				cmds = append(cmds, wfCommand{legacy: true, name: line[i+3 : i+j], data: line[i+j+1:]})
			}
		}
		t := strings.TrimLeft(line, " \t")
		if !strings.HasPrefix(t, "::") {
			continue
		}
		head, data, ok := strings.Cut(t[2:], "::")
		if !ok {
			continue
		}
		name, props, _ := strings.Cut(head, " ")
		c := wfCommand{name: name, props: map[string]string{}, data: unescape(data, false)}
		if props != "" {
			for _, kv := range strings.Split(props, ",") {
				k, v, _ := strings.Cut(kv, "=")
				c.props[k] = unescape(v, true)
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// checkOnlyAnnotations fails unless the only workflow commands in out are
// takos-apply's own annotations (error or warning titled takos-apply), one
// of which says exactly want once decoded — with "##[" shown as "##\[", as
// takos-apply's own annotations show it.
func checkOnlyAnnotations(t *testing.T, out, want string) {
	t.Helper()
	want = strings.ReplaceAll(want, "##[", `##\[`)
	found := false
	for _, c := range runnerCommands(out) {
		if c.legacy || (c.name != "error" && c.name != "warning") || len(c.props) != 1 || c.props["title"] != "takos-apply" {
			t.Errorf("the output carries a workflow command of its own: %+v\n%s", c, out)
			continue
		}
		found = found || c.data == want
	}
	if !found {
		t.Errorf("no annotation says %q (the value must be shown, escaped, not dropped):\n%s", want, out)
	}
}

// injection is what an attacker puts into an input: line breaks (LF, CR,
// CRLF) each followed by a workflow command, a legacy "##[" command, a
// percent sequence the runner would decode and a colon and comma that
// would split properties.
const injection = "x\n::set-output name=client-secret::stolen\r::add-mask::y\r\n  ::stop-commands::tok ##[set-env name=A;]b %0A::warning::z a:b,c"

// TestActionInputsCannotStartCommands feeds every input the action's bash
// scripts print (in an error) an injection, runs the script as the
// runner would, and parses its output as the runner does: only
// takos-apply's own annotation comes out, and it shows the value.
func TestActionInputsCannotStartCommands(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root, _ := filepath.Abs("../..")
	bin := t.TempDir()
	ran := filepath.Join(t.TempDir(), "ran")
	if err := os.WriteFile(filepath.Join(bin, "takos-apply"), []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	lower := strings.ToLower(strings.ReplaceAll(injection, " ", "")) // install: lower-cased, spaces dropped
	tests := []struct {
		script, env, want string
	}{
		{"action-run.sh", "INPUT_COMMAND", "input command must be apply, plan, lint or install, got '" + injection + "'"},
		{"action-run.sh", "INPUT_ROTATE_SECRET", "input rotate-secret must be true or false, got '" + injection + "'"},
		{"action-run.sh", "INPUT_EXPORT_ENV", "input export-env must be true or false, got '" + injection + "'"},
		{"action-run.sh", "INPUT_STRICT", "input strict must be true or false, got '" + injection + "'"},
		{"action-run.sh", "INPUT_CREATE_NEW", "input create-new must be true or false, got '" + injection + "'"},
		{"action-install.sh", "INPUT_INSTALL", "input install must be auto, release or source, got '" + lower + "'"},
		{"action-install.sh", "TAKOS_APPLY_RETRY_DELAY_MS", "TAKOS_APPLY_RETRY_DELAY_MS must be a whole number (digits only), got '" + injection + "'"},
		{"action-install.sh", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS must be a whole number (digits only), got '" + injection + "'"},
		{"action-install.sh", "TAKOS_APPLY_DOWNLOAD_TIMEOUT", "TAKOS_APPLY_DOWNLOAD_TIMEOUT must be a whole number (digits only), got '" + injection + "'"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			cmd := exec.Command(bash, filepath.Join(root, "scripts", tc.script))
			cmd.Dir = work
			cmd.Env = []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
				"GITHUB_ACTION_PATH=" + root, "GITHUB_PATH=" + filepath.Join(work, "path"), "RUNNER_TEMP=" + work,
				tc.env + "=" + injection,
			}
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Errorf("exit = %v, want 2 (usage)\n%s", err, out)
			}
			checkOnlyAnnotations(t, string(out), tc.want)
			if _, err := os.Stat(ran); err == nil {
				t.Errorf("takos-apply ran despite the bad input")
			}
		})
	}
}

// TestActionScriptsWriteCommandsThroughTheLibrary: the only workflow
// commands the action's bash scripts write are action-lib.sh's, which
// escape their values; a new echo "::error …$x" would bypass that.
func TestActionScriptsWriteCommandsThroughTheLibrary(t *testing.T) {
	raw := regexp.MustCompile(`(?m)^[^#\n]*(echo|printf)[^\n]*::(error|warning|notice|debug|add-mask|set-output|group)`)
	for _, name := range []string{"action-install.sh", "action-run.sh"} {
		b, err := os.ReadFile(filepath.Join("../../scripts", name))
		if err != nil {
			t.Fatal(err)
		}
		if m := raw.Find(b); m != nil {
			t.Errorf("scripts/%s writes a workflow command itself: %q; use wf_error or wf_warning (scripts/action-lib.sh)", name, m)
		}
		if !strings.Contains(string(b), `. "$(dirname "${BASH_SOURCE[0]}")/action-lib.sh"`) {
			t.Errorf("scripts/%s does not source action-lib.sh", name)
		}
	}
	ps1, err := os.ReadFile("../../scripts/action-install.ps1")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`WriteLine\("::(?:error|warning)[^"]*"\s*\+\s*\(([A-Za-z-]+)`).FindAllSubmatch(ps1, -1) {
		if string(m[1]) != "ConvertTo-WfData" {
			t.Errorf("action-install.ps1 writes a command whose data is not escaped: %q", m[0])
		}
	}
	if n := strings.Count(string(ps1), `WriteLine("::`); n != 2 {
		t.Errorf("action-install.ps1 writes %d workflow commands; the test knows 2 (Fail and the cache warning)", n)
	}
}

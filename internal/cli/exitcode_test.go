package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// realBinary builds cmd/takos-apply into a temporary directory: the
// exit-code contract is the process's, main's signal handling included.
func realBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "takos-apply")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/takos-apply").CombinedOutput(); err != nil {
		t.Fatalf("building takos-apply: %v\n%s", err, out)
	}
	return bin
}

// TestExitCodes is the public exit-code contract (README "Exit codes")
// as literal numbers through the real binary: every command and failure
// class. It compares with 0, 1, 2 and 3, never the constants, so that
// changing a constant breaks this test as it would break users' scripts.
func TestExitCodes(t *testing.T) {
	bin := realBinary(t)
	cp := devservertest.New(t)
	dir := t.TempDir()
	files := map[string]string{
		"ok.yml":              faultManifest,
		"warn.yml":            strings.Replace(faultManifest, "[https://demo.example.com/cb]", "[https://demo.example.com/cb, http://localhost:3000/cb]", 1),
		"bad.yml":             strings.Replace(faultManifest, "version: 1.0.0", "version: 1.0", 1),
		"other.yml":           strings.Replace(faultManifest, "clientName: Demo", "clientName: Other", 1),
		"empty/.keep":         "",
		"repo/.takos/app.yml": faultManifest,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir() // no ~/.takos/config.json
	base := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	good := append(append([]string{}, base...), "TAKOS_API_URL="+cp.URL, "TAKOS_TOKEN="+cp.Token)
	wrongPAT := append(append([]string{}, base...), "TAKOS_API_URL="+cp.URL, "TAKOS_TOKEN=tak_pat_wrong000000000000000000000000000000000000")
	noURL := append(append([]string{}, base...), "TAKOS_TOKEN="+cp.Token)
	deadCP := append(append([]string{}, base...), "TAKOS_API_URL=http://127.0.0.1:1", "TAKOS_TOKEN="+cp.Token)

	tests := []struct {
		name  string
		env   []string
		stdin string
		args  []string
		want  int
	}{
		// top level
		{"no command", base, "", nil, 2},
		{"unknown command", base, "", []string{"frobnicate"}, 2},
		{"help", base, "", []string{"help"}, 0},
		{"--help", base, "", []string{"--help"}, 0},
		{"help lint", base, "", []string{"help", "lint"}, 0},
		{"help of an unknown command", base, "", []string{"help", "frobnicate"}, 2},
		{"-h lint", base, "", []string{"-h", "lint"}, 0},
		{"help auth debug", base, "", []string{"help", "auth", "debug"}, 0},
		{"version", base, "", []string{"version"}, 0},
		{"version -h", base, "", []string{"version", "-h"}, 0},
		{"version with an argument", base, "", []string{"version", "x"}, 2},
		{"schema", base, "", []string{"schema"}, 0},
		{"schema with an argument", base, "", []string{"schema", "x"}, 2},
		{"schema -h", base, "", []string{"schema", "-h"}, 0},

		// lint
		{"lint clean", base, "", []string{"lint", "ok.yml"}, 0},
		{"lint warning", base, "", []string{"lint", "warn.yml"}, 0},
		{"lint warning --strict", base, "", []string{"lint", "--strict", "warn.yml"}, 1},
		{"lint error", base, "", []string{"lint", "bad.yml"}, 1},
		{"lint error, flags after paths", base, "", []string{"lint", "bad.yml", "--format", "json"}, 1},
		{"lint directory", base, "", []string{"lint", "repo"}, 0},
		{"lint -h", base, "", []string{"lint", "-h"}, 0},
		{"lint --help", base, "", []string{"lint", "--help"}, 0},
		{"lint unknown flag", base, "", []string{"lint", "--bogus"}, 2},
		{"lint flag without value", base, "", []string{"lint", "--format"}, 2},
		{"lint unknown format", base, "", []string{"lint", "--format", "yaml", "ok.yml"}, 2},
		{"lint unknown color", base, "", []string{"lint", "--color", "rainbow", "ok.yml"}, 2},
		{"lint no manifest in directory", base, "", []string{"lint", "empty"}, 2},
		{"lint missing file", base, "", []string{"lint", "missing.yml"}, 3},
		{"lint -- dash-named missing file", base, "", []string{"lint", "--", "-x.yml"}, 3},
		{"lint stdin clean", base, faultManifest, []string{"lint", "-"}, 0},
		{"lint stdin error", base, "version: [", []string{"lint", "-"}, 1},
		{"lint stdin twice", base, "", []string{"lint", "-", "-"}, 2},
		{"validate alias", base, "", []string{"validate", "bad.yml"}, 1},

		// plan
		{"plan -h", base, "", []string{"plan", "-h"}, 0},
		{"plan no control plane URL", noURL, "", []string{"plan", "ok.yml"}, 2},
		{"plan unknown auth mode", good, "", []string{"plan", "--auth", "magic", "ok.yml"}, 2},
		{"plan two manifests", good, "", []string{"plan", "ok.yml", "warn.yml"}, 2},
		{"plan stdin", good, faultManifest, []string{"plan", "-"}, 2},
		{"plan sarif", good, "", []string{"plan", "--format", "sarif", "ok.yml"}, 2},
		{"plan manifest error", good, "", []string{"plan", "bad.yml"}, 1},
		{"plan manifest error, json", good, "", []string{"plan", "--format", "json", "bad.yml"}, 1},
		{"plan wrong PAT", wrongPAT, "", []string{"plan", "ok.yml"}, 3},
		{"plan control plane down", deadCP, "", []string{"plan", "--timeout", "1s", "ok.yml"}, 3},
		{"plan create", good, "", []string{"plan", "ok.yml"}, 0},
		{"plan --detailed-exitcode, changes pending", good, "", []string{"plan", "--detailed-exitcode", "ok.yml"}, 2},
		{"plan --detailed-exitcode, manifest error", good, "", []string{"plan", "--detailed-exitcode", "bad.yml"}, 1},
		{"plan --detailed-exitcode, usage error", good, "", []string{"plan", "--detailed-exitcode", "--bogus", "ok.yml"}, 1},
		{"plan --detailed-exitcode, no URL", noURL, "", []string{"plan", "--detailed-exitcode", "ok.yml"}, 1},
		{"plan --detailed-exitcode, failure", wrongPAT, "", []string{"plan", "--detailed-exitcode", "ok.yml"}, 1},

		// apply (the terminal has no sink here: --env-file takes the secret)
		{"apply -h", base, "", []string{"apply", "-h"}, 0},
		{"apply no control plane URL", noURL, "", []string{"apply", "ok.yml"}, 2},
		{"apply unknown flag", good, "", []string{"apply", "--detailed-exitcode", "ok.yml"}, 2},
		{"apply manifest error", good, "", []string{"apply", "bad.yml"}, 1},
		{"apply wrong PAT", wrongPAT, "", []string{"apply", "--env-file", "out.env", "ok.yml"}, 3},
		{"apply control plane down", deadCP, "", []string{"apply", "--timeout", "1s", "--env-file", "out.env", "ok.yml"}, 3},
		{"apply create", good, "", []string{"apply", "--env-file", "out.env", "ok.yml"}, 0},
		{"plan --detailed-exitcode, no changes", good, "", []string{"plan", "--detailed-exitcode", "ok.yml"}, 0},
		{"apply unchanged", good, "", []string{"apply", "--env-file", "out.env", "ok.yml"}, 0},
		{"apply env file in a missing directory", good, "", []string{"apply", "--rotate-secret", "--env-file", "missing/out.env", "ok.yml"}, 3},
		{"apply with nowhere for the secret", good, "", []string{"apply", "--rotate-secret", "ok.yml"}, 3},
		{"plan likely rename", good, "", []string{"plan", "other.yml"}, 0},
		{"apply likely rename", good, "", []string{"apply", "--env-file", "out.env", "other.yml"}, 3},
		{"apply --create-new with --client-id", good, "", []string{"apply", "--create-new", "--client-id", "x", "--env-file", "out.env", "other.yml"}, 2},

		// auth
		{"auth alone", base, "", []string{"auth"}, 2},
		{"auth unknown subcommand", base, "", []string{"auth", "login"}, 2},
		{"auth --help", base, "", []string{"auth", "--help"}, 0},
		{"auth debug -h", base, "", []string{"auth", "debug", "-h"}, 0},
		{"auth debug no control plane URL", noURL, "", []string{"auth", "debug"}, 2},
		{"auth debug unknown auth mode", good, "", []string{"auth", "debug", "--auth", "magic"}, 2},
		{"auth debug argument", good, "", []string{"auth", "debug", "extra"}, 2},
		{"auth debug working PAT", good, "", []string{"auth", "debug"}, 0},
		{"auth debug wrong PAT", wrongPAT, "", []string{"auth", "debug"}, 3},
		{"auth debug no credentials", append(append([]string{}, base...), "TAKOS_API_URL="+cp.URL), "", []string{"auth", "debug"}, 3},
		{"auth debug control plane down", deadCP, "", []string{"auth", "debug", "--timeout", "1s"}, 3},
	}
	for _, tc := range tests {
		cmd := exec.Command(bin, tc.args...)
		cmd.Dir = dir
		cmd.Env = tc.env
		cmd.Stdin = strings.NewReader(tc.stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("%s: %v", tc.name, err)
		}
		if code != tc.want {
			t.Errorf("%s: takos-apply %s exited %d, want %d\n%s", tc.name, strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
}

// TestSignalEndsStdinLint: "lint -" on a standard input that never closes
// ends on SIGTERM (as timeout(1) sends) and on SIGINT with one line,
// "interrupted", and the exit code a shell expects: 128 plus the signal's
// number. It once spun forever and ignored both, then said "context
// canceled" and exited 3.
func TestSignalEndsStdinLint(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	bin := realBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(bin, "lint", "x.yml", "-")
		cmd.Dir = t.TempDir()
		cmd.Env = []string{"HOME=" + cmd.Dir}
		if err := os.WriteFile(filepath.Join(cmd.Dir, "x.yml"), []byte(faultManifest), 0o644); err != nil {
			t.Fatal(err)
		}
		stdin, err := cmd.StdinPipe() // held open: the read blocks
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		time.Sleep(300 * time.Millisecond) // let it reach the read
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			var ee *exec.ExitError
			if want := 128 + int(sig); !errors.As(err, &ee) || ee.ExitCode() != want {
				t.Errorf("%v: lint - ended with %v, want exit %d\n%s", sig, err, want, stderr.String())
			}
			if stderr.String() != "takos-apply: interrupted\n" {
				t.Errorf("%v: stderr %q; want the one line \"takos-apply: interrupted\"", sig, stderr.String())
			}
		case <-time.After(argsGuard):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: lint - still running %v after the signal", sig, argsGuard)
		}
	}
}

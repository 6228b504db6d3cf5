package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const unitName = "takos-broker.service"

// maxExposure is the highest `systemd-analyze security` exposure accepted
// for the unit (0 is fully locked down, 10 unprotected; systemd calls up
// to 2 "OK").
const maxExposure = 2.0

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		msg := "systemd-analyze is not installed (Debian: apt-get install systemd): the unit is not checked"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// unitRoot builds a file system root for systemd-analyze --root: the
// system's own units (for the targets the unit orders itself after), the
// unit in /etc/systemd/system, and an executable at each path an Exec…=
// line names, since verify checks that each command exists. The
// stand-ins are the only thing not real: the unit is checked, not the
// binary.
func unitRoot(t *testing.T, unit []byte) string {
	t.Helper()
	root := t.TempDir()
	sys := "/usr/lib/systemd/system"
	if _, err := os.Stat(sys); err != nil {
		t.Skipf("%s is missing: no systemd units to verify against", sys)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", sys, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v: %s", sys, err, out)
	}
	etc := filepath.Join(root, "etc/systemd/system")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, unitName), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range execPaths(unit) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// execPaths returns the absolute command paths of the unit's Exec…= lines.
func execPaths(unit []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || !strings.HasPrefix(strings.TrimSpace(k), "Exec") {
			continue
		}
		cmd := strings.TrimLeft(strings.TrimSpace(v), "-@:+!")
		if f := strings.Fields(cmd); len(f) > 0 && strings.HasPrefix(f[0], "/") {
			out = append(out, f[0])
		}
	}
	return out
}

// analyzeUnit runs systemd-analyze verify and the offline security
// analysis on unit, and returns verify's output (empty for a clean unit:
// unknown keys and bad values are only warnings there, so any output is a
// finding) and the exposure level.
func analyzeUnit(t *testing.T, bin string, unit []byte) (string, float64) {
	t.Helper()
	root := unitRoot(t, unit)
	verify, err := exec.Command(bin, "verify", "--root="+root, unitName).CombinedOutput()
	out := strings.TrimSpace(string(verify))
	if err != nil && out == "" {
		out = err.Error()
	}
	sec, err := exec.Command(bin, "security", "--offline=true", "--root="+root, unitName).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v: %s", err, sec)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(sec)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", sec)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return out, level
}

func TestSystemdUnit(t *testing.T) {
	bin := systemdAnalyze(t)
	unit, err := os.ReadFile("../systemd/" + unitName)
	if err != nil {
		t.Fatal(err)
	}
	out, level := analyzeUnit(t, bin, unit)
	if out != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
	if level > maxExposure {
		t.Errorf("systemd-analyze security: exposure %.1f, want at most %.1f", level, maxExposure)
	}
	for _, problem := range checkUnit(unit) {
		t.Error(problem)
	}
}

// checkUnit checks what systemd-analyze cannot: the hardening and commands
// the README promises, and no secret in the unit itself (a unit file is
// world-readable; the secrets belong in the root-only EnvironmentFile).
func checkUnit(unit []byte) []string {
	var p []string
	for _, want := range []string{
		"\nDynamicUser=yes\n", "\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n", "\nCapabilityBoundingSet=\n",
		"\nExecStart=/usr/local/bin/takos-apply broker ", "\nExecReload=/bin/kill -HUP $MAINPID\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			p = append(p, fmt.Sprintf("the unit has no %q", strings.TrimSpace(want)))
		}
	}
	for line := range strings.Lines(string(unit)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		for _, secret := range []string{"TAKOS_BROKER_TOKEN=", "TAKOS_BROKER_REDIS_URL="} {
			if strings.Contains(line, secret) {
				p = append(p, fmt.Sprintf("the unit must not carry %s; it belongs in the EnvironmentFile", strings.TrimSuffix(secret, "=")))
			}
		}
	}
	return p
}

// TestSystemdCheckCatches: the check fails on a misspelt key, a bad value
// and a unit stripped of its hardening.
func TestSystemdCheckCatches(t *testing.T) {
	bin := systemdAnalyze(t)
	unit, err := os.ReadFile("../systemd/" + unitName)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt key", "ProtectSystem=strict", "ProtectSytem=strict", "Unknown key"},
		{"bad value", "RestartSec=2s", "RestartSec=soon", "Failed to parse sec value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(unit, []byte(tc.old)) {
				t.Fatalf("the unit does not contain %q; update the test", tc.old)
			}
			out, _ := analyzeUnit(t, bin, bytes.Replace(unit, []byte(tc.old), []byte(tc.new), 1))
			if !strings.Contains(out, tc.want) {
				t.Errorf("verify printed %q, want a finding containing %q", out, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, line, want string }{
		{"credential in the unit", "Environment=TAKOS_BROKER_TOKEN=tak_pat_x", "must not carry TAKOS_BROKER_TOKEN"},
		{"Redis password in the unit", `Environment="TAKOS_BROKER_REDIS_URL=redis://:pw@10.0.0.5:6379/0"`, "must not carry TAKOS_BROKER_REDIS_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const at = "EnvironmentFile=/etc/takos-broker/env\n"
			if !bytes.Contains(unit, []byte(at)) {
				t.Fatalf("the unit does not contain %q; update the test", at)
			}
			problems := checkUnit(bytes.Replace(unit, []byte(at), []byte(at+tc.line+"\n"), 1))
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
	t.Run("no hardening", func(t *testing.T) {
		var plain []byte
		for line := range bytes.Lines(unit) {
			k, _, _ := strings.Cut(string(line), "=")
			if strings.HasPrefix(k, "Protect") || strings.HasPrefix(k, "Private") || strings.HasPrefix(k, "Restrict") ||
				strings.HasPrefix(k, "SystemCall") || k == "DynamicUser" || k == "CapabilityBoundingSet" || k == "NoNewPrivileges" {
				continue
			}
			plain = append(plain, line...)
		}
		if _, level := analyzeUnit(t, bin, plain); level <= maxExposure {
			t.Errorf("exposure of the unit without hardening = %.1f, want above %.1f", level, maxExposure)
		}
	})
}

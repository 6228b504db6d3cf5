package cli

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokerExitCodes pins the broker commands' exit codes as literals
// (the public contract: 0 ok, 1 findings, 2 usage, 3 failure), and that
// none of them starts serving.
func TestBrokerExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("policy.yml", "version: 1\nrules:\n  - name: main\n    match: {repository_id: \"1\", ref: refs/heads/main}\n")
	bad := write("bad.yml", "version: 1\nrules:\n  - name: main\n    match: {ref: refs/heads/main}\n")
	match := write("match.json", `{"repository_id": 1, "ref": "refs/heads/main", "event_name": "push"}`)
	miss := write("miss.json", `{"repository_id": "2", "ref": "refs/heads/main"}`)
	notJSON := write("claims.txt", `repository_id=1`)
	// A captured token: only its payload is read.
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	jwt := write("token.jwt", b64(`{"alg":"RS256","kid":"k"}`)+"."+b64(`{"repository_id":"1","ref":"refs/heads/main","event_name":"push"}`)+".c2ln\n")
	forkJWT := write("fork.jwt", b64(`{"alg":"RS256"}`)+"."+b64(`{"repository_id":"1","ref":"refs/heads/main","event_name":"Pull_Request_Target"}`)+".c2ln")
	cases := write("cases.yml", "version: 1\ncases:\n  - {name: main, claims: {repository_id: '1', ref: refs/heads/main}, allow: main}\n  - {name: token, token: token.jwt, allow: main}\n")
	wrong := write("wrong.yml", "version: 1\ncases:\n  - {name: dev, claims: {repository_id: '1', ref: refs/heads/dev}, allow: main}\n")
	badCases := write("bad-cases.yml", "version: 1\ncases:\n  - {name: x}\n")
	token := map[string]string{"TAKOS_BROKER_TOKEN": "tak_pat_brokertest"}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		want   int
		stderr string
	}{
		{"schema", nil, []string{"broker", "schema"}, 0, ""},
		{"schema with an argument", nil, []string{"broker", "schema", "x"}, 2, "Usage:"},
		{"check matches", nil, []string{"broker", "check", "--policy", good, "--claims", match}, 0, ""},
		{"check denies", nil, []string{"broker", "check", "--policy", good, "--claims", miss}, 1, ""},
		{"check with a broken policy", nil, []string{"broker", "check", "--policy", bad, "--claims", match}, 1, bad + ":4:5: error: the rule names no repository or owner"},
		{"check without claims", nil, []string{"broker", "check", "--policy", good}, 2, "Usage:"},
		{"check with claims that are not JSON", nil, []string{"broker", "check", "--policy", good, "--claims", notJSON}, 2, "not a JSON object of claims"},
		{"check with a missing policy file", nil, []string{"broker", "check", "--policy", filepath.Join(dir, "nope.yml"), "--claims", match}, 3, "reading"},
		{"check a captured token", nil, []string{"broker", "check", "--policy", good, "--token", jwt}, 0, ""},
		{"check a fork's token", nil, []string{"broker", "check", "--policy", good, "--token", forkJWT}, 1, ""},
		{"check with claims and a token", nil, []string{"broker", "check", "--policy", good, "--claims", match, "--token", jwt}, 2, "Usage:"},
		{"check a token that is not a JWT", nil, []string{"broker", "check", "--policy", good, "--token", notJSON}, 2, "not a JWT"},
		{"test passes", nil, []string{"broker", "test", "--policy", good, cases}, 0, "all 2 cases pass"},
		{"test finds a mismatch", nil, []string{"broker", "test", "--policy", good, wrong}, 1, "0 of 1 cases pass"},
		{"test with a broken cases file", nil, []string{"broker", "test", "--policy", good, badCases}, 1, ""},
		{"test with a broken policy", nil, []string{"broker", "test", "--policy", bad, cases}, 1, ""},
		{"test without cases", nil, []string{"broker", "test", "--policy", good}, 2, "Usage:"},
		{"test with an unknown format", nil, []string{"broker", "test", "--policy", good, "--format", "xml", cases}, 2, "unknown output format"},
		{"test with a missing cases file", nil, []string{"broker", "test", "--policy", good, filepath.Join(dir, "nope.yml")}, 3, "reading"},
		{"serve without a policy", token, []string{"broker", "--control-plane", "https://takos.example"}, 2, "no trust policy"},
		{"serve without a control plane", token, []string{"broker", "--policy", good}, 2, "no control plane"},
		{"serve without TAKOS_BROKER_TOKEN", nil, []string{"broker", "--policy", good, "--control-plane", "https://takos.example"}, 2, "TAKOS_BROKER_TOKEN is not set"},
		{"serve with a broken policy", token, []string{"broker", "--policy", bad, "--control-plane", "https://takos.example"}, 1, "does not start with a broken policy"},
		{"serve without a public URL off loopback", token, []string{"broker", "--policy", good, "--control-plane", "https://takos.example", "--listen", "0.0.0.0:0"}, 2, "no public URL"},
		{"serve with a plain-http control plane", token, []string{"broker", "--policy", good, "--control-plane", "http://takos.example", "--listen", "127.0.0.1:0"}, 2, "https"},
		{"serve with an unknown flag", token, []string{"broker", "--nope"}, 2, "unknown flag --nope"},
		{"check with an unknown flag", nil, []string{"broker", "check", "--polcy", good}, 2, "unknown flag --polcy; did you mean --policy?"},
		{"unknown subcommand", token, []string{"broker", "chekc"}, 2, `unknown subcommand "chekc"; did you mean "check"?`},
		{"schema -h", nil, []string{"broker", "schema", "-h"}, 0, ""},
		{"check -h", nil, []string{"broker", "check", "-h"}, 0, ""},
		{"serve with an argument", token, []string{"broker", "--policy", good, "extra"}, 2, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.env, tc.args...)
			if code != tc.want {
				t.Errorf("%v = exit %d, want %d\n%s", tc.args, code, tc.want, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.stderr)
			}
			if strings.Contains(stderr, "tak_pat_brokertest") {
				t.Error("stderr shows the broker's token")
			}
		})
	}
}

// TestBrokerFlagsDocumented: every flag of takos-apply broker is in the
// README's flag table.
func TestBrokerFlagsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := run(t, nil, "broker", "-h")
	if code != 0 {
		t.Fatalf("broker -h = %d", code)
	}
	n := 0
	for _, line := range strings.Split(stdout, "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "--")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		n++
		if !strings.Contains(string(readme), "| `--"+name+"`") && !strings.Contains(string(readme), "`--"+name+"` (repeatable)") &&
			!strings.Contains(string(readme), "`--"+name+"`, ") && !strings.Contains(string(readme), ", `--"+name+"`") {
			t.Errorf("flag --%s is not in the README's broker flag table", name)
		}
	}
	if n < 10 {
		t.Errorf("found %d flags in broker -h, want the full set:\n%s", n, stdout)
	}
}

// TestBrokerUsageHidesTheRedisPassword: TAKOS_BROKER_REDIS_URL, which the
// README recommends to keep the Redis password off the command line, is
// not shown as --redis-url's default in the help (-h, on stdout) or in the
// usage error a mistyped flag prints (a pod's log), and is still what the
// broker uses.
func TestBrokerUsageHidesTheRedisPassword(t *testing.T) {
	const password = "hunter2-redis-password"
	env := map[string]string{"TAKOS_BROKER_TOKEN": "tak_pat_brokertest", "TAKOS_BROKER_REDIS_URL": "redis://:" + password + "@10.0.0.5:6379/0"}
	for _, tc := range []struct {
		args []string
		code int
		help bool // the flag list is on stdout; else the usage error on stderr names --redis-url
	}{
		{[]string{"broker", "--nope"}, ExitUsage, false},
		{[]string{"broker", "--redis-ur"}, ExitUsage, false}, // did you mean --redis-url?
		{[]string{"broker", "-h"}, ExitOK, true},
	} {
		code, stdout, stderr := run(t, env, tc.args...)
		if code != tc.code || strings.Contains(stdout+stderr, password) {
			t.Errorf("%v: exit %d (want %d), or the output shows the Redis password:\n%s%s", tc.args, code, tc.code, stdout, stderr)
		}
		out := stderr
		if tc.help {
			out = stdout
		}
		if tc.args[1] != "--nope" && !strings.Contains(out, "--redis-url") {
			t.Errorf("%v: no --redis-url in:\n%s", tc.args, out)
		}
	}
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(policy, []byte("version: 1\nrules:\n  - name: main\n    match: {repository_id: \"1\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["TAKOS_BROKER_REDIS_URL"] = "redis://:" + password + "@10.0.0.5:6379/notadb"
	code, _, stderr := run(t, env, "broker", "--policy", policy, "--control-plane", "https://takos.example", "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "--redis-url: the Redis URL") || strings.Contains(stderr, password) {
		t.Errorf("a broken TAKOS_BROKER_REDIS_URL = exit %d, want 2 naming it without its password:\n%s", code, stderr)
	}
}

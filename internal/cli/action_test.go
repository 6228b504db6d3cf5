package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/export/exporttest"
)

type actionFile struct {
	Inputs  map[string]struct{ Description, Default string }
	Outputs map[string]struct{ Description, Value string }
	Runs    struct {
		Using string
		Steps []struct {
			ID  string
			If  string
			Run string
			Env map[string]string
		}
	}
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// TestActionDocumentedAndWired checks that every input and output of
// action.yml is documented in the README and wired to the binary: inputs
// reach a step only as INPUT_* environment variables (never spliced into
// shell code) that the step's script reads, secrets reach only the run
// step, and outputs come from the run step's outputs.
func TestActionDocumentedAndWired(t *testing.T) {
	a := readAction(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite (a Dockerfile action rebuilds on every job)", a.Runs.Using)
	}
	scriptRe := regexp.MustCompile(`\$\{?(?:env:)?GITHUB_ACTION_PATH\}?/(scripts/[A-Za-z0-9_.-]+\.(?:sh|ps1))`)
	scripts := map[string]string{} // step id → its script's text
	var run bool
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q splices an expression into shell code: %q", s.ID, s.Run)
		}
		m := scriptRe.FindStringSubmatch(s.Run)
		if m == nil {
			t.Errorf("step %q runs no script of scripts/: %q", s.ID, s.Run)
			continue
		}
		b, err := os.ReadFile(filepath.Join("../..", m[1]))
		if err != nil {
			t.Errorf("step %q: %v", s.ID, err)
			continue
		}
		scripts[s.ID] = string(b)
		run = run || s.ID == "run"
		if s.ID != "run" {
			for k := range s.Env {
				if k == "INPUT_TOKEN" {
					t.Errorf("step %q gets the token input; only the run step may", s.ID)
				}
			}
		}
	}
	if !run {
		t.Fatal("no step with id run")
	}
	if len(a.Inputs) < 20 {
		t.Errorf("action.yml has %d inputs, want the 12 the issue lists, install, create-new, the four of autoEnv, strict and disable", len(a.Inputs))
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		if !regexp.MustCompile("\\| `" + regexp.QuoteMeta(name) + "` \\|").Match(readme) {
			t.Errorf("input %s is not in the README's inputs table", name)
		}
		envName := "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		wired := 0
		for _, s := range a.Runs.Steps {
			got, ok := s.Env[envName]
			if !ok {
				continue
			}
			if want := "${{ inputs." + name + " }}"; got != want {
				t.Errorf("step %q env %s = %q, want %q", s.ID, envName, got, want)
			}
			if !strings.Contains(scripts[s.ID], envName) {
				t.Errorf("the script of step %q never reads %s", s.ID, envName)
			}
			wired++
		}
		if wired == 0 {
			t.Errorf("input %s reaches no step as %s", name, envName)
		}
	}
	for name, out := range a.Outputs {
		if want := "${{ steps.run.outputs." + name + " }}"; out.Value != want {
			t.Errorf("output %s value = %q, want %q", name, out.Value, want)
		}
		if !regexp.MustCompile("\\| `" + regexp.QuoteMeta(name) + "` \\|").Match(readme) {
			t.Errorf("output %s is not in the README's outputs table", name)
		}
	}
}

// TestActionScripts runs the composite action's two steps as the runner
// would (bash, with GITHUB_* files and INPUT_* variables) against loopback
// fakes: the install step builds the binary into the tool cache, the run
// step applies with GitHub OIDC, and a second install reuses the cache.
func TestActionScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH")
	}
	root, _ := filepath.Abs("../..")
	work := t.TempDir()
	gh := authtest.NewGitHubOIDC(t)
	sts := authtest.NewSTS(t, gh.Issuer, authtest.STSOptions{})
	cp := devservertest.New(t, devserver.WithFederation(func(tok string) (string, bool) {
		_, ok := sts.Lookup(tok)
		return devserver.DefaultOwner, ok
	}))
	files := map[string]string{}
	for _, f := range []string{"output", "env", "path", "summary"} {
		files[f] = filepath.Join(work, f)
		if err := os.WriteFile(files[f], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "repo", ".takos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "repo", ".takos", "app.yml"), []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + work,
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"),
		"GITHUB_ACTIONS=true", "GITHUB_ACTION_PATH=" + root,
		"GITHUB_OUTPUT=" + files["output"], "GITHUB_ENV=" + files["env"],
		"GITHUB_PATH=" + files["path"], "GITHUB_STEP_SUMMARY=" + files["summary"],
		"RUNNER_TOOL_CACHE=" + filepath.Join(work, "toolcache"), "RUNNER_TEMP=" + work, "RUNNER_OS=Linux", "RUNNER_ARCH=X64",
	}
	step := func(script string, extra ...string) string {
		cmd := exec.Command(bash, filepath.Join(root, "scripts", script))
		cmd.Dir = filepath.Join(work, "repo")
		cmd.Env = append(append([]string{}, base...), extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	out := step("action-install.sh")
	if !strings.Contains(out, "building takos-apply") {
		t.Errorf("first install did not build:\n%s", out)
	}
	binDir := strings.TrimSpace(readFile(t, files["path"]))
	base[0] = "PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	out = step("action-run.sh",
		"INPUT_COMMAND=apply", "INPUT_MANIFEST=.takos/app.yml", "INPUT_ENVIRONMENT=production",
		"INPUT_CONTROL_PLANE_URL="+cp.URL, "INPUT_AUTH=github-oidc", "INPUT_TOKEN_URL="+sts.TokenURL,
		"INPUT_AUDIENCE=", "INPUT_TOKEN=", "INPUT_CLIENT_ID=", "INPUT_ROTATE_SECRET=false", "INPUT_EXPORT_ENV=true", "INPUT_FORMAT=",
		"ACTIONS_ID_TOKEN_REQUEST_URL="+gh.RequestURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+gh.RequestToken,
	)
	recs, err := exporttest.ParseFileCommands(readFile(t, files["output"]))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.Name] = r.Value
	}
	clients := cp.Clients()
	if len(clients) != 1 || got["client-id"] != clients[0].ClientID || got["action"] != "created" || got["changed"] != "true" ||
		!cp.SecretMatches(clients[0].ClientID, got["client-secret"]) {
		t.Errorf("outputs %v do not describe the created client %+v", keys(got), clients)
	}
	if env := readFile(t, files["env"]); !strings.Contains(env, "OAUTH_CLIENT_ID<<") || !strings.Contains(env, "OAUTH_CLIENT_SECRET<<") {
		t.Errorf("export-env: GITHUB_ENV = %q", env)
	}
	for _, s := range cp.IssuedSecrets() {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, s) && line != "::add-mask::"+s {
				t.Errorf("step log shows the secret outside ::add-mask::")
			}
		}
	}
	// strict and disable reach the binary: the example's localhost redirect
	// URI is a warning, which fails a strict lint unless its rule is
	// disabled, and a misspelt rule fails the step.
	lintStep := func(extra ...string) (int, string) {
		cmd := exec.Command(bash, filepath.Join(root, "scripts", "action-run.sh"))
		cmd.Dir = filepath.Join(work, "repo")
		cmd.Env = append(append([]string{}, base...), append([]string{"INPUT_COMMAND=lint", "INPUT_FORMAT=text",
			"INPUT_MANIFEST=" + filepath.Join(root, "examples", "hello", ".takos", "app.yml")}, extra...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := lintStep("INPUT_STRICT=false"); code != 0 || !strings.Contains(out, "[redirect-uri-loopback]") {
		t.Errorf("lint = %d, want 0 with the warning:\n%s", code, out)
	}
	if code, out := lintStep("INPUT_STRICT=true"); code != 1 {
		t.Errorf("lint with strict: true = %d, want 1:\n%s", code, out)
	}
	if code, out := lintStep("INPUT_STRICT=true", "INPUT_DISABLE=scope-duplicate redirect-uri-loopback"); code != 0 || strings.Contains(out, "[redirect-uri-loopback]") {
		t.Errorf("strict lint with the rule disabled = %d, want 0 and no finding:\n%s", code, out)
	}
	if code, out := lintStep("INPUT_DISABLE=redirect-uri-loopbak"); code != 2 || !strings.Contains(out, `did you mean "redirect-uri-loopback"`) {
		t.Errorf("lint with a misspelt disable = %d, want 2 and a suggestion:\n%s", code, out)
	}

	// This commit pins no release (VERSION is a -dev version), so install:
	// auto builds from source, and builds again rather than trusting a
	// binary an earlier step left behind (Go's build cache keeps it short).
	if out := step("action-install.sh"); !strings.Contains(out, "building takos-apply") || !strings.Contains(out, "not a release commit") {
		t.Errorf("second install did not rebuild from source:\n%s", out)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestActionRunInputs checks how scripts/action-run.sh maps inputs onto the
// binary's flags and environment, with a stand-in takos-apply that prints
// what it was given: boolean inputs accept the YAML spellings or fail, and
// an empty input keeps what the job's env: says.
func TestActionRunInputs(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root, _ := filepath.Abs("../..")
	bin := t.TempDir()
	fake := "#!/bin/sh\necho \"args=$*\"\necho \"TAKOS_ENV=${TAKOS_ENV-unset}\"\necho \"TAKOS_AUTH=${TAKOS_AUTH-unset}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "takos-apply"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      []string
		wantCode int
		want     []string
	}{
		{"defaults", nil, 0, []string{"args=apply\n", "TAKOS_ENV=unset\n", "TAKOS_AUTH=unset\n"}},
		{"job env kept when inputs are empty", []string{"TAKOS_ENV=staging", "TAKOS_AUTH=token", "INPUT_ENVIRONMENT=", "INPUT_AUTH="}, 0,
			[]string{"TAKOS_ENV=staging\n", "TAKOS_AUTH=token\n"}},
		{"inputs win over job env", []string{"TAKOS_ENV=staging", "INPUT_ENVIRONMENT=production", "INPUT_AUTH=github-oidc"}, 0,
			[]string{"TAKOS_ENV=production\n", "TAKOS_AUTH=github-oidc\n"}},
		{"rotate-secret yes", []string{"INPUT_ROTATE_SECRET=yes"}, 0, []string{"args=apply --rotate-secret\n"}},
		{"rotate-secret True", []string{"INPUT_ROTATE_SECRET=True"}, 0, []string{"args=apply --rotate-secret\n"}},
		{"rotate-secret on, export-env 1", []string{"INPUT_ROTATE_SECRET=on", "INPUT_EXPORT_ENV=1"}, 0,
			[]string{"args=apply --rotate-secret --export-env\n"}},
		{"rotate-secret no", []string{"INPUT_ROTATE_SECRET=no", "INPUT_EXPORT_ENV=OFF"}, 0, []string{"args=apply\n"}},
		{"rotate-secret typo fails", []string{"INPUT_ROTATE_SECRET=ture"}, 2,
			[]string{"::error title=takos-apply::input rotate-secret must be true or false, got 'ture'"}},
		{"export-env typo fails", []string{"INPUT_EXPORT_ENV=enabled"}, 2, []string{"input export-env must be true or false, got 'enabled'"}},
		{"flags only for apply", []string{"INPUT_COMMAND=plan", "INPUT_ROTATE_SECRET=true"}, 0, []string{"args=plan\n"}},
		{"install runs nothing but version", []string{"INPUT_COMMAND=install", "INPUT_MANIFEST=.takos/app.yml", "INPUT_STRICT=true"}, 0, []string{"args=version\n"}},
		{"create-new for apply", []string{"INPUT_CREATE_NEW=true", "INPUT_EXPORT_ENV=yes"}, 0, []string{"args=apply --export-env --create-new\n"}},
		{"create-new for plan too", []string{"INPUT_COMMAND=plan", "INPUT_CREATE_NEW=on"}, 0, []string{"args=plan --create-new\n"}},
		{"create-new not for lint", []string{"INPUT_COMMAND=lint", "INPUT_CREATE_NEW=true"}, 0, []string{"args=lint\n"}},
		{"create-new typo fails", []string{"INPUT_CREATE_NEW=sure"}, 2, []string{"input create-new must be true or false, got 'sure'"}},
		{"manifest given", []string{"INPUT_MANIFEST=apps/web/.takos/app.yaml"}, 0, []string{"args=apply -- apps/web/.takos/app.yaml\n"}},
		{"manifest after --", []string{"INPUT_COMMAND=lint", "INPUT_MANIFEST=-x.yml", "INPUT_FORMAT=sarif"}, 0,
			[]string{"args=lint --format sarif -- -x.yml\n"}},
		{"strict yes", []string{"INPUT_STRICT=yes"}, 0, []string{"args=apply --strict\n"}},
		{"strict false", []string{"INPUT_STRICT=false"}, 0, []string{"args=apply\n"}},
		{"strict typo fails", []string{"INPUT_STRICT=maybe"}, 2, []string{"::error title=takos-apply::input strict must be true or false, got 'maybe'"}},
		{"disable: commas, spaces and lines", []string{"INPUT_DISABLE=scope-duplicate, yaml11-boolean\nredirect-uri-loopback\n"}, 0,
			[]string{"args=apply --disable scope-duplicate,yaml11-boolean,redirect-uri-loopback\n"}},
		{"disable blank", []string{"INPUT_DISABLE= \n"}, 0, []string{"args=apply\n"}},
		{"lint, strict and disable", []string{"INPUT_COMMAND=lint", "INPUT_STRICT=on", "INPUT_DISABLE=yaml11-boolean"}, 0,
			[]string{"args=lint --strict --disable yaml11-boolean\n"}},
		{"plan, strict", []string{"INPUT_COMMAND=plan", "INPUT_STRICT=1"}, 0, []string{"args=plan --strict\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bash, filepath.Join(root, "scripts", "action-run.sh"))
			cmd.Env = append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}, tt.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.wantCode != 0 && strings.Contains(string(out), "args=") {
				t.Errorf("takos-apply ran despite a bad input:\n%s", out)
			}
		})
	}
}

// TestActionRunAppYAML: with the manifest input left at its default, the
// run step lints a repository whose manifest is .takos/app.yaml, as Takos
// and the CLI's own default find it (the input's old default, an explicit
// .takos/app.yml, failed there with "no such file or directory").
func TestActionRunAppYAML(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	root, _ := filepath.Abs("../..")
	bin := realBinary(t)
	dir := t.TempDir()
	writeManifest(t, dir)
	if err := os.Rename(filepath.Join(dir, ".takos", "app.yml"), filepath.Join(dir, ".takos", "app.yaml")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, filepath.Join(root, "scripts", "action-run.sh"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir,
		"GITHUB_ACTIONS=true", "INPUT_COMMAND=lint", "INPUT_MANIFEST="}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 file checked: 0 errors") {
		t.Errorf("lint did not check .takos/app.yaml:\n%s", out)
	}
}

// TestReadmeVersions checks that every version the README tells a user to
// install or pin is the one a release tag creates: the release this commit
// pins in dist/, else the release VERSION is heading for (0.1.0 for
// 0.1.0-dev). scripts/release.sh rewrites the same patterns.
func TestReadmeVersions(t *testing.T) {
	readme := readFile(t, "../../README.md")
	want := strings.TrimSuffix(strings.TrimSpace(readFile(t, "../../VERSION")), "-dev")
	if b, err := os.ReadFile("../../dist/checksums.txt"); err == nil {
		m := regexp.MustCompile(`takos-apply_([0-9][^_]*)_`).FindSubmatch(b)
		if m == nil {
			t.Fatal("dist/checksums.txt names no archive")
		}
		want = string(m[1])
	}
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(want) {
		t.Fatalf("release version %q is not MAJOR.MINOR.PATCH", want)
	}
	major := "v" + strings.SplitN(want, ".", 2)[0]
	sv := `[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?`
	patterns := []string{
		`(?m)^v=(` + sv + `)(?: |$)`,
		`rev: v(` + sv + `)`,
		`takos-apply(?:/cmd/takos-apply)?@v(` + sv + `)`,
		`releases/download/v(` + sv + `)/`,
		`takos-apply_(` + sv + `)_[a-z]+_[a-z0-9]+\.`,
	}
	found := 0
	for _, p := range patterns {
		for _, m := range regexp.MustCompile(p).FindAllStringSubmatch(readme, -1) {
			found++
			if m[1] != want {
				t.Errorf("README %q points at %s, want %s (the release a tag creates)", m[0], m[1], want)
			}
		}
	}
	if found < 4 {
		t.Errorf("found %d versioned snippets in the README; the pattern list is out of date", found)
	}
	for _, m := range regexp.MustCompile(`uses: takos-dev/takos-apply@(v[0-9]+)\b[^.]`).FindAllStringSubmatch(readme, -1) {
		if m[1] != major {
			t.Errorf("README %q: the moving tag of release %s is %s", strings.TrimSpace(m[0]), want, major)
		}
	}
	if strings.Contains(readme, "@latest") {
		t.Errorf("README says @latest: name a release tag")
	}
}

// TestReleaseWorkflow checks the release workflow's supply-chain rules
// (there is no actionlint here): every action is pinned by full commit
// SHA, the workflow grants nothing by default, and the job rebuilds with
// scripts/release.sh, checks the bytes against dist/ before attesting and
// publishing, and moves the major tag last.
func TestReleaseWorkflow(t *testing.T) {
	b, err := os.ReadFile("../../.github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Push struct{ Tags []string }
		}
		Permissions map[string]string
		Jobs        map[string]struct {
			Permissions map[string]string
			Steps       []struct {
				Name, Uses, Run string
				With            map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("release.yml: %v", err)
	}
	if len(wf.On.Push.Tags) == 0 {
		t.Error("release.yml does not run on version tags")
	}
	if len(wf.Permissions) != 0 {
		t.Errorf("top-level permissions = %v, want {} (grant per job)", wf.Permissions)
	}
	pinned := regexp.MustCompile(`^[a-z0-9-]+/[a-z0-9-]+@[0-9a-f]{40}$`)
	for name, job := range wf.Jobs {
		order := map[string]int{}
		for i, s := range job.Steps {
			if s.Uses != "" && !pinned.MatchString(s.Uses) {
				t.Errorf("job %s: uses %q is not pinned by full commit SHA", name, s.Uses)
			}
			for key, pat := range map[string]string{
				"build":   "scripts/release.sh build",
				"check":   "scripts/release.sh check",
				"attest":  "actions/attest-build-provenance@",
				"publish": "gh release create",
				"major":   "git/refs/tags/$major",
			} {
				if _, seen := order[key]; !seen && strings.Contains(s.Uses+s.Run, pat) {
					order[key] = i
				}
			}
		}
		prev := -1
		for _, key := range []string{"build", "check", "attest", "publish", "major"} {
			i, ok := order[key]
			if !ok {
				t.Errorf("job %s has no %s step", name, key)
				continue
			}
			if i <= prev {
				t.Errorf("job %s: step %s is out of order (build, check, attest, publish, move the major tag)", name, key)
			}
			prev = i
		}
		for _, p := range []string{"contents", "id-token", "attestations"} {
			if job.Permissions[p] != "write" {
				t.Errorf("job %s: permissions.%s = %q, want write", name, p, job.Permissions[p])
			}
		}
	}
}

// TestActionInstallNoGo checks the error a user without Go meets when the
// action has to build from source: it must name a fix that works in the
// user's own workflow (a setup-go step or a release), not an expression
// like github.action_path that exists only inside the action.
func TestActionInstallNoGo(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	path := "/usr/bin:/bin"
	if _, err := exec.Command(bash, "-c", "PATH="+path+" command -v go").Output(); err == nil {
		t.Skipf("go is on %s; cannot test a runner without Go", path)
	}
	root, _ := filepath.Abs("../..")
	work := t.TempDir()
	cmd := exec.Command(bash, filepath.Join(root, "scripts", "action-install.sh"))
	cmd.Env = []string{"PATH=" + path, "GITHUB_ACTION_PATH=" + root, "GITHUB_PATH=" + filepath.Join(work, "path"),
		"RUNNER_TEMP=" + work, "RUNNER_OS=Linux", "RUNNER_ARCH=X64", "INPUT_INSTALL=source"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("install without Go succeeded:\n%s", out)
	}
	for _, want := range []string{"::error title=takos-apply::", "no Go on this runner", "uses: actions/setup-go@", "go-version: '1.26'", "released version"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "action_path") {
		t.Errorf("the fix names github.action_path, which is empty in the user's workflow:\n%s", out)
	}
}

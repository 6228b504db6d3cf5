package report

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// hostileCurrent is a client as a hostile control plane could list it, had
// its values passed the decoder: every string tries to start a workflow
// command on a new line.
var hostileCurrent = reconcile.Client{
	ID:           "c_old",
	Name:         "Demo\n::error title=pwned::name",
	RedirectURIs: []string{"https://old.example.com/cb\n::error title=pwned::x", "https://old2.example.com/cb\r::add-mask::Heldout"},
	Scopes:       []string{"openid", "::stop-commands::tok"},
	LogoURI:      "https://old.example.com/logo.png\u2028::warning::x ##[set-env name=A]b",
	TOSURI:       "\x1b[2J\u202e",
	Active:       true,
}

var planDesired = reconcile.Desired{
	Name:         "Demo",
	RedirectURIs: []string{"https://app.example.com/cb"},
	Scopes:       []string{"openid", "profile"},
	LogoURI:      "https://app.example.com/logo.png",
	PolicyURI:    "https://app.example.com/privacy",
}

func TestPlanGolden(t *testing.T) {
	update := reconcile.Diff(planDesired, &hostileCurrent, false)
	unchanged := reconcile.Diff(planDesired, &reconcile.Client{ID: "c_same", Name: "Demo", RedirectURIs: planDesired.RedirectURIs,
		Scopes: planDesired.Scopes, LogoURI: planDesired.LogoURI, PolicyURI: planDesired.PolicyURI, Active: true}, false)
	create := reconcile.Diff(planDesired, nil, false)
	rotate := reconcile.Diff(planDesired, &hostileCurrent, true)
	cleared := reconcile.Diff(reconcile.Desired{Name: "Demo", RedirectURIs: planDesired.RedirectURIs},
		&reconcile.Client{ID: "c_x", Name: "Demo", RedirectURIs: planDesired.RedirectURIs, Scopes: []string{"openid"}, LogoURI: "https://x/l.png", Active: true}, false)
	created := reconcile.Result{Action: reconcile.ResultCreated, ClientID: "c_new", Changes: create.Changes}
	// The manifest renamed hostileCurrent's app: same redirect URIs.
	renamedFrom := hostileCurrent
	renamedFrom.RedirectURIs = planDesired.RedirectURIs
	renamedFrom.Name = "Hello\n::error title=pwned::old"
	other := renamedFrom
	other.ID, other.Name = "c_other", "Hello 2"
	rename, err := reconcile.MakePlan([]reconcile.Client{renamedFrom}, planDesired, reconcile.PlanOptions{})
	if err != nil || rename.Rename == nil {
		t.Fatalf("MakePlan = %+v, %v; want a likely rename", rename, err)
	}
	renameNew, _ := reconcile.MakePlan([]reconcile.Client{renamedFrom}, planDesired, reconcile.PlanOptions{CreateNew: true})
	renameTwo, _ := reconcile.MakePlan([]reconcile.Client{renamedFrom, other}, planDesired, reconcile.PlanOptions{})
	renameKnown, _ := reconcile.MakePlan([]reconcile.Client{hostileCurrent}, planDesired, reconcile.PlanOptions{KnownID: "c_old"})
	createdNew := reconcile.Result{Action: reconcile.ResultCreated, ClientID: "c_new", Changes: renameNew.Changes}
	rotated := reconcile.Result{Action: reconcile.ResultRotated, ClientID: "c_new", Changes: rotate.Changes, Revoked: []string{"c_old"}}

	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"plan-create.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", create) }},
		{"plan-update.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", update) }},
		{"plan-unchanged.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", unchanged) }},
		{"plan-rotate.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", rotate) }},
		{"plan-cleared.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", cleared) }},
		{"plan-update.json.golden", func(b *bytes.Buffer) error { return WritePlan(b, "json", ".takos/app.yml", update) }},
		{"plan-cleared.json.golden", func(b *bytes.Buffer) error { return WritePlan(b, "json", ".takos/app.yml", cleared) }},
		{"result-created.golden", func(b *bytes.Buffer) error { return WriteResult(b, "text", ".takos/app.yml", created) }},
		{"result-rotated.golden", func(b *bytes.Buffer) error { return WriteResult(b, "text", ".takos/app.yml", rotated) }},
		{"result-rotated.json.golden", func(b *bytes.Buffer) error { return WriteResult(b, "json", ".takos/app.yml", rotated) }},
		{"summary-rotated.golden", func(b *bytes.Buffer) error {
			_, err := b.WriteString(JobSummary(rotated, rotate))
			return err
		}},
		{"plan-rename.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", rename) }},
		{"plan-rename-create-new.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", renameNew) }},
		{"plan-rename-two.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", renameTwo) }},
		{"plan-rename-known.golden", func(b *bytes.Buffer) error { return WritePlan(b, "text", ".takos/app.yml", renameKnown) }},
		{"plan-rename.json.golden", func(b *bytes.Buffer) error { return WritePlan(b, "json", ".takos/app.yml", rename) }},
		{"summary-rename.golden", func(b *bytes.Buffer) error {
			_, err := b.WriteString(RenameSummary(rename))
			return err
		}},
		{"summary-created-new.golden", func(b *bytes.Buffer) error {
			_, err := b.WriteString(JobSummary(createdNew, renameNew))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes())
			assertInert(t, b.String())
		})
	}
}

// assertInert fails when a line of out would start a workflow command or
// holds a raw control, or a legacy command, whoever renders it.
func assertInert(t *testing.T, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if safetext.StartsCommand(line) || strings.Contains(line, "##[") {
			t.Errorf("line %d %q reads as a workflow command", i+1, line)
		}
		for _, r := range line {
			if unsafeRune(r) {
				t.Errorf("line %d %q holds %U raw", i+1, line, r)
			}
		}
	}
}

// TestPlanJSONExact: the JSON document keeps every value exactly, controls
// included (JSON escapes them), so tools see what the server holds.
func TestPlanJSONExact(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlan(&b, "json", ".takos/app.yml", reconcile.Diff(planDesired, &hostileCurrent, false)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Changes []struct {
			Field string `json:"field"`
			From  any    `json:"from"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Changes[1].From.([]any)[1]; got != hostileCurrent.RedirectURIs[1] {
		t.Errorf("JSON from = %q, want %q", got, hostileCurrent.RedirectURIs[1])
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("JSON plan spans several lines:\n%s", b.String())
	}
}

// TestJSONThroughStream: every JSON document (lint JSON, SARIF, plan JSON)
// passes a runner stream byte for byte and still decodes, even when its
// values hold controls and legacy commands.
func TestJSONThroughStream(t *testing.T) {
	files := fixtures(t)
	plan := reconcile.Diff(planDesired, &hostileCurrent, false)
	for name, render := range map[string]func(io.Writer) error{
		"json":  func(w io.Writer) error { return JSON(w, files) },
		"sarif": func(w io.Writer) error { return SARIF(w, files, Options{Version: "1"}) },
		"plan":  func(w io.Writer) error { return WritePlan(w, "json", ".takos/app.yml", plan) },
	} {
		var direct, streamed bytes.Buffer
		if err := render(&direct); err != nil {
			t.Fatal(err)
		}
		s := safetext.NewStream(&streamed)
		if err := render(s); err != nil {
			t.Fatal(err)
		}
		s.Flush()
		if streamed.String() != direct.String() {
			t.Errorf("%s changed on a Stream:\n%s\nwant\n%s", name, streamed.String(), direct.String())
		}
		if !json.Valid(streamed.Bytes()) {
			t.Errorf("%s through a Stream is not valid JSON", name)
		}
	}
}

// TestFieldNames: text plans and the job summary name every managed field
// as the manifest does (relative to spec.oauth), not as the API does.
func TestFieldNames(t *testing.T) {
	all := reconcile.Desired{Name: "n", RedirectURIs: []string{"https://a/cb"}, Scopes: []string{"openid"},
		LogoURI: "https://a/l", TOSURI: "https://a/t", PolicyURI: "https://a/p"}
	var got []string
	for _, c := range reconcile.Diff(all, nil, false).Changes {
		got = append(got, fieldName(c.Field))
	}
	want := []string{"clientName", "redirectUris", "scopes", "metadata.logoUri", "metadata.tosUri", "metadata.policyUri"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("field names = %q, want %q", got, want)
	}
}

// TestRenameAnnotationOnlyForLikelyRenames: plans without a likely rename
// have no annotation, no summary section and no likely_rename in JSON.
func TestRenameAnnotationOnlyForLikelyRenames(t *testing.T) {
	for _, p := range []reconcile.Plan{reconcile.Diff(planDesired, nil, false), reconcile.Diff(planDesired, &hostileCurrent, false)} {
		if _, ok := RenameAnnotation("x", diag.Pos{Line: 1}, p); ok {
			t.Errorf("%s plan has a rename annotation", p.Action)
		}
		if s := RenameSummary(p); s != "" {
			t.Errorf("%s plan has a rename summary %q", p.Action, s)
		}
		var b bytes.Buffer
		if err := WritePlan(&b, "json", ".takos/app.yml", p); err != nil || strings.Contains(b.String(), "likely_rename") {
			t.Errorf("%s plan JSON = %s, %v; want no likely_rename", p.Action, b.String(), err)
		}
	}
}

// TestRenameAnnotation: the annotation is one workflow command whose data
// shows the old client's hostile name escaped, and a Stream passes it as
// takos-apply's own command while no other line can start one.
func TestRenameAnnotation(t *testing.T) {
	old := hostileCurrent
	old.RedirectURIs = planDesired.RedirectURIs
	old.Name = "Hello\n::error title=pwned::old"
	p, err := reconcile.MakePlan([]reconcile.Client{old}, planDesired, reconcile.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := RenameAnnotation("apps/x/.takos/app.yml", diag.Pos{Line: 8, Column: 17}, p)
	if !ok {
		t.Fatal("no annotation for a likely rename")
	}
	var streamed bytes.Buffer
	st := safetext.NewStream(&streamed)
	if err := safetext.WriteCommand(st, c); err != nil {
		t.Fatal(err)
	}
	st.Flush()
	golden(t, "annotation-rename.golden", streamed.Bytes())
	if lines := strings.Split(strings.TrimSuffix(streamed.String(), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "::warning file=") {
		t.Errorf("annotation = %q, want one ::warning line", streamed.String())
	}
	p.Rename.CreateNew = true
	if c, _ := RenameAnnotation("x", diag.Pos{}, p); !strings.HasPrefix(c.String(), "::notice file=x,title=") {
		t.Errorf("annotation with --create-new = %q, want a notice without a position", c.String())
	}
}

// TestRenameChoicesAligned: the two choices of a likely rename start their
// descriptions in one column also with a real (22-character) client id,
// which is longer than the column the short ids of the goldens fit.
func TestRenameChoicesAligned(t *testing.T) {
	old := hostileCurrent
	old.ID, old.Name, old.RedirectURIs = "aW0KApplLLfFedq2j--4rA", "Hello", planDesired.RedirectURIs
	p, err := reconcile.MakePlan([]reconcile.Client{old}, planDesired, reconcile.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WritePlan(&b, "text", ".takos/app.yml", p); err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for _, line := range strings.Split(b.String(), "\n") {
		for _, word := range []string{"keep managing", "create a new client on purpose"} {
			if i := strings.Index(line, word); i >= 0 && strings.HasPrefix(line, "  --") {
				col[word] = i
			}
		}
	}
	if len(col) != 2 || col["keep managing"] != col["create a new client on purpose"] {
		t.Errorf("the choices' descriptions start in columns %v, want one column:\n%s", col, b.String())
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

func decodeSARIF(t *testing.T, files []File, opt Options) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := SARIF(&b, files, opt); err != nil {
		t.Fatalf("SARIF: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("decode SARIF: %v", err)
	}
	checkNoEmpty(t, "$", m)
	return m
}

// checkNoEmpty fails on null values and empty objects anywhere in the log;
// strict consumers reject both (zegl/kube-score#698).
func checkNoEmpty(t *testing.T, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		if len(v) == 0 {
			t.Errorf("%s is an empty object", path)
		}
		for k, e := range v {
			checkNoEmpty(t, path+"."+k, e)
		}
	case []any:
		for _, e := range v {
			checkNoEmpty(t, path+"[]", e)
		}
	case string:
		if v == "" {
			t.Errorf("%s is an empty string", path)
		}
	}
}

func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: parent is %T, not an object", k, v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("missing key %q", k)
		}
	}
	return v
}

func TestSARIFStructure(t *testing.T) {
	files := fixtures(t)
	m := decodeSARIF(t, files, Options{Version: "1.2.3"})
	if got := get(t, m, "$schema"); got != sarifSchema {
		t.Errorf("$schema = %v, want %s", got, sarifSchema)
	}
	if got := get(t, m, "version"); got != "2.1.0" {
		t.Errorf("version = %v, want 2.1.0", got)
	}
	runs, _ := get(t, m, "runs").([]any)
	if len(runs) != 1 {
		t.Fatalf("runs = %v, want one run", runs)
	}
	driver := get(t, runs[0], "tool", "driver")
	for key, want := range map[string]string{"name": "takos-apply", "version": "1.2.3", "informationUri": toolURI} {
		if got := get(t, driver, key); got != want {
			t.Errorf("driver.%s = %v, want %s", key, got, want)
		}
	}
	rules, _ := get(t, driver, "rules").([]any)
	ruleIDs := map[string]int{}
	for i, r := range rules {
		id, _ := get(t, r, "id").(string)
		if _, dup := ruleIDs[id]; dup {
			t.Errorf("rule %q listed twice", id)
		}
		ruleIDs[id] = i
		if text, _ := get(t, r, "shortDescription", "text").(string); text == "" {
			t.Errorf("rule %q has no shortDescription.text", id)
		}
		if lvl := get(t, r, "defaultConfiguration", "level"); lvl != "error" && lvl != "warning" && lvl != "note" {
			t.Errorf("rule %q level = %v", id, lvl)
		}
	}
	wantRules := map[string]bool{}
	total := 0
	for _, f := range files {
		total += len(f.Diags)
		for _, d := range f.Diags {
			wantRules[d.Rule] = true
		}
	}
	if len(ruleIDs) != len(wantRules) {
		t.Errorf("rules = %v, want exactly the %d rules that appear", ruleIDs, len(wantRules))
	}
	// client-name-control is reported as an error and as a warning: the
	// default level is the highest.
	if lvl := get(t, rules[ruleIDs["client-name-control"]], "defaultConfiguration", "level"); lvl != "error" {
		t.Errorf("client-name-control default level = %v, want error", lvl)
	}

	results, _ := get(t, runs[0], "results").([]any)
	if len(results) != total {
		t.Fatalf("results = %d, want %d", len(results), total)
	}
	levels := map[diag.Severity]string{diag.Error: "error", diag.Warning: "warning", diag.Info: "note"}
	i := 0
	for _, f := range files {
		for _, d := range f.Diags {
			r := results[i]
			i++
			id, _ := get(t, r, "ruleId").(string)
			idx, ok := ruleIDs[id]
			if !ok || id != d.Rule {
				t.Errorf("result %d ruleId = %q, want %q listed in rules", i, id, d.Rule)
			}
			if got := get(t, r, "ruleIndex"); got != float64(idx) {
				t.Errorf("result %d ruleIndex = %v, want %d (index of %q)", i, got, idx, id)
			}
			if got := get(t, r, "level"); got != levels[d.Severity] {
				t.Errorf("result %d level = %v, want %s", i, got, levels[d.Severity])
			}
			if got := get(t, r, "message", "text"); got != d.Message {
				t.Errorf("result %d message = %q, want %q", i, got, d.Message)
			}
			locs, _ := get(t, r, "locations").([]any)
			if len(locs) != 1 {
				t.Fatalf("result %d locations = %v, want one", i, locs)
			}
			phys := get(t, locs[0], "physicalLocation")
			if got := get(t, phys, "artifactLocation", "uriBaseId"); got != "%SRCROOT%" {
				t.Errorf("result %d uriBaseId = %v", i, got)
			}
			uri, _ := get(t, phys, "artifactLocation", "uri").(string)
			if strings.Contains(uri, `\`) || strings.HasPrefix(uri, "/") {
				t.Errorf("result %d uri = %q, want a relative forward-slash URI", i, uri)
			}
			wantLine := float64(max(d.Pos.Line, 1))
			if got := get(t, phys, "region", "startLine"); got != wantLine {
				t.Errorf("result %d startLine = %v, want %v", i, got, wantLine)
			}
			if d.Pos.Column > 0 {
				if got := get(t, phys, "region", "startColumn"); got != float64(d.Pos.Column) {
					t.Errorf("result %d startColumn = %v, want %d", i, got, d.Pos.Column)
				}
			}
			fp, _ := get(t, r, "partialFingerprints", fingerprintKey).(string)
			if len(fp) != 64 {
				t.Errorf("result %d fingerprint = %q, want a sha256 hex digest", i, fp)
			}
		}
	}
}

func TestSARIFClean(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, fixtures(t)[1:2], Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`"results": []`, `"rules": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("clean SARIF lacks %s:\n%s", want, out)
		}
	}
	// An empty version is omitted, not written as "".
	if strings.Contains(out, `"version": ""`) || strings.Contains(out, "null") {
		t.Errorf("clean SARIF has an empty version or null:\n%s", out)
	}
}

func TestSARIFFingerprint(t *testing.T) {
	base := diag.Diagnostic{Pos: diag.Pos{Line: 9, Column: 9}, Severity: diag.Error, Rule: "redirect-uri-http",
		Message: "redirect URI must use https", Pointer: "/spec/oauth/redirectUris/0"}
	fp := func(path string, d diag.Diagnostic) string {
		t.Helper()
		m := decodeSARIF(t, []File{{Path: path, Diags: diag.List{d}}}, Options{})
		r := get(t, m, "runs").([]any)[0]
		res := get(t, r, "results").([]any)[0]
		return get(t, res, "partialFingerprints", fingerprintKey).(string)
	}
	want := fp(".takos/app.yml", base)
	moved := base
	moved.Pos = diag.Pos{Line: 30, Column: 2}
	if got := fp(".takos/app.yml", moved); got != want {
		t.Errorf("fingerprint changed when the finding moved lines: %s != %s", got, want)
	}
	if got := fp("./.takos/app.yml", base); got != want {
		t.Errorf("fingerprint differs for ./.takos/app.yml: %s != %s", got, want)
	}
	for name, d := range map[string]diag.Diagnostic{
		"rule":    {Pos: base.Pos, Rule: "other", Message: base.Message, Pointer: base.Pointer},
		"message": {Pos: base.Pos, Rule: base.Rule, Message: "other", Pointer: base.Pointer},
		"pointer": {Pos: base.Pos, Rule: base.Rule, Message: base.Message, Pointer: "/spec/oauth/redirectUris/1"},
	} {
		if got := fp(".takos/app.yml", d); got == want {
			t.Errorf("fingerprint unchanged when %s changed", name)
		}
	}
	if got := fp("other/app.yml", base); got == want {
		t.Errorf("fingerprint unchanged when path changed")
	}
}

func TestArtifact(t *testing.T) {
	tests := []struct {
		in   string
		want sarifArtifact
	}{
		{".takos/app.yml", sarifArtifact{URI: ".takos/app.yml", URIBaseID: "%SRCROOT%"}},
		{"./.takos/app.yml", sarifArtifact{URI: ".takos/app.yml", URIBaseID: "%SRCROOT%"}},
		{"dir/my app.yml", sarifArtifact{URI: "dir/my%20app.yml", URIBaseID: "%SRCROOT%"}},
		{"a:b/app.yml", sarifArtifact{URI: "./a:b/app.yml", URIBaseID: "%SRCROOT%"}},
		{"../x/app.yml", sarifArtifact{URI: "../x/app.yml", URIBaseID: "%SRCROOT%"}},
		{"/home/u/app.yml", sarifArtifact{URI: "file:///home/u/app.yml"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := artifact(tc.in); got != tc.want {
				t.Errorf("artifact(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

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

// testCatalog registers every rule of files except "io", so one result has
// a rule outside the catalogue. client-name-control is an error in
// production and a warning in development, and a security rule.
func testCatalog(t *testing.T, files []File) *diag.Catalog {
	t.Helper()
	seen := map[string]bool{"io": true}
	var rules []diag.Rule
	for _, f := range files {
		for _, d := range f.Diags {
			if seen[d.Rule] {
				continue
			}
			seen[d.Rule] = true
			r := diag.Rule{ID: d.Rule, Production: d.Severity, Development: d.Severity,
				Summary: "finds `" + d.Rule + "`", HelpURL: "https://example.com/rules#" + d.Rule}
			if d.Rule == "client-name-control" {
				r.Production, r.Development, r.SecuritySeverity = diag.Error, diag.Warning, 6.1
			}
			rules = append(rules, r)
		}
	}
	// A rule nothing reported is listed all the same.
	rules = append(rules, diag.Rule{ID: "zz-unused", Summary: "never fires"})
	c, err := diag.NewCatalog(rules)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSARIFStructure(t *testing.T) {
	files := fixtures(t)
	cat := testCatalog(t, files)
	m := decodeSARIF(t, files, Options{Version: "1.2.3", Rules: cat})
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
		want, ok := cat.Lookup(id)
		if !ok {
			t.Errorf("rule %q is not in the catalogue", id)
			continue
		}
		if text := get(t, r, "shortDescription", "text"); text != "finds "+id && id != "zz-unused" {
			t.Errorf("rule %q shortDescription = %v, want the catalogue summary without backticks", id, text)
		}
		if id == "zz-unused" {
			continue // no help URL: no helpUri and no help
		}
		if got := get(t, r, "helpUri"); got != want.HelpURL {
			t.Errorf("rule %q helpUri = %v, want %s", id, got, want.HelpURL)
		}
		if got, _ := get(t, r, "help", "markdown").(string); !strings.Contains(got, "`"+id+"`") || !strings.Contains(got, want.HelpURL) {
			t.Errorf("rule %q help.markdown = %q", id, got)
		}
		props, hasProps := r.(map[string]any)["properties"]
		if id == "client-name-control" {
			if !hasProps || get(t, props, "security-severity") != "6.1" || get(t, props, "tags").([]any)[0] != "security" {
				t.Errorf("security rule %q properties = %v, want security tag and security-severity 6.1", id, props)
			}
		} else if hasProps {
			t.Errorf("rule %q has properties %v, want none for a non-security rule", id, props)
		}
	}
	if len(ruleIDs) != cat.Len() {
		t.Errorf("rules = %v, want all %d catalogue rules", ruleIDs, cat.Len())
	}
	if got := get(t, runs[0], "columnKind"); got != "unicodeCodePoints" {
		t.Errorf("columnKind = %v, want unicodeCodePoints", got)
	}
	// The default level is the catalogue's severity in the environment.
	for dev, want := range map[bool]string{false: "error", true: "warning"} {
		m := decodeSARIF(t, files, Options{Rules: cat, Development: dev})
		rules := get(t, get(t, m, "runs").([]any)[0], "tool", "driver", "rules").([]any)
		if lvl := get(t, rules[ruleIDs["client-name-control"]], "defaultConfiguration", "level"); lvl != want {
			t.Errorf("client-name-control default level (development %v) = %v, want %s", dev, lvl, want)
		}
	}

	total := 0
	for _, f := range files {
		total += len(f.Diags)
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
			if id != d.Rule {
				t.Errorf("result %d ruleId = %q, want %q", i, id, d.Rule)
			}
			if idx, ok := ruleIDs[id]; ok {
				if got := get(t, r, "ruleIndex"); got != float64(idx) {
					t.Errorf("result %d ruleIndex = %v, want %d (index of %q)", i, got, idx, id)
				}
			} else if got, has := r.(map[string]any)["ruleIndex"]; has {
				t.Errorf("result %d for uncatalogued rule %q has ruleIndex %v", i, id, got)
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
	for _, want := range []string{`"results": []`, `"rules": []`, `"columnKind": "unicodeCodePoints"`} {
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
		{"/repo/.takos/app.yml", sarifArtifact{URI: ".takos/app.yml", URIBaseID: "%SRCROOT%"}},
		{"/repo/a b/.takos/app.yml", sarifArtifact{URI: "a%20b/.takos/app.yml", URIBaseID: "%SRCROOT%"}},
		{"/repo2/app.yml", sarifArtifact{URI: "file:///repo2/app.yml"}},
		{"/app.yml", sarifArtifact{URI: "file:///app.yml"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := artifact(tc.in, "/repo"); got != tc.want {
				t.Errorf("artifact(%q, /repo) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

package lint

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeRule is one rule as a README "Rules" table documents it.
type readmeRule struct {
	section     string
	production  string
	development string
	ref         string // the Ref column, "-" in a table without one
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// readmeRules parses every table under "## Rules": the first column holds
// one or more rule IDs in code spans, the columns headed Production and
// Development their severities and an optional column headed Ref the
// public source the rule follows.
func readmeRules(t *testing.T, readme string) map[string][]readmeRule {
	t.Helper()
	out := map[string][]readmeRule{}
	inRules := false
	section := ""
	prodCol, devCol, refCol := -1, -1, -1
	for line := range strings.SplitSeq(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			inRules = line == "## Rules"
			continue
		case strings.HasPrefix(line, "### "):
			section = strings.TrimPrefix(line, "### ")
			prodCol, devCol, refCol = -1, -1, -1
			continue
		case !strings.HasPrefix(line, "|"):
			prodCol, devCol, refCol = -1, -1, -1 // a table ends at the first other line
			continue
		}
		if !inRules {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.Trim(cells[0], "-") == "" {
			continue // the delimiter row
		}
		if prodCol == -1 { // the header row
			prodCol, devCol = -2, -2 // a table without both columns is not a rule table
			for i, c := range cells {
				switch c {
				case "Production":
					prodCol = i
				case "Development":
					devCol = i
				case "Ref":
					refCol = i
				}
			}
			if prodCol < 0 || devCol < 0 {
				prodCol, devCol = -2, -2
			}
			continue
		}
		if prodCol < 0 {
			continue
		}
		ids := codeSpan.FindAllStringSubmatch(cells[0], -1)
		if len(ids) == 0 {
			t.Errorf("README table under %q: row without a rule ID: %q", section, line)
		}
		ref := "-"
		if refCol >= 0 {
			ref = cells[refCol]
		}
		for _, m := range ids {
			out[m[1]] = append(out[m[1]], readmeRule{section, cells[prodCol], cells[devCol], ref})
		}
	}
	return out
}

// headingAnchors returns the GitHub anchors of the README's headings.
func headingAnchors(readme string) map[string]bool {
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for line := range strings.SplitSeq(readme, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
	}
	return out
}

// TestReadmeDocumentsEveryRule is the docs check actionlint has: every rule
// of the catalogue is in exactly one README table with the catalogue's
// severities (and its Ref, in a table with a Ref column), the README names
// no rule the catalogue lacks, and each rule's help URL points at a README
// section that exists.
func TestReadmeDocumentsEveryRule(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	documented := readmeRules(t, readme)
	anchors := headingAnchors(readme)
	cat := Catalog()
	for _, r := range cat.Rules() {
		rows := documented[r.ID]
		if len(rows) != 1 {
			t.Errorf("rule %q is in %d README rule tables, want 1", r.ID, len(rows))
			continue
		}
		if rows[0].production != r.Production.String() || rows[0].development != r.Development.String() {
			t.Errorf("README (%s) documents %q as %s/%s, the catalogue says %v/%v",
				rows[0].section, r.ID, rows[0].production, rows[0].development, r.Production, r.Development)
		}
		if ref := rows[0].ref; ref != "-" && ref != r.Ref || ref == "-" && r.Ref != "" {
			t.Errorf("README (%s) gives %q the Ref %q, the catalogue says %q (a rule with a Ref belongs in a table with a Ref column)",
				rows[0].section, r.ID, ref, r.Ref)
		}
		const base = "https://github.com/takos-dev/takos-apply#"
		if anchor, ok := strings.CutPrefix(r.HelpURL, base); !ok || !anchors[anchor] {
			t.Errorf("rule %q: help URL %q is not a README section (%s<anchor>)", r.ID, r.HelpURL, base)
		}
	}
	for id, rows := range documented {
		if _, ok := cat.Lookup(id); !ok {
			t.Errorf("README (%s) documents rule %q, which the catalogue does not have", rows[0].section, id)
		}
	}
}

func TestReadmeRulesParser(t *testing.T) {
	t.Parallel()
	readme := "## Rules\n### A\n| Rule | Production | Development | Description |\n|---|---|---|---|\n" +
		"| `a-x`, `a-y` | error | warning | text `not-an-id` |\n\n| rule | what |\n|---|---|\n| `c` | other table |\n" +
		"### B\n| Rule | Ref | Production | Development | Description |\n|---|---|---|---|---|\n| `d` | RFC 1 §2 | info | info | x |\n" +
		"## Next\n| `b` | info | info | x |\n"
	got := readmeRules(t, readme)
	if len(got) != 3 || got["a-x"][0] != (readmeRule{"A", "error", "warning", "-"}) || len(got["a-y"]) != 1 || got["b"] != nil ||
		got["d"][0] != (readmeRule{"B", "info", "info", "RFC 1 §2"}) {
		t.Errorf("readmeRules = %v", got)
	}
	if a := headingAnchors("### OAuth scopes, metadata and cross-references\n"); !a["oauth-scopes-metadata-and-cross-references"] {
		t.Errorf("headingAnchors = %v", a)
	}
}

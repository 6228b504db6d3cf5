package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// mdFence is a CommonMark code fence line: up to three spaces, then three
// or more backticks or tildes, then an info string (opening fences only).
var mdFence = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})\\s*([^`]*)$")

// mdHeading is an ATX heading.
var mdHeading = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)

// mdAnchorLink is a link to an anchor of the same page.
var mdAnchorLink = regexp.MustCompile(`\]\(#([^)\s]*)\)`)

// markdownOutline parses the parts of CommonMark that decide how a page
// renders as a whole: fenced code blocks (a fence left open swallows the
// rest of the page) and the headings outside them, as GitHub anchors.
func markdownOutline(src string) (anchors map[string]bool, links []string, err error) {
	anchors = map[string]bool{}
	seen := map[string]int{}
	var open string // the opening fence's run of backticks or tildes
	openLine := 0
	for n, line := range strings.Split(src, "\n") {
		if m := mdFence.FindStringSubmatch(line); m != nil {
			switch {
			case open == "":
				open, openLine = m[1], n+1
				continue
			case m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(m[2]) == "":
				open = ""
				continue
			case m[1][0] == open[0] && strings.TrimSpace(m[2]) != "":
				// CommonMark renders this line as code; on a page that
				// nests no fences it means the block above was never
				// closed and the fences after it pair up wrongly.
				return nil, nil, fmt.Errorf("line %d opens a %s block inside the code block opened on line %d, which is probably never closed",
					n+1, strings.TrimSpace(m[2]), openLine)
			}
		}
		if open != "" {
			continue
		}
		if m := mdHeading.FindStringSubmatch(line); m != nil {
			slug := githubSlug(m[2])
			if k := seen[slug]; k > 0 {
				anchors[fmt.Sprintf("%s-%d", slug, k)] = true
			} else {
				anchors[slug] = true
			}
			seen[slug]++
		}
		for _, m := range mdAnchorLink.FindAllStringSubmatch(stripCodeSpans(line), -1) {
			links = append(links, m[1])
		}
	}
	if open != "" {
		return nil, nil, fmt.Errorf("the code fence %s opened on line %d is never closed: the rest of the page renders as code", open, openLine)
	}
	return anchors, links, nil
}

// githubSlug is GitHub's heading anchor (github-slugger): the rendered
// text in lower case, with everything but letters, digits, marks, "_",
// "-" and spaces removed and each space turned into "-".
func githubSlug(heading string) string {
	text := strings.NewReplacer("`", "", "*", "").Replace(heading)
	text = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var codeSpan = regexp.MustCompile("`[^`]*`")

func stripCodeSpans(line string) string { return codeSpan.ReplaceAllString(line, "") }

func TestMarkdownOutline(t *testing.T) {
	for _, tc := range []struct {
		heading, want string
	}{
		{"plan and apply", "plan-and-apply"},
		{"Deploy with GitHub OIDC (no stored secret)", "deploy-with-github-oidc-no-stored-secret"},
		{"Token (PAT or `takos login`)", "token-pat-or-takos-login"},
		{"lint_rules: a/b", "lint_rules-ab"},
	} {
		if got := githubSlug(tc.heading); got != tc.want {
			t.Errorf("githubSlug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
	page := "# Title\n\n[a](#usage) [b](#usage-1)\n\n```yaml\n# not a heading\n```\n\n## Usage\n\n## Usage\n"
	anchors, links, err := markdownOutline(page)
	if err != nil || !anchors["usage"] || !anchors["usage-1"] || anchors["not-a-heading"] || len(links) != 2 {
		t.Errorf("outline = %v %v %v", anchors, links, err)
	}
	// An unclosed fence, and one "closed" by a shorter or different fence.
	for _, bad := range []string{"```yaml\nx\n", "````\n```\n", "```\n~~~\n", "```sh\nx\n``` not a close\n",
		"```yaml\nx\n\n## H\n\n```\nshell\n```\n\ntext\n\n```json\n{}\n```\n"} {
		if _, _, err := markdownOutline(bad); err == nil {
			t.Errorf("markdownOutline(%q) found no open fence", bad)
		}
	}
}

// TestREADMERenders checks, without a network, that README.md renders as
// a whole: every code fence is closed and every in-page link (the table of
// contents and the cross-references) names a heading that exists.
func TestREADMERenders(t *testing.T) {
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors, links, err := markdownOutline(string(src))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if len(links) < 10 {
		t.Fatalf("README.md: only %d in-page links found; the table of contents is missing", len(links))
	}
	for _, l := range links {
		if !anchors[l] {
			t.Errorf("README.md links to #%s, which no heading defines", l)
		}
	}
}

// TestREADMEManifestsAreClean lints every whole manifest the README shows
// (a YAML block with apiVersion and kind: App), the quick start's among
// them: a reader who copies one must get no finding.
func TestREADMEManifestsAreClean(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```ya?ml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	n := 0
	for _, m := range blocks {
		if !strings.Contains(m[1], "apiVersion: takos.dev/v1alpha1") || !strings.Contains(m[1], "kind: App") {
			continue
		}
		n++
		f := filepath.Join(t.TempDir(), "app.yml")
		if err := os.WriteFile(f, []byte(m[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, env := range []string{"production", "development"} {
			code, out, errOut := run(t, nil, "lint", "--no-config", "--env", env, "--strict", f)
			if code != ExitOK || !strings.Contains(out, "0 errors, 0 warnings") {
				t.Errorf("README manifest %d, lint --env %s = %d:\n%s%s\n%s", n, env, code, out, errOut, m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("the README shows no whole manifest; the quick start has one")
	}
}

// TestREADMEEnvFilesIgnored: every dotenv file the README's commands write
// into the checkout (--env-file NAME, run from its root) is git-ignored,
// so following the quick start never leaves a client secret for
// `git add .` to commit.
func TestREADMEEnvFilesIgnored(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile("../../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	patterns := strings.Fields(string(ignore))
	seen := 0
	for _, m := range regexp.MustCompile(`--env-file (\.?[A-Za-z0-9_.-]+)\s`).FindAllStringSubmatch(string(readme), -1) {
		seen++
		if name := m[1]; !slices.Contains(patterns, "/"+name) && !slices.Contains(patterns, name) {
			t.Errorf("the README writes a secret to %s (--env-file %s), which .gitignore does not list", name, name)
		}
	}
	if seen == 0 {
		t.Fatal("no --env-file NAME in the README: the pattern is stale")
	}
}

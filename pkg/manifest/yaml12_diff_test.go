package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// stricterLoaderRules are the loader rules that may reject a file npm yaml
// reads: each is listed in the README's "Where takos-apply is stricter than
// Takos" table (TestStricterTable in package lint checks the table), or
// Takos's parser rejects what npm yaml returns (yaml-empty: no mapping).
var stricterLoaderRules = map[string]bool{
	RuleKeyType.ID: true, RuleMergeKey.ID: true, RuleTag.ID: true, RuleControlChar.ID: true,
	RuleNumber.ID: true, RuleDirective.ID: true, RuleEmpty.ID: true, RuleLimit.ID: true,
	RuleSize.ID: true, RuleEncoding.ID: true, RuleLineEnding.ID: true, RuleSyntax.ID: true, RuleFlowToken.ID: true,
}

// TestYAML12Differential compares the loader with npm yaml 2.8, the YAML
// library of Takos's parser, on generated sources: scalars of every
// resolution class in every context, comment placements, line endings,
// directives, and random byte-level mutations of a manifest. It needs node
// and the yaml package: set TAKOS_YAML_ORACLE to a node_modules directory
// holding yaml@2.8 (.ci/run installs one). A source npm yaml rejects must be
// an error here; a source both accept must give the same value; a source
// only npm yaml accepts must be rejected by a rule of stricterLoaderRules.
func TestYAML12Differential(t *testing.T) {
	mods := os.Getenv("TAKOS_YAML_ORACLE")
	if mods == "" {
		t.Skip("TAKOS_YAML_ORACLE (a node_modules directory with yaml@2.8) is not set")
	}
	mutants := 3000
	if n, err := strconv.Atoi(os.Getenv("TAKOS_YAML_MUTANTS")); err == nil {
		mutants = n
	}
	seed := uint64(9)
	if n, err := strconv.ParseUint(os.Getenv("TAKOS_YAML_SEED"), 10, 64); err == nil {
		seed = n
	}
	cases := differentialCases(mutants, seed)
	cmd := exec.Command("node", "testdata/yaml12-oracle.js")
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	in, _ := json.Marshal(cases)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var verdicts []struct {
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(cases) {
		t.Fatalf("oracle output: %v (%d verdicts for %d cases)", err, len(verdicts), len(cases))
	}
	stats := map[string]int{}
	for i, src := range cases {
		doc, diags := Parse("x.yml", []byte(src), DefaultLimits())
		v := verdicts[i]
		switch {
		case !v.OK && !diags.HasErrors():
			t.Errorf("missed error: npm yaml rejects (%s) %q", v.Error, src)
		case !v.OK:
			stats["both reject"]++
		case diags.HasErrors():
			for _, d := range diags {
				if d.Severity.String() == "error" && !stricterLoaderRules[d.Rule] {
					t.Errorf("undocumented rejection: npm yaml reads %q as %.300s, the loader reports %v", src, v.Value, d)
				}
			}
			stats["stricter: "+diags[0].Rule]++
		default:
			ours, _ := json.Marshal(doc.Value)
			if !sameJSON(ours, v.Value) {
				t.Errorf("misread: %q is %s for npm yaml but %s for the loader", src, v.Value, ours)
			}
			stats["same value"]++
		}
	}
	t.Logf("%d cases: %v", len(cases), stats)
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// scalarForms covers each resolution class of YAML 1.1 and 1.2 plain
// scalars and the quoting styles.
var scalarForms = []string{
	"1", "-1", "+1", "0", "00", "012", "0777", "0o17", "0O17", "0x1F", "0X1F", "-0x1F", "+0x1F", "0b101", "-0b1",
	"1_000", "1_0.5", "0x_1F", "1e3", "1E3", "1e+3", ".5", "1.", "-.5", "+.5", "1.5e-3", ".inf", "-.Inf", "+.INF",
	".nan", ".NaN", ".nAn", "1:20", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
	"true", "True", "TRUE", "tRue", "false", "yes", "no", "on", "off", "y", "~", "null", "Null", "NULL", "nULL",
	"9007199254740993", "12345678901234567890", "-9223372036854775809",
	`"x"`, `'x'`, `'it''s'`, `"a\tb"`, `"\u2028"`, "x\u2028y", "x\u2029y", `"\L"`, `"\N"`, `"\_"`, `"\/"`,
	"a#b", "a #b", "a: b", "&a x", "!!str 1", "!!int 12", "!!str#x 1", "<<", "x\u00a0", "\u3000x",
}

func differentialCases(mutants int, seed uint64) []string {
	contexts := []string{
		"a: %s\n", "a: [%s]\n", "a: {b: %s}\n", "- %s\n", "%s: x\n", "a:\n  - %s\n", "a: %s # c\n",
		"a: %s#c\n", "a: [%s]#c\n", "a: {b: %s}#c\n", "[%s, 1]\n", "a: |\n  %s\nb: 1\n", "a: >-\n  %s #c\n",
		"a:\n  %s\n", "a: %s\r\nb: 1\r\n", "%%YAML 1.2\n---\na: %s\n", "a: %s\rb: 1\r",
	}
	var out []string
	for _, ctx := range contexts {
		for _, s := range scalarForms {
			out = append(out, fmt.Sprintf(ctx, s))
		}
	}
	out = append(out, "%YAML 1.1\n---\na: 1\n", "%YAML 1.2\na: 1\n", "a: |#c\n  x\n", "a: 'x'#c\n",
		"a: \"m\n  l\"#c\n", "a: *b\n", "a: &b 1\nc: *b\n", "a: &x#y 1\n", "- [a]#x\n", "a: [a,#x]\n")
	base := minimal + "  workers:\n    web:\n      build:\n        fromWorkflow: {path: .takos/workflows/b.yml, job: b, artifact: a, artifactPath: dist/w.js}\n  routes:\n    - name: web # the site\n      target: web\n      methods: [GET, 'POST']\n  tags: [\"x\", y]\n"
	block := minimal + "  description: |\n    A \"quoted\" line # not a comment\n    second: line\n  icon: >-\n    folded\n    text\n  env:\n    required:\n      - &v API_KEY\n      - 'it''s'\n    inject:\n      URL: \"{{routes.web.url}}\n        /x\"\n  resources:\n    db: {type: d1, binding: DB} # db\n  tags: [a, *v]\n"
	alphabet := []string{" ", "#", "\r", "\n", "\"", "'", ":", "-", "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "\t", "_", "0", "x", "%", "\\", "\u2028", "?", "~", "1"}
	r := rand.New(rand.NewPCG(seed, 12))
	for range mutants {
		b := []byte(base)
		if r.IntN(2) == 0 {
			b = []byte(block)
		}
		for range 1 + r.IntN(3) {
			i := r.IntN(len(b) + 1)
			switch r.IntN(3) {
			case 0: // insert
				b = append(b[:i], append([]byte(alphabet[r.IntN(len(alphabet))]), b[i:]...)...)
			case 1: // delete
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default: // replace
				if i < len(b) {
					b = append(b[:i], append([]byte(alphabet[r.IntN(len(alphabet))]), b[i+1:]...)...)
				}
			}
		}
		if strings.ToValidUTF8(string(b), "") == string(b) {
			out = append(out, string(b))
		}
	}
	return out
}

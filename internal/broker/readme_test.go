package broker

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEPolicies loads every policy example of the README's "Keyless
// deploys to Takos" section, so the documentation cannot drift from the
// loader, and runs its cases example against the first policy.
func TestREADMEPolicies(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		src, _, _ := strings.Cut(block, "```")
		if !strings.HasPrefix(src, "version: 1\nrules:") {
			continue
		}
		n++
		p, diags, err := LoadPolicy("README.md", []byte(src))
		if err != nil || p == nil || len(diags) != 0 {
			t.Errorf("README policy %d does not load cleanly: %v %v\n%s", n, diags, err, src)
			continue
		}
		c := githubClaims()
		c["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
		c["runner_environment"] = "github-hosted"
		if strings.Contains(src, "refs/tags") {
			c["ref"], c["ref_type"] = "refs/tags/v1.2.0", "tag"
		}
		if strings.Contains(src, "shared-workflows") {
			c["job_workflow_ref"] = "octo-org/shared-workflows/.github/workflows/deploy.yml@refs/heads/main"
		}
		if strings.Contains(src, "@65432/") {
			c["sub"] = "repo:octo-org@65432/octo-repo@123456789:environment:production"
		}
		if d := p.Evaluate(c); d.Rule == nil {
			t.Errorf("README policy %d denies the example claims: %+v", n, d.Misses)
		}
	}
	if n < 3 {
		t.Errorf("found %d policy examples in README.md, want one per use case (3)", n)
	}
	cases := 0
	for _, block := range strings.Split(string(b), "```yaml\n")[1:] {
		src, _, _ := strings.Cut(block, "```")
		if !strings.HasPrefix(src, "version: 1\nclaims:") {
			continue
		}
		cases++
		first := strings.Split(strings.Split(string(b), "```yaml\nversion: 1\nrules:")[1], "```")[0]
		p, _, _ := LoadPolicy("README.md", []byte("version: 1\nrules:"+first))
		cs, _, diags, err := LoadCases("README.md", []byte(src), nil)
		if err != nil || cs == nil || p == nil {
			t.Fatalf("README cases do not load: %v %v", diags, err)
		}
		if found, _ := cs.Run(p); len(found) > 0 {
			t.Errorf("README cases fail against the first README policy: %v", found)
		}
	}
	if cases != 1 {
		t.Errorf("found %d cases examples in README.md, want 1", cases)
	}
}

package cli

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersion checks what `version` says for each way a binary is made:
// the ldflags scripts/build.sh sets win, and without them the output still
// names the toolchain and says that no release stamp is present.
func TestVersion(t *testing.T) {
	tests := []struct {
		name                       string
		version, commit, installer string
		want                       []string
	}{
		{"release", "1.2.3", "0123456789abcdef0123456789abcdef01234567", "release",
			[]string{"takos-apply 1.2.3\n", "commit: 0123456789abcdef0123456789abcdef01234567\n",
				"installed: release archive (scripts/release.sh)\n"}},
		{"action source", "1.2.3-dev", "abc-dirty", "action-source",
			[]string{"takos-apply 1.2.3-dev\n", "commit: abc-dirty\n", "installed: built from source by the GitHub Action"}},
		{"docker", "1.2.3", "abc", "docker", []string{"installed: Docker image (Dockerfile)\n"}},
		{"unknown installer is shown as is", "1.2.3", "abc", "nix", []string{"installed: nix\n"}},
		// go test binaries carry no VCS stamp and a (devel) main module.
		{"plain go build", "", "", "", []string{"takos-apply devel\n", "commit: unknown\n",
			"installed: go build or go run (no release stamp)\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c, i := version, commit, installer
			t.Cleanup(func() { version, commit, installer = v, c, i })
			version, commit, installer = tt.version, tt.commit, tt.installer
			code, out, errOut := run(t, nil, "version")
			if code != ExitOK || errOut != "" {
				t.Fatalf("version = %d, stderr %q", code, errOut)
			}
			if !strings.HasPrefix(out, "takos-apply ") {
				t.Errorf("first line %q: scripts compare it, it must stay `takos-apply VERSION`", out)
			}
			want := append(tt.want, "built with: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n")
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("version output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if code, _, errOut := run(t, nil, "version", "extra"); code != ExitUsage || !strings.Contains(errOut, `"extra"`) {
		t.Errorf("version extra = %d, %q; want a usage error naming the argument", code, errOut)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// TestPlanRefusesLinksAndFIFOs: plan and lint on a repository whose
// .takos/app.yml is a link to a credential file outside it, a link to
// /dev/stdin or a FIFO end at once with the file's finding, print no line
// of the file and send nothing. Each used to print the PAT or hang.
func TestPlanRefusesLinksAndFIFOs(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links and FIFOs need Unix")
	}
	const pat = "tak_pat_LEAKEDfromCONFIGjson0123456789abcdefgh"
	home := t.TempDir()
	config := filepath.Join(home, ".takos", "config.json")
	if err := os.MkdirAll(filepath.Dir(config), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(`{"token":"`+pat+`","apiUrl":"https://takos.example"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cp := devservertest.New(t)
	for name, create := range map[string]func(string) error{
		"link to a credential file": func(p string) error { return os.Symlink(config, p) },
		"link to /dev/stdin":        func(p string) error { return os.Symlink("/dev/stdin", p) },
		"FIFO":                      func(p string) error { return syscall.Mkfifo(p, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			repo := t.TempDir()
			if err := os.MkdirAll(filepath.Join(repo, ".takos"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := create(filepath.Join(repo, ".takos", "app.yml")); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token, "HOME": home}
			for _, args := range [][]string{{"lint"}, {"lint", "."}, {"plan"}, {"apply", "--env-file", filepath.Join(repo, ".env")}} {
				// runIn fails the test if the run hangs.
				code, out, errOut := runIn(t, repo, env, blockingReader{make(chan struct{})}, args...)
				if code != ExitFindings {
					t.Errorf("%v: exit %d, want 1\n%s%s", args, code, out, errOut)
				}
				if strings.Contains(out+errOut, pat[8:]) {
					t.Errorf("%v prints the credential:\n%s%s", args, out, errOut)
				}
				if !strings.Contains(out+errOut, "[file-symlink-outside]") && !strings.Contains(out+errOut, "[file-not-regular]") {
					t.Errorf("%v: no file finding:\n%s%s", args, out, errOut)
				}
			}
			if n := len(cp.Requests()); n != 0 {
				t.Errorf("%d requests reached the control plane", n)
			}
		})
	}
}

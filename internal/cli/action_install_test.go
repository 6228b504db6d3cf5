package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// releaseFixture is a release built by scripts/release.sh for this
// machine's platform, and an action checkout that pins it in dist/.
type releaseFixture struct {
	out, action, archive, name string
	archiveBytes               []byte
	runnerOS, runnerArch       string
}

const fixtureVersion = "9.9.9"

func buildReleaseFixture(t *testing.T) releaseFixture {
	t.Helper()
	osName := map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS]
	arch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	if osName == "" || arch == "" {
		t.Skipf("no release archive for %s/%s to test with", runtime.GOOS, runtime.GOARCH)
	}
	root, _ := filepath.Abs("../..")
	work := t.TempDir()
	f := releaseFixture{out: filepath.Join(work, "out"), action: filepath.Join(work, "action"), runnerOS: osName, runnerArch: arch}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "release.sh"), "build", f.out,
		"--version", fixtureVersion, "--platforms", runtime.GOOS+"/"+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh build: %v\n%s", err, out)
	}
	f.name = "takos-apply_" + fixtureVersion + "_" + runtime.GOOS + "_" + runtime.GOARCH
	f.archive = f.name + ".tar.gz"
	var err error
	if f.archiveBytes, err = os.ReadFile(filepath.Join(f.out, f.archive)); err != nil {
		t.Fatal(err)
	}
	// The action checkout: its scripts, VERSION and the pinned digests.
	for _, p := range []string{"scripts/action-install.sh", "scripts/action-lib.sh", "scripts/action-install.ps1", "scripts/build.sh"} {
		copyFile(t, filepath.Join(root, p), filepath.Join(f.action, p))
	}
	copyFile(t, filepath.Join(f.out, "checksums.txt"), filepath.Join(f.action, "dist", "checksums.txt"))
	copyFile(t, filepath.Join(f.out, "binaries.sha256"), filepath.Join(f.action, "dist", "binaries.sha256"))
	if err := os.WriteFile(filepath.Join(f.action, "VERSION"), []byte(fixtureVersion+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkSBOM checks the release's CycloneDX SBOM: valid JSON naming the
// application's version and the modules compiled in, with the toolchain.
func checkSBOM(t *testing.T, path string) {
	t.Helper()
	var bom struct {
		BOMFormat, SpecVersion string
		Metadata               struct {
			Component struct{ Name, Version string }
		}
		Components []struct{ Type, Name, Version, Purl string }
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &bom); err != nil {
		t.Fatalf("SBOM: %v", err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Name != "takos-apply" || bom.Metadata.Component.Version != fixtureVersion {
		t.Errorf("SBOM header = %+v", bom)
	}
	want := map[string]bool{"stdlib": false, "go.yaml.in/yaml/v3": false, "github.com/santhosh-tekuri/jsonschema/v6": false}
	for _, c := range bom.Components {
		if _, ok := want[c.Name]; ok {
			want[c.Name] = c.Version != "" && c.Purl == "pkg:golang/"+c.Name+"@"+c.Version
		}
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("SBOM lacks a well-formed component %s", name)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// releaseServer serves the fixture's archive under /MODE/v9.9.9/NAME, where
// MODE says how it misbehaves, and counts the requests per mode.
type releaseServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newReleaseServer(t *testing.T, f releaseFixture) *releaseServer {
	s := &releaseServer{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		s.mu.Lock()
		s.hits[mode]++
		n := s.hits[mode]
		s.mu.Unlock()
		if rest != "v"+fixtureVersion+"/"+f.archive {
			http.NotFound(w, r)
			return
		}
		body := f.archiveBytes
		switch mode {
		case "good":
		case "404":
			http.NotFound(w, r)
			return
		case "503-once":
			if n == 1 {
				http.Error(w, "try later", http.StatusServiceUnavailable)
				return
			}
		case "truncated", "truncated-once":
			if mode == "truncated" || n == 1 {
				// Promise the whole archive, send half, drop the connection.
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
		case "tampered":
			body = bytes.Clone(body)
			body[len(body)/2] ^= 0xff
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return
		default:
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *releaseServer) count(mode string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[mode]
}

// installShells are the ways the action runs its install step: bash on
// Linux and macOS, PowerShell on Windows (tested here when pwsh exists;
// Debian ships no powershell package).
var installShells = []struct{ name, script string }{
	{"bash", "action-install.sh"},
	{"pwsh", "action-install.ps1"},
}

// TestActionInstallRelease runs the install step against a loopback
// release server holding archives built by scripts/release.sh: a good
// download is verified and cached, a warm cache is reused only when the
// cached binary's digest is the pinned one, and every failure (tampered or
// truncated download, 404, a server that never answers, a platform with no
// release) is a hard error that puts nothing on PATH.
func TestActionInstallRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release archive")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	f := buildReleaseFixture(t)
	checkSBOM(t, filepath.Join(f.out, "takos-apply_"+fixtureVersion+".sbom.cdx.json"))
	srv := newReleaseServer(t, f)
	wantSum := strings.Fields(readFile(t, filepath.Join(f.out, "checksums.txt")))[0]

	for _, sh := range installShells {
		t.Run(sh.name, func(t *testing.T) {
			if _, err := exec.LookPath(sh.name); err != nil {
				t.Skipf("%s is not installed (Debian has no powershell package); the PowerShell path is untested here", sh.name)
			}
			type result struct {
				code     int
				out      string
				path     string // what the step appended to GITHUB_PATH
				cacheDir string
			}
			install := func(t *testing.T, cache, mode string, extra ...string) result {
				t.Helper()
				work := t.TempDir()
				ghPath := filepath.Join(work, "path")
				if err := os.WriteFile(ghPath, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				var cmd *exec.Cmd
				script := filepath.Join(f.action, "scripts", sh.script)
				if sh.name == "pwsh" {
					cmd = exec.Command("pwsh", "-NoProfile", "-NonInteractive", "-File", script)
				} else {
					cmd = exec.Command("bash", script)
				}
				cmd.Env = append([]string{
					"PATH=" + os.Getenv("PATH"), "HOME=" + work,
					"GITHUB_ACTION_PATH=" + f.action, "GITHUB_PATH=" + ghPath, "GITHUB_OUTPUT=" + filepath.Join(work, "output"),
					"RUNNER_TOOL_CACHE=" + cache, "RUNNER_TEMP=" + work,
					"RUNNER_OS=" + f.runnerOS, "RUNNER_ARCH=" + f.runnerArch,
					"TAKOS_APPLY_RELEASE_URL=" + srv.URL + "/" + mode,
					"TAKOS_APPLY_RETRY_DELAY_MS=10", "TAKOS_APPLY_DOWNLOAD_TIMEOUT=2",
				}, extra...)
				out, err := cmd.CombinedOutput()
				code := 0
				if err != nil {
					ee, ok := err.(*exec.ExitError)
					if !ok {
						t.Fatal(err)
					}
					code = ee.ExitCode()
				}
				return result{code, string(out), strings.TrimSpace(readFile(t, ghPath)),
					filepath.Join(cache, "takos-apply", fixtureVersion, runtime.GOARCH)}
			}
			failed := func(t *testing.T, r result, want ...string) {
				t.Helper()
				if r.code == 0 {
					t.Errorf("install succeeded, want an error:\n%s", r.out)
				}
				if r.path != "" {
					t.Errorf("a failed install put %q on PATH", r.path)
				}
				if _, err := os.Stat(filepath.Join(r.cacheDir, "takos-apply")); err == nil {
					t.Errorf("a failed install left a binary in the tool cache")
				}
				for _, w := range want {
					if !strings.Contains(r.out, w) {
						t.Errorf("output lacks %q:\n%s", w, r.out)
					}
				}
			}

			t.Run("good download, then warm cache", func(t *testing.T) {
				cache := t.TempDir()
				r := install(t, cache, "good")
				if r.code != 0 || r.path != r.cacheDir || !strings.Contains(r.out, "verified") {
					t.Fatalf("install = %d, PATH += %q:\n%s", r.code, r.path, r.out)
				}
				out, err := exec.Command(filepath.Join(r.cacheDir, "takos-apply"), "version").Output()
				if err != nil || !strings.HasPrefix(string(out), "takos-apply "+fixtureVersion+"\n") ||
					!strings.Contains(string(out), "installed: release archive") {
					t.Errorf("installed binary's version: %v\n%s", err, out)
				}
				hits := srv.count("good")
				r = install(t, cache, "good")
				if r.code != 0 || r.path != r.cacheDir || !strings.Contains(r.out, "using cached takos-apply") {
					t.Errorf("warm install = %d, PATH += %q:\n%s", r.code, r.path, r.out)
				}
				if srv.count("good") != hits {
					t.Errorf("a warm install downloaded again")
				}
			})

			t.Run("poisoned cache is replaced, never run", func(t *testing.T) {
				cache := t.TempDir()
				dir := filepath.Join(cache, "takos-apply", fixtureVersion, runtime.GOARCH)
				ran := filepath.Join(t.TempDir(), "ran")
				fake := "#!/bin/sh\ntouch " + ran + "\necho 'takos-apply " + fixtureVersion + "'\n"
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "takos-apply"), []byte(fake), 0o755); err != nil {
					t.Fatal(err)
				}
				r := install(t, cache, "good")
				if r.code != 0 || !strings.Contains(r.out, "not the pinned") || !strings.Contains(r.out, "verified") {
					t.Errorf("install over a poisoned cache = %d:\n%s", r.code, r.out)
				}
				if _, err := os.Stat(ran); err == nil {
					t.Errorf("the install step ran the unverified cached binary")
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "takos-apply")); string(b) == fake {
					t.Errorf("the poisoned binary is still in the cache")
				}
			})

			t.Run("tampered archive", func(t *testing.T) {
				r := install(t, t.TempDir(), "tampered")
				failed(t, r, "SHA-256 mismatch", "expected "+wantSum, "got ")
				if strings.Count(r.out, wantSum) != 1 {
					t.Errorf("the error must name the expected digest once and the actual one:\n%s", r.out)
				}
			})

			t.Run("wrong pinned digest", func(t *testing.T) {
				sums := filepath.Join(f.action, "dist", "checksums.txt")
				orig := readFile(t, sums)
				t.Cleanup(func() { _ = os.WriteFile(sums, []byte(orig), 0o644) })
				wrong := strings.Repeat("0", 64)
				if err := os.WriteFile(sums, []byte(strings.Replace(orig, wantSum, wrong, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				failed(t, install(t, t.TempDir(), "good"), "expected "+wrong, "got "+wantSum)
			})

			t.Run("truncated once, retried", func(t *testing.T) {
				r := install(t, t.TempDir(), "truncated-once")
				if r.code != 0 || r.path == "" || !strings.Contains(r.out, "retrying") {
					t.Errorf("install = %d:\n%s", r.code, r.out)
				}
			})

			t.Run("always truncated", func(t *testing.T) {
				failed(t, install(t, t.TempDir(), "truncated", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS=2"), "failed after 2 attempts")
				if n := srv.count("truncated"); n != 2 {
					t.Errorf("%d requests, want 2 (bounded retries)", n)
				}
			})

			t.Run("503 once, retried", func(t *testing.T) {
				r := install(t, t.TempDir(), "503-once")
				if r.code != 0 || r.path == "" || !strings.Contains(r.out, "HTTP 503") {
					t.Errorf("install = %d:\n%s", r.code, r.out)
				}
			})

			t.Run("404 is final", func(t *testing.T) {
				before := srv.count("404")
				failed(t, install(t, t.TempDir(), "404"), "HTTP 404", "v"+fixtureVersion)
				if n := srv.count("404") - before; n != 1 {
					t.Errorf("%d requests for a 404, want 1 (no retry)", n)
				}
			})

			t.Run("slow server times out", func(t *testing.T) {
				start := time.Now()
				failed(t, install(t, t.TempDir(), "slow", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS=2", "TAKOS_APPLY_DOWNLOAD_TIMEOUT=1"),
					"failed after 2 attempts", "timed out")
				// The server would hold each request for 30 s.
				if d := time.Since(start); d > 25*time.Second {
					t.Errorf("install took %v against a server that never answers", d)
				}
			})

			for _, tc := range []struct{ os, arch string }{{"FreeBSD", f.runnerArch}, {f.runnerOS, "ARM"}, {"Linux", "X86"}} {
				t.Run("unknown platform "+tc.os+"/"+tc.arch, func(t *testing.T) {
					before := srv.count("good")
					failed(t, install(t, t.TempDir(), "good", "RUNNER_OS="+tc.os, "RUNNER_ARCH="+tc.arch),
						"RUNNER_OS="+tc.os+" RUNNER_ARCH="+tc.arch, "install: source")
					if srv.count("good") != before {
						t.Errorf("downloaded something for an unknown platform")
					}
				})
			}

			t.Run("plain http off loopback is refused", func(t *testing.T) {
				failed(t, install(t, t.TempDir(), "good", "TAKOS_APPLY_RELEASE_URL=http://127.0.0.1.example.com/x"),
					"https:// (or http:// on loopback)")
			})

			// Issue 21: bash evaluates a variable's text inside $(( )), so
			// TAKOS_APPLY_RETRY_DELAY_MS='i[$(touch pwned)]' and one 503 ran
			// the command. Every number is checked (digits only, in range)
			// before the first request.
			t.Run("numbers are digits only, never evaluated", func(t *testing.T) {
				pwned := filepath.Join(t.TempDir(), "pwned")
				for _, v := range []string{"TAKOS_APPLY_RETRY_DELAY_MS", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS", "TAKOS_APPLY_DOWNLOAD_TIMEOUT"} {
					for _, bad := range []string{"i[$(touch " + pwned + ")]", "a[`touch " + pwned + "`]", "1+1", "0x10", " 12", "1e3", "-1", "9999999999", "0"} {
						if bad == "0" && v == "TAKOS_APPLY_RETRY_DELAY_MS" {
							continue // no delay is a valid delay
						}
						before := srv.count("503-once")
						r := install(t, t.TempDir(), "503-once", v+"="+bad)
						failed(t, r, v+" must be")
						if r.code != 2 {
							t.Errorf("%s=%q: exit %d, want 2 (usage)", v, bad, r.code)
						}
						if n := srv.count("503-once") - before; n != 0 {
							t.Errorf("%s=%q: %d requests before the value was refused", v, bad, n)
						}
					}
				}
				if _, err := os.Stat(pwned); err == nil {
					t.Fatalf("a TAKOS_APPLY_* variable ran a command")
				}
				// Leading zeros are decimal: 09 attempts are nine (in bash
				// arithmetic 09 is an invalid octal number).
				before := srv.count("truncated")
				failed(t, install(t, t.TempDir(), "truncated", "TAKOS_APPLY_RETRY_DELAY_MS=00", "TAKOS_APPLY_DOWNLOAD_ATTEMPTS=09"),
					"failed after 9 attempts")
				if n := srv.count("truncated") - before; n != 9 {
					t.Errorf("%d requests, want 9", n)
				}
			})

			t.Run("a hostile release URL cannot start a command", func(t *testing.T) {
				r := install(t, t.TempDir(), "good", "TAKOS_APPLY_RELEASE_URL=http://x.example/\n::add-mask::x\r::set-output name=client-secret::s")
				failed(t, r, "TAKOS_APPLY_RELEASE_URL must be https://")
				checkOnlyAnnotations(t, r.out, "TAKOS_APPLY_RELEASE_URL must be https:// (or http:// on loopback), got 'http://x.example/\n::add-mask::x\r::set-output name=client-secret::s'")
			})

			t.Run("bad install input", func(t *testing.T) {
				r := install(t, t.TempDir(), "good", "INPUT_INSTALL=binary")
				failed(t, r, "input install must be auto, release or source, got 'binary'")
				if r.code != 2 {
					t.Errorf("exit %d, want 2 (usage)", r.code)
				}
			})
		})
	}
}

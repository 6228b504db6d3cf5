package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/hostiletest"
)

// signalAfter starts cmd, sends sig once ready says so (or after delay),
// and returns the exit code and how long the process took after the
// signal. A process still running argsGuard after the signal fails the
// test.
func signalAfter(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, delay time.Duration) (code int, after time.Duration) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("%v ended before the signal: %v", cmd.Args, err)
	case <-time.After(delay):
	}
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), time.Since(sent)
	case <-time.After(argsGuard):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running %v after %v", cmd.Args, argsGuard, sig)
		return 0, 0
	}
}

// TestSignalEndsBusyLint: a lint stuck in its work — here writing to a
// pipe nobody reads, as "takos-apply lint . | less" is after Ctrl-C, a step
// that never looks at its context — ends on the signal with one line and
// 130 or 143. It used to sit there until the reader went away.
func TestSignalEndsBusyLint(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	bin := realBinary(t)
	dir := t.TempDir()
	for i := range 600 {
		p := filepath.Join(dir, fmt.Sprintf("app%03d", i), ".takos", "app.yml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(faultManifest, "version: 1.0.0", "version: 1.0", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(bin, "lint", dir)
		cmd.Env = []string{"HOME=" + dir, "NO_COLOR=1"}
		stdout, err := cmd.StdoutPipe() // never read: the output fills it
		if err != nil {
			t.Fatal(err)
		}
		defer stdout.Close()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code, after := signalAfter(t, cmd, sig, 500*time.Millisecond)
		if want := 128 + int(sig); code != want {
			t.Errorf("%v: exit %d, want %d\n%s", sig, code, want, stderr.String())
		}
		if stderr.String() != "takos-apply: interrupted\n" {
			t.Errorf("%v: stderr %q, want the one line", sig, stderr.String())
		}
		if after > 2*time.Second {
			t.Errorf("%v: took %v after the signal", sig, after)
		}
	}
}

// TestSignalEndsPlan: plan and apply against a control plane that accepts
// and never answers end on Ctrl-C with one line, "interrupted", and 130 —
// not a discovery warning, a second error and exit 3.
func TestSignalEndsPlan(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT delivery to a child on Windows")
	}
	bin := realBinary(t)
	cp := hostiletest.Hanging(t) // accepts, never answers
	dir := t.TempDir()
	writeManifest(t, dir)
	// apply waits for its command to return (a created client settles), so
	// its own error paths run after the cancel: net/http reports the
	// cancelled requests as "interrupted by interrupt", which they must
	// recognise as the signal and keep quiet about.
	for _, args := range [][]string{{"plan"}, {"apply", "--env-file", "app.env"}} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			cmd := exec.Command(bin, args...)
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + dir, "TAKOS_API_URL=" + cp, "TAKOS_TOKEN=tak_pat_signaltest0000000000000000000000000000"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code, _ := signalAfter(t, cmd, sig, 500*time.Millisecond)
			if want := 128 + int(sig); code != want {
				t.Errorf("%s, %v: exit %d, want %d\n%s", args[0], sig, code, want, stderr.String())
			}
			if stderr.String() != "takos-apply: interrupted\n" || stdout.String() != "" {
				t.Errorf("%s, %v: stdout %q, stderr %q; want only the line \"takos-apply: interrupted\"", args[0], sig, stdout.String(), stderr.String())
			}
		}
	}
}

// TestSignalDuringCreateSettles: Ctrl-C while apply's create request is in
// flight (the server has committed the client, its reply not yet sent)
// still settles: the client whose secret never arrived is revoked, nothing
// is left active with a lost secret, and the run ends with 130 and no
// "context canceled".
func TestSignalDuringCreateSettles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT delivery to a child on Windows")
	}
	bin := realBinary(t)
	cp := devservertest.New(t)
	dir := t.TempDir()
	writeManifest(t, dir)
	cmd := exec.Command(bin, "apply", "--env-file", filepath.Join(dir, ".env"))
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "TAKOS_API_URL=" + cp.URL, "TAKOS_TOKEN=" + cp.Token}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := make(chan *os.Process, 1)
	cp.Inject(devserver.Fault{Method: "POST", Path: controlplane.ClientsPath, Kind: devserver.Delay, AfterAct: func() {
		_ = (<-started).Signal(syscall.SIGINT)
		time.Sleep(300 * time.Millisecond) // the client gives up on the reply
	}})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started <- cmd.Process
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * argsGuard):
		_ = cmd.Process.Kill()
		t.Fatal("apply still running after the signal")
	}
	t.Logf("stderr of the interrupted apply:\n%s", stderr.String())
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "takos-apply: interrupted\n") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr %q; want it to end with the one line \"interrupted\" and no cancellation error", stderr.String())
	}
	creates := 0
	for _, r := range cp.Requests() {
		if r.Method == "POST" && r.Path == controlplane.ClientsPath {
			creates++
		}
	}
	active := 0
	for _, c := range cp.Clients() {
		if c.Status == "active" {
			active++
		}
	}
	if creates != 1 || active != 0 {
		t.Errorf("%d creates, %d clients left active; want the one created client revoked (its secret never arrived)\n%s", creates, active, stderr.String())
	}
}

// blockedWriter never returns from Write until released.
type blockedWriter struct{ release chan struct{} }

func (b blockedWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// TestInterruptAbandonsReadOnlyCommand: in process, a signal (a context
// cancelled with an *Interrupted cause) ends lint at once even though its
// output is blocked, and nothing it writes later reaches the stream.
func TestInterruptAbandonsReadOnlyCommand(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(f, []byte(strings.Replace(faultManifest, "version: 1.0.0", "version: 1.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := blockedWriter{make(chan struct{})}
	defer close(out.release)
	ctx, cancel := context.WithCancelCause(context.Background())
	var stderr bytes.Buffer
	code := within(t, "an interrupted lint", func() int {
		go func() {
			time.Sleep(100 * time.Millisecond)
			cancel(&Interrupted{Signal: syscall.SIGTERM})
		}()
		return Run(ctx, []string{"lint", f}, func(string) string { return "" }, strings.NewReader(""), out, &stderr)
	})
	if code != 143 || stderr.String() != "takos-apply: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 143 and the one line", code, stderr.String())
	}
}

func TestInterruptedExitCode(t *testing.T) {
	for sig, want := range map[os.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143, os.Interrupt: 130} {
		if got := (&Interrupted{Signal: sig}).ExitCode(); got != want {
			t.Errorf("%v: exit code %d, want %d", sig, got, want)
		}
	}
}

// TestOnlyCanceled: the cancellation of an interrupted run is not printed,
// but an error that also carries another failure is.
func TestOnlyCanceled(t *testing.T) {
	lost := errors.New("listing clients failed: connection refused")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, true},
		{fmt.Errorf("listing OAuth clients: %w", &net.OpError{Op: "read", Err: context.Canceled}), true},
		{context.DeadlineExceeded, false},
		{lost, false},
		{fmt.Errorf("creating OAuth client failed with an unknown outcome (%w) and listing clients to check failed (%w): its secret may be lost", context.Canceled, lost), false},
		{errors.Join(context.Canceled, fmt.Errorf("x: %w", context.Canceled)), true},
		// net/http's error for a request whose context a signal cancelled
		// ends in the cause, not in context.Canceled.
		{&url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: &Interrupted{Signal: syscall.SIGINT}}, true},
		{fmt.Errorf("fetch OAuth discovery: %w", &Interrupted{Signal: syscall.SIGTERM}), true},
		{errors.Join(&Interrupted{Signal: syscall.SIGINT}, lost), false},
	} {
		if got := onlyCanceled(tc.err); got != tc.want {
			t.Errorf("onlyCanceled(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

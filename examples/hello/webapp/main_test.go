package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/cli"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// The README's example, end to end: takos-apply dev registers the
// manifest's client and runs this app (the test binary again, as the app)
// with the credentials; a browser signs in through the consent page; the
// app exchanges the code, calls userinfo, refreshes, and exits; dev exits
// with its code.

func TestMain(m *testing.M) {
	if os.Getenv("WEBAPP_TEST_RUN_APP") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDevWithApp runs takos-apply dev on a copy of examples/hello whose
// redirect URI names a free port, with this app as its command.
func startDevWithApp(t *testing.T, devFlags ...string) (appURL string, stdout *syncBuffer, done chan int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appURL = "http://" + ln.Addr().String()
	ln.Close()
	src, err := os.ReadFile("../.takos/app.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".takos"), 0o755)
	manifest := strings.Replace(string(src), "http://localhost:3000/auth/callback", appURL+"/auth/callback", 1)
	if manifest == string(src) {
		t.Fatal("examples/hello no longer registers http://localhost:3000/auth/callback")
	}
	os.WriteFile(filepath.Join(dir, ".takos", "app.yml"), []byte(manifest), 0o644)
	t.Setenv("WEBAPP_TEST_RUN_APP", "1")
	t.Setenv("APP_URL", appURL)
	stdout = &syncBuffer{}
	stderr := &syncBuffer{}
	done = make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	args := append(append([]string{"dev", "--addr", "127.0.0.1:0", "--quiet"}, devFlags...), dir, "--", os.Args[0], "-once")
	go func() {
		done <- cli.Run(ctx, args, func(string) string { return "" }, strings.NewReader(""), stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("takos-apply dev's stdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "webapp: listening"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the app never started")
		}
	}
	return appURL, stdout, done
}

func waitExit(t *testing.T, done chan int) int {
	t.Helper()
	select {
	case code := <-done:
		done <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("takos-apply dev did not exit after the app")
		return -1
	}
}

func TestSignInInTheBrowser(t *testing.T) {
	b := devservertest.StartBrowser(t)
	appURL, stdout, done := startDevWithApp(t)
	p := b.NewPage(t)
	p.Navigate(appURL + "/login")
	p.WaitFor(`document.getElementById('allow')`, 20*time.Second)
	var name string
	p.MustEval(`document.getElementById('client-name').textContent`, &name)
	if name != "Hello" {
		t.Errorf("consent page names %q", name)
	}
	p.MustEval(`document.getElementById('allow').click()`, nil)
	p.WaitFor(`location.href.startsWith('`+appURL+`/auth/callback')`, 20*time.Second)
	var msg string
	p.MustEval(`document.getElementById('message').textContent`, &msg)
	if want := "Signed in as Dev User (acct_owner); the token was refreshed and the refresh token rotated."; msg != want {
		t.Errorf("the app says %q, want %q", msg, want)
	}
	if code := waitExit(t, done); code != 0 {
		t.Errorf("takos-apply dev exited %d, want the app's 0", code)
	}
	if !strings.Contains(stdout.String(), "webapp: Signed in as Dev User") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// TestSignInAutoApprove is the same flow without a browser: --auto-approve
// skips the consent page and a plain HTTP client follows the redirects.
// The second case denies nothing but sends the app a state it never
// issued: the app fails, and dev exits with its 1.
func TestSignInAutoApprove(t *testing.T) {
	appURL, _, done := startDevWithApp(t, "--auto-approve")
	resp, err := http.Get(appURL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Signed in as Dev User (acct_owner)") {
		t.Errorf("= %d %s", resp.StatusCode, body)
	}
	if code := waitExit(t, done); code != 0 {
		t.Errorf("exit %d", code)
	}

	appURL, _, done = startDevWithApp(t, "--auto-approve")
	resp, err = http.Get(appURL + "/auth/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("forged state = %d", resp.StatusCode)
	}
	if code := waitExit(t, done); code != 1 {
		t.Errorf("exit %d, want the app's 1", code)
	}
}

package export

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// privateFile is another private file of the user, next to the dotenv
// file, that a symlink swapped in would make takos-apply read.
const privateContent = "PRIVATE_KEY=never-copy-me\n"

func swapTarget(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "private")
	if err := os.WriteFile(p, []byte(privateContent), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDotenvSwappedAfterCheck swaps the checked file for a symlink (to a
// file inside and outside the directory) and for a FIFO at the worst
// moment, between the check and the open: the write is refused, the
// private file is neither copied nor changed, and nothing hangs.
func TestDotenvSwappedAfterCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks and FIFOs need privileges on Windows")
	}
	outside := swapTarget(t, t.TempDir())
	for _, tc := range []struct {
		name string
		swap func(t *testing.T, env, inside string)
	}{
		{"symlink inside the directory", func(t *testing.T, env, inside string) { relink(t, inside, env) }},
		{"symlink relative", func(t *testing.T, env, _ string) { relink(t, "private", env) }},
		{"symlink outside the directory", func(t *testing.T, env, _ string) { relink(t, outside, env) }},
		{"FIFO", func(t *testing.T, env, _ string) {
			if err := os.Remove(env); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(env, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			inside := swapTarget(t, dir)
			env := filepath.Join(dir, ".env")
			if err := os.WriteFile(env, []byte("A=1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			afterCheck = func() { tc.swap(t, env, inside) }
			t.Cleanup(func() { afterCheck = func() {} })
			done := make(chan error, 1)
			go func() {
				_, err := writeDotenv(env, []KV{{oauthClientIDEnv, "id"}, {oauthClientSecretEnv, "secret"}})
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, errUnsafeDotenvPath) {
					t.Fatalf("writeDotenv = %v, want %v", err, errUnsafeDotenvPath)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("writeDotenv hangs on the swapped file")
			}
			for _, p := range []string{inside, outside} {
				if got := readFile(t, p); got != privateContent {
					t.Errorf("%s changed: %q", p, got)
				}
			}
			if fi, err := os.Lstat(env); err == nil && fi.Mode().IsRegular() {
				if got := readFile(t, env); strings.Contains(got, "never-copy-me") {
					t.Errorf("the dotenv file holds the private file: %q", got)
				}
			}
			assertNoTemps(t, dir)
		})
	}
}

func relink(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".swap"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// TestDotenvSymlinkRace is issue 21's reproduction: a goroutine swaps the
// dotenv file between a regular file and a symlink to a private file, in a
// loop, while writes run. Every write either succeeds with content of its
// own or is refused; what it writes never holds the private file.
func TestDotenvSymlinkRace(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	private := swapTarget(t, dir)
	env := filepath.Join(dir, ".env")
	if err := os.WriteFile(env, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Both replacements are made ready first, then swapped in back to
		// back.
		link, reg := env+".link", env+".reg"
		for !stop.Load() {
			_ = os.Symlink(private, link)
			_ = os.WriteFile(reg, []byte("A=1\n"), 0o600)
			_ = os.Rename(link, env)
			_ = os.Rename(reg, env)
		}
	}()
	// The window between the check and the open is a few instructions
	// wide; widen it, as a slow disk or a busy machine does, so the swap
	// lands in it in most runs.
	afterCheck = func() { time.Sleep(100 * time.Microsecond) }
	t.Cleanup(func() { afterCheck = func() {} })
	var written, refused int
	var leaked []string
	watch := func(oldpath, newpath string) error {
		b, err := os.ReadFile(oldpath) // our own temporary file
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "never-copy-me") {
			leaked = append(leaked, string(b))
		}
		return os.Rename(oldpath, newpath)
	}
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; i < 3000 && time.Now().Before(deadline); i++ {
		_, err := updateDotenv(env, []KV{{oauthClientIDEnv, "id"}}, watch)
		switch {
		case err == nil:
			written++
		case errors.Is(err, errUnsafeDotenvPath):
			refused++
		}
	}
	stop.Store(true)
	wg.Wait()
	if len(leaked) > 0 {
		t.Fatalf("%d of %d writes copied the private file into the dotenv file, e.g. %q", len(leaked), written, leaked[0])
	}
	if got := readFile(t, private); got != privateContent {
		t.Errorf("the private file changed: %q", got)
	}
	if written == 0 || refused == 0 {
		t.Logf("the race was not exercised both ways: %d written, %d refused", written, refused)
	}
	t.Logf("%d written, %d refused", written, refused)
}

// Package brokerstatetest starts a real redis-server for tests of the
// broker's shared state: on loopback, on a free port, in a temporary
// directory, with a password, persisting nothing, and stopped when the
// test ends.
package brokerstatetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// EnvServer names the redis-server (or valkey-server) binary to use;
// default redis-server on PATH.
const EnvServer = "TAKOS_REDIS_SERVER"

// Redis is a running redis-server.
type Redis struct {
	// URL is redis://:PASSWORD@127.0.0.1:PORT/0.
	URL      string
	Addr     string
	Password string

	tb   testing.TB
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server for the test. Where the binary is missing
// the test is skipped with the reason, except under CI (CI=true), which
// installs it: there a missing server fails the test, so CI never passes
// by skipping.
func Start(tb testing.TB) *Redis {
	tb.Helper()
	bin := os.Getenv(EnvServer)
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("%s is not installed (Debian: apt-get install redis-server; or set %s): the shared-state tests need a real Redis", bin, EnvServer)
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	pw := make([]byte, 12)
	rand.Read(pw)
	r := &Redis{tb: tb, bin: path, dir: tb.TempDir(), Password: hex.EncodeToString(pw)}
	var lastErr error
	// A free port is found by listening on :0 and closing; another
	// process may take it before redis-server binds, so a failed start
	// is tried again on a new port.
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = r.start(); lastErr == nil {
			r.URL = "redis://:" + r.Password + "@" + r.Addr + "/0"
			tb.Cleanup(r.Kill)
			return r
		}
	}
	tb.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on r.Addr and waits until it answers PING.
func (r *Redis) start() error {
	host, port, _ := net.SplitHostPort(r.Addr)
	logPath := filepath.Join(r.dir, "redis.log")
	cmd := exec.Command(r.bin,
		"--bind", host, "--port", port, "--dir", r.dir, "--logfile", logPath,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--requirepass", r.Password, "--databases", "1")
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(lastLines(string(log), 3)))
		default:
		}
		if r.ping() == nil {
			r.mu.Lock()
			r.cmd, r.done = cmd, done
			r.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on %s did not answer PING within 10 s", r.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping checks that the server answers, with the password.
func (r *Redis) ping() error {
	c := r.Client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Kill stops the server at once (SIGKILL: a crash, not a shutdown) and
// waits for it to exit. It may be called more than once.
func (r *Redis) Kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same address, empty (nothing is
// persisted), after Kill.
func (r *Redis) Restart() {
	r.tb.Helper()
	r.Kill()
	var err error
	for range 50 { // the port may linger a moment after the kill
		if err = r.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.tb.Fatalf("restarting redis-server on %s: %v", r.Addr, err)
}

// Client returns a client of the server, for tests that inspect it; the
// caller closes it.
func (r *Redis) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, MaxRetries: -1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
}

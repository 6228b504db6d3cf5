package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Interrupted is the cause of a run's context when a signal stopped it.
type Interrupted struct{ Signal os.Signal }

func (i *Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// ExitCode is what a shell reports for a process the signal ended: 128
// plus the signal's number, 130 for SIGINT (Ctrl-C) and 143 for SIGTERM.
func (i *Interrupted) ExitCode() int {
	if s, ok := i.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// NotifyContext is signal.NotifyContext for SIGINT and SIGTERM that
// remembers which signal arrived: the context's cause is then an
// *Interrupted, from which Run takes the exit code. stop releases the
// signals; a second signal before it is ignored, so that an apply whose
// client was created still delivers its secret.
func NotifyContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			cancel(&Interrupted{Signal: s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruption returns the signal that ended ctx, or nil.
func interruption(ctx context.Context) *Interrupted {
	var i *Interrupted
	if errors.As(context.Cause(ctx), &i) {
		return i
	}
	return nil
}

// What a signal does to a running command.
type onSignal int

const (
	// signalWait: the command sees its context cancelled and Run waits for
	// it to return (apply: a created client settles and its secret is
	// delivered). The default, because it never cuts work short.
	signalWait onSignal = iota
	// signalAbandon: Run returns at once and whatever the command still
	// writes is dropped (read-only commands: lint, plan, auth debug …), so
	// a signal ends even a step that does not look at its context.
	signalAbandon
	// signalServe: the command shuts down on the signal and its own exit
	// code stands (broker: a graceful stop is a success).
	signalServe
)

// gate passes writes to w until it is closed; then it drops them, so that
// an abandoned command can no longer write once Run has returned. A write
// costs an atomic load and an uncontended lock.
type gate struct {
	w      io.Writer
	mu     sync.Mutex // held during a write
	closed atomic.Bool
}

func newGate(w io.Writer) *gate { return &gate{w: w} }

func (g *gate) Write(p []byte) (int, error) {
	if g.closed.Load() {
		return len(p), nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return len(p), nil
	}
	return g.w.Write(p)
}

// gateGrace is how long close waits for a write in progress: a write
// blocked on a full pipe must not keep the process from exiting.
const gateGrace = 200 * time.Millisecond

// close stops further writes and waits up to gateGrace for one in
// progress.
func (g *gate) close() {
	g.closed.Store(true)
	for deadline := time.Now().Add(gateGrace); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if g.mu.TryLock() {
			g.mu.Unlock()
			return
		}
	}
}

// Package devservertest starts the dev server (the one fake Takos control
// plane) for a test and stops it when the test ends.
package devservertest

import (
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver"
)

// New starts a dev server on a free loopback port; t.Cleanup closes it.
func New(t testing.TB, opts ...devserver.Option) *devserver.Server {
	t.Helper()
	s, err := devserver.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

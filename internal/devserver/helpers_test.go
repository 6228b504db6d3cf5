package devserver

import "testing"

// newTest starts a server for an in-package test; devservertest.New is the
// same for other packages (it cannot be imported here: a cycle).
func newTest(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

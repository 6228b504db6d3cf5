package authtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// serve starts h on loopback. init receives the server's URL before the
// server accepts connections, so fields a handler reads are written before
// any request can race with them (a client learns the URL through the
// network, which the race detector cannot see as a happens-before edge).
func serve(t testing.TB, h http.Handler, init func(url string)) {
	srv := httptest.NewUnstartedServer(h)
	init("http://" + srv.Listener.Addr().String())
	srv.Start()
	t.Cleanup(srv.Close)
}

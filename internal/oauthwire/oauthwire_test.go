package oauthwire

import (
	"net/http/httptest"
	"testing"
)

func TestError(t *testing.T) {
	for _, tc := range []struct {
		e          Error
		text, body string
		status     int
	}{
		{Error{Status: 400, Code: InvalidGrant, Description: "no rule <matches>"}, "HTTP 400 invalid_grant: no rule <matches>",
			`{"error":"invalid_grant","error_description":"no rule <matches>"}` + "\n", 400},
		{Error{Code: InvalidRequest}, "HTTP 0 invalid_request", `{"error":"invalid_request"}` + "\n", 400},
		{Error{Status: 503}, "HTTP 503", `{"error":""}` + "\n", 503},
	} {
		if got := tc.e.Error(); got != tc.text {
			t.Errorf("Error() = %q, want %q", got, tc.text)
		}
		w := httptest.NewRecorder()
		tc.e.Write(w)
		if w.Code != tc.status || w.Body.String() != tc.body || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Write() = %d %q %v, want %d %q with no-store JSON", w.Code, w.Body.String(), w.Header(), tc.status, tc.body)
		}
	}
}

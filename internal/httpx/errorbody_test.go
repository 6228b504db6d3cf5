package httpx

import "testing"

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name string
		body string
		want ErrorBody
		ok   bool
	}{
		{"OAuth", `{"error":"invalid_target","error_description":"nope"}`, ErrorBody{Error: "invalid_target", Description: "nope"}, true},
		{"OAuth code only", `{"error":"OAuth bearer token is not supported"}`, ErrorBody{Error: "OAuth bearer token is not supported"}, true},
		{"Takos API", `{"error":{"code":"BAD_REQUEST","message":"Invalid JSON body"}}`, ErrorBody{Code: "BAD_REQUEST", Message: "Invalid JSON body"}, true},
		{"Google API", `{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}`,
			ErrorBody{Status: "PERMISSION_DENIED", Message: "Permission denied"}, true},
		{"top-level message", `{"message":"x"}`, ErrorBody{TopMessage: "x"}, true},
		{"HTML", `<html>502</html>`, ErrorBody{}, false},
		{"empty object", `{}`, ErrorBody{}, false},
		{"error of another type", `{"error":true}`, ErrorBody{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseErrorBody([]byte(tc.body))
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseErrorBody(%s) = %+v, %v; want %+v, %v", tc.body, got, ok, tc.want, tc.ok)
			}
		})
	}
}

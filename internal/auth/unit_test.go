package auth

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		raw     string
		want    int64
		wantErr bool
	}{
		{"", 0, false}, {"null", 0, false}, {"3600", 3600, false}, {`"3600"`, 3600, false},
		{"3599.9", 3599, false}, {`"soon"`, 0, true}, {"-1", 0, true}, {"true", 0, true},
	}
	for _, tc := range tests {
		got, err := parseExpiresIn(json.RawMessage(tc.raw))
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("parseExpiresIn(%q) = %d, %v; want %d, error %v", tc.raw, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDecodeClaims(t *testing.T) {
	payload := `{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o@1/r@2:environment:prod",` +
		`"aud":["a","b"],"repository_id":123,"exp":1800000000,"actor":"octocat","sha":"abc","secret_extra":"x"}`
	jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	c, exp, err := decodeClaims(jwt)
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o@1/r@2:environment:prod",
		"aud": []any{"a", "b"}, "repository_id": "123"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("decodeClaims() claims (-want +got):\n%s", diff)
	}
	if exp.Unix() != 1800000000 {
		t.Errorf("decodeClaims() exp = %v, want 1800000000", exp.Unix())
	}
	if got := c.String(); got != "iss=https://token.actions.githubusercontent.com sub=repo:o@1/r@2:environment:prod aud=a,b repository_id=123" {
		t.Errorf("Claims.String() = %q", got)
	}
	for _, bad := range []string{"opaque-token", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c"} {
		if _, _, err := decodeClaims(bad); err == nil {
			t.Errorf("decodeClaims(%q) succeeded, want an error", bad)
		}
	}
}

func TestErrorFields(t *testing.T) {
	tests := []struct {
		body, code, desc string
		ok               bool
	}{
		{`{"error":"invalid_target","error_description":"nope"}`, "invalid_target", "nope", true},
		{`{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}`, "PERMISSION_DENIED", "Permission denied", true},
		{`<html>502</html>`, "", "", false},
		{`{"message":"x"}`, "", "", false},
	}
	for _, tc := range tests {
		code, desc, ok := errorFields([]byte(tc.body))
		if code != tc.code || desc != tc.desc || ok != tc.ok {
			t.Errorf("errorFields(%q) = %q, %q, %v; want %q, %q, %v", tc.body, code, desc, ok, tc.code, tc.desc, tc.ok)
		}
	}
}

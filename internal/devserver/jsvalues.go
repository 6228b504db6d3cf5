package devserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Context-free helpers for the JavaScript semantics the server relies on.

// truthy is JavaScript truthiness of a JSON value; absent is undefined.
func truthy(v json.RawMessage) bool {
	t := string(bytes.TrimSpace(v))
	switch t {
	case "", "null", "false", `""`:
		return false
	}
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return f != 0
	}
	return true
}

func isJSONString(v json.RawMessage) bool {
	var s string
	return json.Unmarshal(v, &s) == nil
}

// jsString is String(value) for the JSON values a client can send.
func jsString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	t := string(bytes.TrimSpace(v))
	switch {
	case strings.HasPrefix(t, "{"):
		return "[object Object]"
	case strings.HasPrefix(t, "["):
		var a []json.RawMessage
		_ = json.Unmarshal(v, &a)
		parts := make([]string, len(a))
		for i, e := range a {
			if s := string(bytes.TrimSpace(e)); s != "null" {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return t
}

func nullableString(v json.RawMessage) *string {
	if v == nil || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	s := jsString(v)
	return &s
}

// stringArray reads redirect_uris-like fields. Elements become
// String(element), as `new URL(element)` would see them. A non-array value
// is refused: the real server fails on it in ways not worth mimicking.
func stringArray(v json.RawMessage) ([]string, bool, error) {
	if v == nil || string(bytes.TrimSpace(v)) == "null" {
		return nil, false, nil
	}
	var a []json.RawMessage
	if json.Unmarshal(v, &a) != nil {
		return nil, true, fmt.Errorf("expected an array of strings")
	}
	out := make([]string, len(a))
	for i, e := range a {
		out[i] = jsString(e)
	}
	return out, true, nil
}

// redirectURIList is redirect_uris as the server walks it: the handler
// only checks that the value is truthy with a non-zero length, and
// validateRedirectUris iterates it with for...of, so an array yields its
// elements (as stringArray) and a string its code points, one "URI" per
// character: "https://a.example/cb" fails as "Invalid redirect_uri: h".
func redirectURIList(v json.RawMessage) ([]string, bool, error) {
	var str string
	if json.Unmarshal(v, &str) != nil {
		return stringArray(v)
	}
	out := make([]string, 0, len(str))
	for _, r := range str {
		out = append(out, string(r))
	}
	return out, true, nil
}

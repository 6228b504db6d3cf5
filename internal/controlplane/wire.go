package controlplane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"
)

// Registration is the reply to a create (createClient in
// github.com/tako0614/takos/packages/control/src/application/services/oauth/client.ts). ClientSecret and
// RegistrationAccessToken are shown by the control plane this once only.
// Printing a Registration or a *Registration with any fmt verb, logging it
// with slog and marshalling it to JSON redact both, and so does fmt when it
// reaches a Registration through an exported field, slice element or map
// value.
//
// Known limit: fmt cannot call methods on an unexported struct field, so a
// Registration value held in an unexported field (struct{ r Registration })
// is printed field by field, credentials included. Never store one that way
// in a type that may be printed; a *Registration there prints as an
// address.
type Registration struct {
	ClientID                string
	ClientSecret            string
	RegistrationAccessToken string
	// RegistrationClientURI is relative (/oauth/register/<client_id>).
	RegistrationClientURI string
	ClientIDIssuedAt      int64
	// ClientSecretExpiresAt is 0: the secret never expires.
	ClientSecretExpiresAt int64
	ClientName            string
	RedirectURIs          []string
	GrantTypes            []string
	ResponseTypes         []string
	// Scope is the space-separated list the server stored.
	Scope     string
	ClientURI string
	LogoURI   string
	PolicyURI string
	TOSURI    string
}

const redacted = "[REDACTED]"

// redactedView is Registration with the two credentials replaced; it is
// what every printer sees.
// A defined type has none of Registration's methods, so printing it cannot
// recurse into Format; it keeps the field list in one place.
type redactedView Registration

func (r Registration) view() redactedView {
	v := redactedView(r)
	if v.ClientSecret != "" {
		v.ClientSecret = redacted
	}
	if v.RegistrationAccessToken != "" {
		v.RegistrationAccessToken = redacted
	}
	return v
}

// String implements fmt.Stringer without the credentials.
func (r Registration) String() string { return fmt.Sprintf("%+v", r.view()) }

// GoString implements fmt.GoStringer without the credentials.
func (r Registration) GoString() string {
	return "controlplane.Registration" + strings.TrimPrefix(fmt.Sprintf("%#v", r.view()), "controlplane.redactedView")
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s,
// %q, %x…) prints the redacted view.
func (r Registration) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, r.GoString())
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", r.view())
	case verb == 'v' || verb == 's':
		fmt.Fprintf(f, "%v", r.view())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), r.String())
	}
}

// LogValue implements slog.LogValuer without the credentials.
func (r Registration) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", r.ClientID),
		slog.String("client_name", r.ClientName),
		slog.String("scope", r.Scope),
		slog.Any("redirect_uris", r.RedirectURIs),
	)
}

// MarshalJSON writes the redacted view: a Registration serialised by
// accident (a log, a report) must not carry the secret.
func (r Registration) MarshalJSON() ([]byte, error) { return json.Marshal(r.view()) }

type wireRegistration struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientIDIssuedAt        float64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   float64  `json:"client_secret_expires_at"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	ClientURI               *string  `json:"client_uri"`
	LogoURI                 *string  `json:"logo_uri"`
	PolicyURI               *string  `json:"policy_uri"`
	TOSURI                  *string  `json:"tos_uri"`
}

func (w wireRegistration) toRegistration() *Registration {
	return &Registration{
		ClientID:                w.ClientID,
		ClientSecret:            w.ClientSecret,
		RegistrationAccessToken: w.RegistrationAccessToken,
		RegistrationClientURI:   w.RegistrationClientURI,
		ClientIDIssuedAt:        int64(w.ClientIDIssuedAt),
		ClientSecretExpiresAt:   int64(w.ClientSecretExpiresAt),
		ClientName:              w.ClientName,
		RedirectURIs:            w.RedirectURIs,
		GrantTypes:              w.GrantTypes,
		ResponseTypes:           w.ResponseTypes,
		Scope:                   w.Scope,
		ClientURI:               deref(w.ClientURI),
		LogoURI:                 deref(w.LogoURI),
		PolicyURI:               deref(w.PolicyURI),
		TOSURI:                  deref(w.TOSURI),
	}
}

// decodeStrict decodes one JSON value into out. Its errors name a byte
// offset or a field, never a value: the body may hold a secret.
func decodeStrict(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(out); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fmt.Errorf("invalid JSON at byte %d", syn.Offset)
		case errors.As(err, &typ):
			return fmt.Errorf("field %q has the wrong type (want %s)", typ.Field, typ.Type)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("truncated JSON")
		default:
			return errors.New("invalid JSON")
		}
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// optionalString decodes a field that may be absent (unknown), null
// (present, empty) or a string.
func optionalString(raw json.RawMessage) (string, bool, error) {
	if raw == nil {
		return "", false, nil
	}
	var p *string
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", false, errors.New("not a string")
	}
	return deref(p), true, nil
}

// parseTime accepts what control-plane databases produce: RFC 3339 (the
// server's toISOString), SQLite's "YYYY-MM-DD HH:MM:SS[.fff]" in UTC, or
// epoch seconds (milliseconds when the number is too large for seconds) as
// a number or a numeric string. Absent or null gives the zero time.
func parseTime(raw json.RawMessage) (time.Time, error) {
	if raw == nil || string(raw) == "null" {
		return time.Time{}, nil
	}
	var n json.Number
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		if err := json.Unmarshal(raw, &n); err != nil {
			return time.Time{}, errors.New("not a timestamp")
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return time.Time{}, errors.New("not a timestamp")
		}
		if f > 1e11 { // after year 5138 in seconds: it is milliseconds
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unrecognised timestamp format")
}

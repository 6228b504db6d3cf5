package manifest

import "github.com/takos-dev/takos-apply/internal/jsonptr"

// OAuth is the desired OAuth client of spec.oauth. Fields of the wrong type
// are left empty: the schema has already reported them.
type OAuth struct {
	ClientName   string
	RedirectURIs []string
	Scopes       []string
	AutoEnv      bool
	// AutoEnvSet says spec.oauth.autoEnv is a boolean in the manifest:
	// false then means "store the credentials in Takos, link nothing",
	// while an absent autoEnv asks for nothing in Takos.
	AutoEnvSet bool
	LogoURI    string
	TOSURI     string
	PolicyURI  string
}

// Pointers of the spec.oauth fields, shared by lint rules and OAuth (which
// apply reads), so that a finding about a field and the value applied come
// from the same place.
const (
	PtrOAuth        = "/spec/oauth"
	PtrClientName   = "/spec/oauth/clientName"
	PtrRedirectURIs = "/spec/oauth/redirectUris"
	PtrScopes       = "/spec/oauth/scopes"
	PtrAutoEnv      = "/spec/oauth/autoEnv"
	PtrLogoURI      = "/spec/oauth/metadata/logoUri"
	PtrTOSURI       = "/spec/oauth/metadata/tosUri"
	PtrPolicyURI    = "/spec/oauth/metadata/policyUri"
)

// Get returns the value at the JSON pointer ptr.
func (d *Document) Get(ptr string) (any, bool) {
	return Lookup(d.Value, ptr)
}

// Lookup returns the value at ptr inside a JSON-shaped value.
func Lookup(v any, ptr string) (any, bool) { return jsonptr.Lookup(v, jsonptr.Split(ptr)) }

// String returns the string at ptr, or "" when it is absent or not a string.
func (d *Document) String(ptr string) string {
	v, _ := d.Get(ptr)
	s, _ := v.(string)
	return s
}

// Strings returns the string elements of the sequence at ptr, skipping
// elements of other types.
func (d *Document) Strings(ptr string) []string {
	v, _ := d.Get(ptr)
	seq, _ := v.([]any)
	var out []string
	for _, e := range seq {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// OAuth returns spec.oauth, or false when the manifest declares no OAuth
// client (absent, null or not a mapping).
func (d *Document) OAuth() (*OAuth, bool) {
	v, _ := d.Get(PtrOAuth)
	if _, ok := v.(map[string]any); !ok {
		return nil, false
	}
	auto, _ := d.Get(PtrAutoEnv)
	b, set := auto.(bool)
	return &OAuth{
		ClientName:   d.String(PtrClientName),
		RedirectURIs: d.Strings(PtrRedirectURIs),
		Scopes:       d.Strings(PtrScopes),
		AutoEnv:      b,
		AutoEnvSet:   set,
		LogoURI:      d.String(PtrLogoURI),
		TOSURI:       d.String(PtrTOSURI),
		PolicyURI:    d.String(PtrPolicyURI),
	}, true
}

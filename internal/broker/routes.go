package broker

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

// scope is the check a route makes beyond its capability, against the
// rule's spaces and clients.
type scope int

const (
	scopeNone          scope = iota
	scopeSpacePath           // {space} ("me" too) is a permitted space
	scopeServicePath         // {service} belongs to a permitted space
	scopeSpaceList           // the reply lists only permitted spaces
	scopeServiceCreate       // the body's space_id (blank: the personal space) is permitted
	scopeClientList          // the reply lists only permitted clients
	scopeClientCreate        // the body's client_name is permitted
	scopeClientPath          // {client} is a permitted client, and so is a new client_name
)

// route is one request the gateway forwards: a method, a path pattern
// whose {name} segments are ids, the capability it needs and its scope
// check. body says whether it takes a JSON body.
type route struct {
	method  string
	pattern string
	cap     string
	scope   scope
	body    bool
}

// routes is everything the gateway forwards: the requests takos-apply
// makes (internal/controlplane) and nothing else. A request no row
// matches is refused, whatever the rule: the PAT routes, /api/me itself,
// repositories, apps, billing.
var routes = []route{
	{"GET", "/api/me/oauth/clients", CapClientsRead, scopeClientList, false},
	{"POST", "/api/me/oauth/clients", CapClientsWrite, scopeClientCreate, true},
	{"PATCH", "/api/me/oauth/clients/{client}", CapClientsWrite, scopeClientPath, true},
	{"DELETE", "/api/me/oauth/clients/{client}", CapClientsWrite, scopeClientPath, false},

	{"GET", "/api/spaces", CapEnvRead, scopeSpaceList, false},
	// A space by id, or "me" (the deploy account's personal space, which
	// this also creates): takos-apply --space reads the caller's role here.
	{"GET", "/api/spaces/{space}", CapEnvRead, scopeSpacePath, false},
	{"GET", "/api/spaces/{space}/common-env", CapEnvRead, scopeSpacePath, false},
	{"PUT", "/api/spaces/{space}/common-env", CapEnvWrite, scopeSpacePath, true},
	{"DELETE", "/api/spaces/{space}/common-env/{name}", CapEnvWrite, scopeSpacePath, false},
	{"GET", "/api/spaces/{space}/groups", CapEnvRead, scopeSpacePath, false},
	{"POST", "/api/spaces/{space}/groups", CapEnvWrite, scopeSpacePath, true},
	{"GET", "/api/spaces/{space}/groups/{group}/services", CapEnvRead, scopeSpacePath, false},

	{"GET", "/api/services/space/{space}", CapEnvRead, scopeSpacePath, false},
	{"POST", "/api/services", CapEnvWrite, scopeServiceCreate, true},
	{"GET", "/api/services/{service}/common-env-links", CapEnvRead, scopeServicePath, false},
	{"PATCH", "/api/services/{service}/common-env-links", CapEnvWrite, scopeServicePath, true},
	{"PUT", "/api/services/{service}/common-env-links", CapEnvWrite, scopeServicePath, true},
	{"GET", "/api/services/{service}/deployments", CapEnvRead, scopeServicePath, false},
	{"GET", "/api/services/{service}/deployments/{deployment}", CapEnvRead, scopeServicePath, false},
}

// segment is what a path segment may be: the ids and names Takos routes
// take (client ids ^[A-Za-z0-9_-]{1,128}$, space, group and service ids,
// env names) and the literal parts. No '.', '%', '\', ';' or ':' can
// occur, so there is nothing to decode or clean: "..", "%2e%2e" and
// "%2f" are refused, not interpreted.
var segment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`) })

// errPath is a path that is not in canonical form.
var errPath = errors.New("the path is not canonical: the gateway takes /api/ paths of ids and names made of letters, digits, '_' and '-', with no empty segment, trailing '/', '.' or '..' segment, or %-escape")

// splitPath returns the segments of a raw request path, refusing anything
// but the canonical form.
func splitPath(raw string) ([]string, error) {
	if !strings.HasPrefix(raw, "/") || len(raw) > 1024 {
		return nil, errPath
	}
	segs := strings.Split(raw[1:], "/")
	for _, s := range segs {
		if !segment().MatchString(s) {
			return nil, errPath
		}
	}
	return segs, nil
}

// match is a route matched by a request, with its path variables.
type match struct {
	route *route
	vars  map[string]string
}

// lookup finds the routes whose pattern fits segs: the one for method,
// and whether the path is served at all (for another method).
func lookup(method string, segs []string) (m *match, pathKnown bool, ambiguous bool) {
	var found []*match
	for i := range routes {
		r := &routes[i]
		vars, ok := fit(r.pattern, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if r.method == method {
			found = append(found, &match{route: r, vars: vars})
		}
	}
	switch len(found) {
	case 0:
		return nil, pathKnown, false
	case 1:
		return found[0], true, false
	}
	// Two patterns fit, e.g. /api/services/space/common-env-links: a
	// service id "space" or a space id "common-env-links". Takos issues
	// neither; refusing is safer than guessing which route it takes.
	return nil, true, true
}

func fit(pattern string, segs []string) (map[string]string, bool) {
	pat := strings.Split(pattern[1:], "/")
	if len(pat) != len(segs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range pat {
		if strings.HasPrefix(p, "{") {
			vars[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

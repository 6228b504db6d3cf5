// The model of the Takos server's own checks (validateRedirectUris).

package redirecturi

import (
	"strconv"
	"strings"
)

// takosRejectReason models the remaining checks of the Takos server's
// validateRedirectUris (tako0614/takos
// packages/control/src/application/services/oauth/client.ts@7d63ea66):
// https unless the host is a loopback name, no non-empty fragment, a port
// the WHATWG parser accepts. Check calls it only when no error was found,
// as a safety net guaranteeing that a URI without errors is accepted.
func takosRejectReason(scheme string, p *uriParts) string {
	special := isSpecialScheme(scheme)
	switch {
	case special && (!p.hasAuthority || p.host == ""):
		return "the WHATWG URL parser finds no host; write https://host/path"
	case p.hostErr != "":
		return "the WHATWG URL parser cannot parse the host"
	case p.hasPort && p.port != "" && (!allDigits(p.port) || len(p.port) > 5 || atoi(p.port) > 65535):
		return "the WHATWG URL parser rejects the port; use a number from 1 to 65535"
	case !strings.EqualFold(scheme, "https") && !takosLoopbackHost(p.host, special):
		return "it must use https unless the host is localhost, *.localhost, 127.0.0.1 or [::1]"
	case p.fragment != "":
		return "fragments are not allowed; remove everything from '#'"
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

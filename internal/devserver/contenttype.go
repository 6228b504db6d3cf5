package devserver

import (
	"net/http"
	"strings"
)

// apiContentTypes is the allowedTypes list createApiRouter gives
// validateContentType for every /api route.
var apiContentTypes = []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}

// checkContentType is validateContentType (middleware/content-type.ts) as
// /api mounts it: a POST, PUT or PATCH whose Content-Length header is
// present and not "0" must carry an allowed media type, compared without
// parameters and case. Its refusals are flat objects, unlike the /api
// error envelope. A body sent without Content-Length (chunked) passes, as
// it does on the real server, which only looks at the header.
//
// The missing-header refusal's shape is taken to be flat like the
// verified Unsupported Content-Type one.
func checkContentType(r *http.Request) (reply, bool) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return reply{}, true
	}
	if cl := r.Header.Get("Content-Length"); cl == "" || cl == "0" {
		return reply{}, true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return jsonReply(http.StatusUnsupportedMediaType, map[string]any{
			"error": "Missing Content-Type header",
			"code":  "MISSING_CONTENT_TYPE",
		}), false
	}
	base, _, _ := strings.Cut(ct, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	for _, allowed := range apiContentTypes {
		if base == allowed {
			return reply{}, true
		}
	}
	return jsonReply(http.StatusUnsupportedMediaType, map[string]any{
		"error":   "Unsupported Content-Type: " + base,
		"code":    "UNSUPPORTED_CONTENT_TYPE",
		"allowed": apiContentTypes,
	}), false
}

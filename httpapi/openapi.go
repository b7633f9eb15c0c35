package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/offramp/offramp/httpapi/openapi"
)

// openAPIETag is the strong ETag of the embedded document: it changes only
// with the binary.
var openAPIETag = func() string {
	sum := sha256.Sum256(openapi.Document)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}()

// serveOpenAPI serves the OpenAPI 3.1 document of this API. Like /healthz it
// is unsigned; it is cacheable, and revalidates with If-None-Match.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	if etagMatches(r.Header.Get("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.Document)
}

// etagMatches reports whether an If-None-Match header lists etag (or is *).
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}

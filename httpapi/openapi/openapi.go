// Package openapi holds the OpenAPI 3.1 document of Offramp's HTTP API.
//
// openapi.json is maintained by hand: it is the contract, not derived from
// the code. The httpapi test suite keeps it true: every request and
// response the suite makes is validated against it (see
// httpapi/main_test.go), and httpapi/openapi_test.go checks that every
// documented operation is routed and every route is documented.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 document, as served at GET /openapi.json.
//
//go:embed openapi.json
var Document []byte

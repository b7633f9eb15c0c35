package httpapi

import (
	"net/http"
	"net/netip"

	"github.com/offramp/offramp"
)

// MsgIPNotAllowed answers a request from outside the organization's IP
// allowlist.
const MsgIPNotAllowed = "Your IP address is not allowed for this API key."

// checkIPAllowed refuses a request of org (authenticated: its signature
// verified) from an address outside org's IP allowlist, with a 403
// (ip_not_allowed); an empty allowlist allows every address. Call it once
// the organization is known and the signature verified, before the replay
// check and before the request counts as a use of the key: a caller
// without the secret then learns nothing about the allowlist (a bad
// signature is a 401 wherever it comes from), and a refused request costs
// no write.
//
// The address is the connection's peer (clientAddr). The refusal is logged
// with the address seen, which is what an operator needs to fix a list;
// the caller is not told it (behind a proxy it would be the proxy's).
func (s *Server) checkIPAllowed(r *http.Request, org offramp.Org) error {
	if len(org.IPAllowlist) == 0 {
		return nil
	}
	addr, ok := clientAddr(r)
	if ok && org.IPAllowed(addr) {
		return nil
	}
	s.log.WarnContext(r.Context(), "request refused: the address is not in the organization's IP allowlist",
		"request_id", requestID(r.Context()), "org_id", org.ID.String(), "remote_addr", r.RemoteAddr)
	return &offramp.Error{Code: offramp.CodeIPNotAllowed, Message: MsgIPNotAllowed,
		Fields: map[string][]string{"ip_address": {MsgIPNotAllowed}}}
}

// clientAddr is the address a request came from: the TCP peer. Offramp has
// no trusted-proxy setting, so X-Forwarded-For, Forwarded and X-Real-IP
// are not read: any client can write them, and believing them would let
// anyone past the allowlist. Not ok when RemoteAddr is not an address and
// port (a test's request, a unix socket), which no allowlist admits.
func clientAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr(), true
}

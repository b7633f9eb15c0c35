package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"github.com/offramp/offramp"
)

// The sandbox hosted-KYC page: where a real deployment would run document,
// PAN and liveness checks, a tester approves or rejects.
var kycPageTmpl = template.Must(template.New("kyc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Offramp sandbox KYC</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1d2433}
.card{border:1px solid #d5dae3;border-radius:8px;padding:1.5rem}
.badge{display:inline-block;background:#fff4d6;border:1px solid #e8c66a;border-radius:4px;padding:.1rem .5rem;font-size:.8rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:6px;border:0;cursor:pointer;margin-right:.5rem}
.approve{background:#1f7a44;color:#fff}.reject{background:#b3261e;color:#fff}
select{font-size:1rem;padding:.4rem;margin:.5rem 0 1rem}
dt{font-weight:600;margin-top:.5rem}
</style></head><body><div class="card">
<span class="badge">Sandbox</span>
<h1>KYC verification</h1>
{{if .Done}}
<p id="result">KYC for <strong>{{.Name}}</strong> is now <strong id="status">{{.Status}}</strong>{{if .Reason}} ({{.Reason}}){{end}}.</p>
{{if .Redirect}}<p><a id="continue" href="{{.Redirect}}">Return to the exchange</a></p>{{end}}
{{else}}
<dl><dt>Customer</dt><dd>{{.Name}}</dd><dt>Current status</dt><dd id="status">{{.Status}}</dd></dl>
<p>No documents are checked in the sandbox. Choose the outcome the exchange should see.</p>
<form method="post">
<button class="approve" name="decision" value="approve" id="approve">Approve</button>
<div><label for="reason">Rejection reason</label><br>
<select name="reason" id="reason">
<option>KYC_FAILED</option><option>DOCUMENT_VERIFICATION_FAILED</option>
<option>TAX_VERIFICATION_FAILED</option><option>SELFIE_VERIFICATION_FAILED</option></select></div>
<button class="reject" name="decision" value="reject" id="reject">Reject</button>
</form>
{{end}}
</div></body></html>`))

type kycPageData struct {
	Name, Status, Reason string
	Redirect             string
	Done                 bool
}

func (s *Server) kycPage(w http.ResponseWriter, r *http.Request) {
	_, c, err := s.svc.OpenKYCLink(r.Context(), r.PathValue("token"))
	if err != nil {
		http.Error(w, "This KYC link is invalid or has expired.", http.StatusNotFound)
		return
	}
	s.renderKYC(w, kycPageData{Name: c.FullName, Status: string(c.Status)})
}

func (s *Server) kycDecision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return
	}
	c, link, err := s.svc.DecideKYCLink(r.Context(), r.PathValue("token"), r.PostForm.Get("decision") == "approve", r.PostForm.Get("reason"))
	if err != nil {
		var e *offramp.Error
		if !errors.As(err, &e) || e.Code == offramp.CodeInternal {
			s.log.ErrorContext(r.Context(), "kyc decision", "request_id", requestID(r.Context()), "err", err)
			http.Error(w, offramp.MsgInternal, http.StatusInternalServerError)
			return
		}
		http.Error(w, e.Message, http.StatusBadRequest)
		return
	}
	redirect := ""
	if u, err := url.Parse(link.RedirectURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		q := u.Query()
		q.Set("customer_id", c.ID.String())
		q.Set("status", string(c.Status))
		u.RawQuery = q.Encode()
		redirect = u.String()
	}
	s.renderKYC(w, kycPageData{Name: c.FullName, Status: string(c.Status), Reason: c.FailureReason, Redirect: redirect, Done: true})
}

func (s *Server) renderKYC(w http.ResponseWriter, d kycPageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("X-Frame-Options", "DENY")
	if err := kycPageTmpl.Execute(w, d); err != nil {
		s.log.Error("render kyc page", "err", err)
	}
}

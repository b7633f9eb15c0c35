package httpapi

import (
	"net/http"

	"github.com/offramp/offramp/service"
)

type bankRequest struct {
	CustomerID    flexString `json:"customer_id"`
	AccountNumber flexString `json:"account_number"`
	IFSC          flexString `json:"ifsc"`
	IFSCCode      flexString `json:"ifsc_code"` // older reference name
	AccountName   flexString `json:"account_name"`
	VPA           flexString `json:"vpa"`
	BankID        flexString `json:"bank_id"`
	BankStatus    flexString `json:"bank_status"`
	FailureReason flexString `json:"failure_reason"`
}

func (s *Server) createBank(r *http.Request, body []byte) (int, any, error) {
	var req bankRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	ifsc := req.IFSC
	if ifsc == "" {
		ifsc = req.IFSCCode
	}
	b, err := s.svc.CreateBank(r.Context(), orgFrom(r.Context()).ID, service.CreateBankInput{
		CustomerID:    string(req.CustomerID),
		AccountNumber: string(req.AccountNumber),
		IFSC:          string(ifsc),
		AccountName:   string(req.AccountName),
		VPA:           string(req.VPA),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, bankWire(b), nil
}

func (s *Server) getBank(r *http.Request, _ []byte) (int, any, error) {
	b, err := s.svc.Bank(r.Context(), orgFrom(r.Context()).ID, r.PathValue("customer_id"), r.PathValue("bank_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, bankWire(b), nil
}

func (s *Server) listBanks(r *http.Request, _ []byte) (int, any, error) {
	p, err := pageParams(r)
	if err != nil {
		return 0, nil, err
	}
	list, total, err := s.svc.ListBanks(r.Context(), orgFrom(r.Context()).ID, r.PathValue("customer_id"), p)
	if err != nil {
		return 0, nil, err
	}
	out := make([]bankJSON, 0, len(list))
	for _, b := range list {
		out = append(out, bankWire(b))
	}
	return http.StatusOK, pageOf(r, p, total, list, out), nil
}

func (s *Server) mockBankVerification(r *http.Request, body []byte) (int, any, error) {
	var req bankRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	b, err := s.svc.MockBankVerification(r.Context(), orgFrom(r.Context()).ID,
		string(req.CustomerID), string(req.BankID), string(req.BankStatus), string(req.FailureReason))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, bankWire(b), nil
}

type webhookRequest struct {
	WebhookURL flexString `json:"webhook_url"`
	URL        flexString `json:"url"` // the sandbox guide's spelling
}

func (s *Server) configureWebhook(r *http.Request, body []byte) (int, any, error) {
	var req webhookRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	u := req.WebhookURL
	if u == "" {
		u = req.URL
	}
	// The audit log names the caller by the key that signed the request.
	org := orgFrom(r.Context())
	stored, err := s.svc.SetWebhookURL(r.Context(), org.ID, string(u), "api:"+org.APIKey)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, stored, nil
}

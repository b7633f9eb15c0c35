package httpapi

import (
	"net/http"

	"github.com/offramp/offramp/service"
)

type createCustomerRequest struct {
	FullName           flexString `json:"full_name"`
	Email              flexString `json:"email"`
	Phone              flexString `json:"phone"`
	Alpha3CountryCode  flexString `json:"alpha_3_country_code"`
	Country            flexString `json:"country"` // older shape
	ClientReferenceID  flexString `json:"client_reference_id"`
	NonResidenceStatus flexBool   `json:"non_residence_status"`
	ResidenceCountry   flexString `json:"residence_alpha_3_country_code"`
}

func (s *Server) createCustomer(r *http.Request, body []byte) (int, any, error) {
	var req createCustomerRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	country := req.Alpha3CountryCode
	if country == "" {
		country = req.Country
	}
	c, err := s.svc.CreateCustomer(r.Context(), orgFrom(r.Context()).ID, service.CreateCustomerInput{
		FullName:           string(req.FullName),
		Email:              string(req.Email),
		Phone:              string(req.Phone),
		Country:            string(country),
		ClientReferenceID:  string(req.ClientReferenceID),
		NonResidenceStatus: req.NonResidenceStatus.Value,
		ResidenceCountry:   string(req.ResidenceCountry),
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, customerWire(c), nil
}

func (s *Server) getCustomer(r *http.Request, _ []byte) (int, any, error) {
	c, err := s.svc.Customer(r.Context(), orgFrom(r.Context()).ID, r.PathValue("customer_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, customerWire(c), nil
}

func (s *Server) listCustomers(r *http.Request, _ []byte) (int, any, error) {
	p, err := pageParams(r)
	if err != nil {
		return 0, nil, err
	}
	list, total, err := s.svc.ListCustomers(r.Context(), orgFrom(r.Context()).ID, p)
	if err != nil {
		return 0, nil, err
	}
	out := make([]customerJSON, 0, len(list))
	for _, c := range list {
		out = append(out, customerWire(c))
	}
	return http.StatusOK, pageOf(r, p, total, list, out), nil
}

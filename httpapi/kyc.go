package httpapi

import (
	"net/http"

	"github.com/offramp/offramp/service"
)

type documentDetails struct {
	DocumentNumber flexString     `json:"document_number"`
	AdditionalData map[string]any `json:"additional_data"`
}

type kycRequest struct {
	CustomerID               flexString      `json:"customer_id"`
	FullName                 flexString      `json:"full_name"`
	Phone                    flexString      `json:"phone"`
	FullAddress              flexString      `json:"full_address"`
	DOB                      flexString      `json:"dob"`
	RegisteredDate           flexString      `json:"registered_date"`
	TaxNumber                flexString      `json:"tax_number"`
	DocumentType             flexString      `json:"document_type"`
	DocumentFrontImageURL    flexString      `json:"document_front_image_url"`
	DocumentBackImageURL     flexString      `json:"document_back_image_url"`
	DocumentDetails          documentDetails `json:"document_details"`
	SelfieURL                flexString      `json:"selfie_url"`
	SelfieVerificationStatus flexBool        `json:"selfie_verification_status"`
	AdditionalInfo           map[string]any  `json:"additional_info"`
	KYCStatus                flexString      `json:"kyc_status"`
	RedirectURL              flexString      `json:"redirect_url"`
}

func (k kycRequest) input() service.KYCInput {
	return service.KYCInput{
		CustomerID:               string(k.CustomerID),
		FullName:                 string(k.FullName),
		Phone:                    string(k.Phone),
		FullAddress:              string(k.FullAddress),
		DOB:                      string(k.DOB),
		RegisteredDate:           string(k.RegisteredDate),
		TaxNumber:                string(k.TaxNumber),
		DocumentType:             string(k.DocumentType),
		DocumentFrontImageURL:    string(k.DocumentFrontImageURL),
		DocumentBackImageURL:     string(k.DocumentBackImageURL),
		DocumentNumber:           string(k.DocumentDetails.DocumentNumber),
		DocumentAdditionalData:   k.DocumentDetails.AdditionalData,
		SelfieURL:                string(k.SelfieURL),
		SelfieVerificationStatus: k.SelfieVerificationStatus.ptr(),
		AdditionalInfo:           k.AdditionalInfo,
	}
}

func (s *Server) kycConfiguration(r *http.Request, _ []byte) (int, any, error) {
	cfg, err := s.svc.KYCConfig(r.Context(), orgFrom(r.Context()).ID, r.PathValue("customer_id"))
	if err != nil {
		return 0, nil, err
	}
	info := map[string]any{
		"options": cfg.AdditionalInfoOptions,
		"rules":   map[string]any{"type": cfg.AdditionalInfoRule, "min_required": cfg.AdditionalInfoMin},
	}
	for _, o := range cfg.AdditionalInfoOptions {
		info[o] = map[string]any{"type": "string", "required": true}
	}
	return http.StatusOK, map[string]any{
		"supported_document_types": cfg.SupportedDocumentTypes,
		"additional_info_required": info,
		"is_tax_required":          cfg.IsTaxRequired,
	}, nil
}

func (s *Server) addKYC(r *http.Request, body []byte) (int, any, error) {
	var req kycRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	c, err := s.svc.AddKYC(r.Context(), orgFrom(r.Context()).ID, req.input())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, kycStatusWire(c), nil
}

// updateKYC serves the four update-* endpoints.
func (s *Server) updateKYC(kind service.KYCUpdate) handlerFunc {
	return func(r *http.Request, body []byte) (int, any, error) {
		var req kycRequest
		if err := decode(body, &req); err != nil {
			return 0, nil, err
		}
		c, err := s.svc.UpdateKYC(r.Context(), orgFrom(r.Context()).ID, kind, req.input())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, kycStatusWire(c), nil
	}
}

func (s *Server) resetKYC(r *http.Request, body []byte) (int, any, error) {
	var req kycRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	c, err := s.svc.ResetKYC(r.Context(), orgFrom(r.Context()).ID, string(req.CustomerID))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, kycStatusWire(c), nil
}

func (s *Server) mockKYCStatus(r *http.Request, body []byte) (int, any, error) {
	var req kycRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	c, err := s.svc.MockKYCStatus(r.Context(), orgFrom(r.Context()).ID, string(req.CustomerID), string(req.KYCStatus))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, kycStatusWire(c), nil
}

func (s *Server) generateKYCLink(r *http.Request, body []byte) (int, any, error) {
	var req kycRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	link, err := s.svc.GenerateKYCLink(r.Context(), orgFrom(r.Context()).ID, string(req.CustomerID), string(req.RedirectURL))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"customer_id": link.CustomerID.String(),
		"url":         s.baseURL(r) + "/sandbox/kyc/" + link.Token,
		"is_mocked":   true,
		"expiry_time": fmtTime(link.ExpiresAt),
	}, nil
}

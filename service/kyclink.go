package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// kycLinkTTL is how long a hosted-KYC link stays usable.
const kycLinkTTL = 24 * time.Hour

// KYCLink is a hosted KYC session for one customer.
type KYCLink struct {
	CustomerID  uuid.UUID
	Token       string
	RedirectURL string
	ExpiresAt   time.Time
}

// GenerateKYCLink creates a link to Offramp's hosted KYC page. In sandbox the
// page lets a tester approve or reject; the token is an HMAC over the
// organization, the customer, the redirect and the expiry, so it needs no
// table and cannot be forged or pointed at another customer.
func (s *Service) GenerateKYCLink(ctx context.Context, orgID uuid.UUID, customerID, redirectURL string) (KYCLink, error) {
	var v offramp.Validation
	v.Required("customer_id", customerID)
	checkURL(&v, "redirect_url", strings.TrimSpace(redirectURL))
	if err := v.Err(); err != nil {
		return KYCLink{}, err
	}
	c, err := s.Customer(ctx, orgID, customerID)
	if err != nil {
		return KYCLink{}, err
	}
	if s.env != offramp.EnvSandbox {
		return KYCLink{}, offramp.Errorf(offramp.CodeRejected, "Hosted KYC needs a KYC partner, which is not configured in production")
	}
	exp := s.now().Add(kycLinkTTL).Truncate(time.Second)
	return KYCLink{CustomerID: c.ID, Token: s.linkToken(orgID, c.ID, strings.TrimSpace(redirectURL), exp), RedirectURL: strings.TrimSpace(redirectURL), ExpiresAt: exp}, nil
}

func (s *Service) linkToken(orgID, customerID uuid.UUID, redirect string, exp time.Time) string {
	var payload []byte
	payload = append(payload, orgID[:]...)
	payload = append(payload, customerID[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp.Unix()))
	payload = append(payload, redirect...)
	m := hmac.New(sha256.New, s.linkKey)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// OpenKYCLink checks a hosted-KYC token and returns its session.
func (s *Service) OpenKYCLink(ctx context.Context, token string) (KYCLink, offramp.Customer, error) {
	bad := offramp.Errorf(offramp.CodeNotFound, "This KYC link is invalid or has expired")
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return KYCLink{}, offramp.Customer{}, bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) < 40 {
		return KYCLink{}, offramp.Customer{}, bad
	}
	m := hmac.New(sha256.New, s.linkKey)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return KYCLink{}, offramp.Customer{}, bad
	}
	orgID, _ := uuid.FromBytes(payload[:16])
	customerID, _ := uuid.FromBytes(payload[16:32])
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload[32:40])), 0).UTC()
	if !s.now().Before(exp) {
		return KYCLink{}, offramp.Customer{}, bad
	}
	redirect := string(payload[40:])
	if _, err := url.Parse(redirect); err != nil {
		return KYCLink{}, offramp.Customer{}, bad
	}
	c, err := s.Customer(ctx, orgID, customerID.String())
	if err != nil {
		return KYCLink{}, offramp.Customer{}, bad
	}
	return KYCLink{CustomerID: customerID, Token: token, RedirectURL: redirect, ExpiresAt: exp}, c, nil
}

// DecideKYCLink records a tester's decision on the sandbox hosted-KYC page:
// approve makes the customer VERIFIED, reject makes it FAILED with reason.
func (s *Service) DecideKYCLink(ctx context.Context, token string, approve bool, reason string) (offramp.Customer, KYCLink, error) {
	if err := s.requireSandbox(); err != nil {
		return offramp.Customer{}, KYCLink{}, err
	}
	link, c, err := s.OpenKYCLink(ctx, token)
	if err != nil {
		return offramp.Customer{}, KYCLink{}, err
	}
	to := offramp.CustomerVerified
	if !approve {
		to = offramp.CustomerFailed
		switch reason {
		case offramp.ReasonDocumentVerificationFailed, offramp.ReasonTaxVerificationFailed,
			offramp.ReasonSelfieVerificationFailed, offramp.ReasonKYCFailed:
		default:
			reason = offramp.ReasonKYCFailed
		}
	} else {
		reason = ""
	}
	var out offramp.Customer
	err = s.store.Update(ctx, func(tx offramp.Tx) error {
		cur, err := tx.Customer(ctx, c.OrgID, c.ID)
		if err != nil {
			return err
		}
		if cur.Status == offramp.CustomerVerified || cur.Status == offramp.CustomerFailed {
			return offramp.Errorf(offramp.CodeRejected, "KYC for this customer is already %s", cur.Status)
		}
		// The hosted flow collects the KYC itself: pass through
		// PROCESSING so the history shows the submission.
		if cur.Status == offramp.CustomerUnverified {
			from := cur.Status
			cur.Status = offramp.CustomerProcessing
			cur.UpdatedAt = s.now()
			if err := tx.UpdateCustomer(ctx, cur, from); err != nil {
				return err
			}
			if err := s.customerEvent(ctx, tx, cur); err != nil {
				return err
			}
		}
		out, err = s.setCustomerStatus(ctx, tx, cur, to, reason)
		return err
	})
	return out, link, err
}

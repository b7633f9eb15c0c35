package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/offramp/offramp"
)

// flexString accepts a JSON string or number (amounts and ids arrive both
// ways from DollarPe-style clients) and keeps a number's literal text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("must be a string")
	}
	*f = flexString(n.String())
	return nil
}

// flexBool accepts true/false and the strings "true"/"false"/"True"/"False"
// (some DollarPe examples send booleans as Python-style strings). Set tells
// whether the field was present.
type flexBool struct {
	Set   bool
	Value bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = flexBool{}
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case bool:
		*f = flexBool{Set: true, Value: t}
		return nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			*f = flexBool{Set: true, Value: true}
			return nil
		case "false":
			*f = flexBool{Set: true, Value: false}
			return nil
		}
	}
	return errors.New("must be a boolean")
}

func (f flexBool) ptr() *bool {
	if !f.Set {
		return nil
	}
	v := f.Value
	return &v
}

// decode unmarshals a request body (already read and checked by the
// signature verifier) into dst, turning type errors into field errors.
func decode(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	err := json.Unmarshal(body, dst)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return offramp.Errorf(offramp.CodeInvalid, "The request body must be a JSON object.")
		}
		return offramp.FieldError(offramp.CodeInvalid, field, "Invalid type: expected "+te.Type.String()+".")
	}
	// Errors from flexString/flexBool name no field; report the message.
	return &offramp.Error{Code: offramp.CodeInvalid, Message: "JSON parse error - " + err.Error(), Fields: map[string][]string{"non_field_errors": {err.Error()}}}
}

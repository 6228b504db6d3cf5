package httpx

import "encoding/json"

// ErrorBody is what an error reply's JSON says, in the three shapes
// takos-apply meets: an OAuth error response (RFC 6749 §5.2: "error" code,
// "error_description"), which Takos' auth middleware also sends, sometimes
// with a sentence as the "error"; a nested error object, as the Takos API
// ({"error": {"code", "message"}}) and Google APIs
// (https://google.aip.dev/193: {"error": {"code": 403, "status",
// "message"}}) send; and a bare top-level "message". Values are raw text
// from the server: callers neutralise them (safetext) before printing.
type ErrorBody struct {
	// Error is "error" when it is a string.
	Error string
	// Description is "error_description".
	Description string
	// Code is error.code when it is a string (Takos); Google's is a
	// number, its name is in Status.
	Code string
	// Status is error.status (Google).
	Status string
	// Message is error.message.
	Message string
	// TopMessage is the top-level "message".
	TopMessage string
}

// ParseErrorBody decodes an error reply; ok is false when data is not a
// JSON object of one of these shapes.
func ParseErrorBody(data []byte) (b ErrorBody, ok bool) {
	var top struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Message          string          `json:"message"`
	}
	if json.Unmarshal(data, &top) != nil {
		return ErrorBody{}, false
	}
	b.Description, b.TopMessage = top.ErrorDescription, top.Message
	var nested struct {
		Code    json.RawMessage `json:"code"`
		Status  string          `json:"status"`
		Message string          `json:"message"`
	}
	switch {
	case json.Unmarshal(top.Error, &b.Error) == nil:
	case json.Unmarshal(top.Error, &nested) == nil:
		_ = json.Unmarshal(nested.Code, &b.Code) // a number stays ""
		b.Status, b.Message = nested.Status, nested.Message
	}
	return b, b != ErrorBody{}
}

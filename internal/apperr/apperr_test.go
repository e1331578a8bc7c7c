package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/evident-isms/evident/internal/apperr"
)

func TestCodesAndMessages(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.5:5432: password authentication failed")
	tests := []struct {
		name    string
		err     error
		code    apperr.Code
		message string
		field   string
	}{
		{"plain error is internal", secret, apperr.Internal, "An internal error occurred.", ""},
		{"wrapped is internal, text hidden", apperr.Wrap(secret, "load org"), apperr.Internal, "An internal error occurred.", ""},
		{"field error", apperr.Field("slug", "slug %q is taken", "acme"), apperr.Invalid, `slug "acme" is taken`, "slug"},
		{"through fmt wrapping", fmt.Errorf("create: %w", apperr.New(apperr.NotFound, "no such org")), apperr.NotFound, "no such org", ""},
		{"Wrap keeps an application error", apperr.Wrap(apperr.New(apperr.Conflict, "exists"), "x"), apperr.Conflict, "exists", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.CodeOf(tt.err); got != tt.code {
				t.Errorf("code %s, want %s", got, tt.code)
			}
			if got := apperr.MessageOf(tt.err); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
			if got := apperr.FieldOf(tt.err); got != tt.field {
				t.Errorf("field %q, want %q", got, tt.field)
			}
		})
	}
	if !errors.Is(apperr.Wrap(secret, "load"), secret) {
		t.Error("Wrap must keep the cause for errors.Is and the log")
	}
	if apperr.Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) must be nil")
	}
}

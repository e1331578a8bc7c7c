// Package apperr is the one application error type. Services return it for
// every failure a caller can act on; the web layer maps its code to HTTP in one
// place and never shows the text of an internal error.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error. The set is closed: callers switch on it.
type Code string

const (
	Invalid      Code = "invalid"
	NotFound     Code = "not_found"
	Forbidden    Code = "forbidden"
	Unauthorized Code = "unauthorized"
	Conflict     Code = "conflict"
	RateLimited  Code = "rate_limited"
	TooLarge     Code = "too_large" // a request body over a documented limit
	Internal     Code = "internal"
)

// Error is an application error: a code, a message safe to show to the user,
// and optionally the field it concerns and the underlying cause (never shown).
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Message
	}
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a message formatted for the user.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an invalid-input error about one named input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap marks err as internal; message says what was being done and is logged,
// never shown to a visitor.
func Wrap(err error, message string) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Code: Internal, Message: message, Err: err}
}

// CodeOf returns the code of err: Internal for anything that is not an *Error.
func CodeOf(err error) Code {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return Internal
}

// MessageOf returns the text that may be shown to a user for err. Internal
// errors get a generic sentence whatever they wrap.
func MessageOf(err error) string {
	var ae *Error
	if errors.As(err, &ae) && ae.Code != Internal && ae.Message != "" {
		return ae.Message
	}
	return "An internal error occurred."
}

// FieldOf returns the input field err concerns, or "".
func FieldOf(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Field
	}
	return ""
}

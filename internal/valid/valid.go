// Package valid holds the checks of user input that several domains share,
// so a title, a URL or a free text is held to the same rules everywhere.
// Each returns an *apperr.Error naming the field, ready for the form or the
// API problem.
package valid

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
)

// PlainText tells whether s is valid UTF-8 without control characters other
// than tab, line feed and carriage return (PostgreSQL refuses NUL in text,
// and no other control character belongs in a title).
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return false
		}
	}
	return true
}

// Text checks a user-written text of at most max characters; required
// refuses the empty text.
func Text(field, v string, max int, required bool) error {
	if required && v == "" || utf8.RuneCountInString(v) > max || !PlainText(v) {
		if required {
			return apperr.Field(field, "%s is required: text of 1 to %d characters", field, max)
		}
		return apperr.Field(field, "%s is text of at most %d characters", field, max)
	}
	return nil
}

// MaxURL is the longest URL a user may give.
const MaxURL = 2048

// URL checks an optional absolute URL with a host: https only when
// httpsOnly, else http or https. The empty string passes.
func URL(field, v string, httpsOnly bool) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	ok := err == nil && len(v) <= MaxURL && PlainText(v) && !strings.ContainsAny(v, " \t\r\n") && u.Host != "" &&
		(u.Scheme == "https" || u.Scheme == "http" && !httpsOnly)
	switch {
	case ok:
		return nil
	case httpsOnly:
		return apperr.Field(field, "%s must be an https URL of at most 2,048 characters", field)
	default:
		return apperr.Field(field, "%s must be an http(s) URL of at most 2,048 characters", field)
	}
}

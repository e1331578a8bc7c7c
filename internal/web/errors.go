package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
)

var (
	errNotFound         = &apperr.Error{Code: apperr.NotFound, Message: "There is nothing at this address."}
	errMethodNotAllowed = &apperr.Error{Code: apperr.Invalid, Message: "This address does not accept that method."}
	errTooLarge         = &apperr.Error{Code: apperr.Invalid, Message: "The request is too large."}
)

// messageKeys translate the web layer's own errors on HTML pages.
var messageKeys = map[*apperr.Error]string{
	errNotFound:         "error.not_found",
	errMethodNotAllowed: "error.method",
	errTooLarge:         "error.too_large",
}

// StatusOf maps an application error code to its HTTP status: the one place
// that does.
func StatusOf(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.RateLimited:
		return http.StatusTooManyRequests
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// Problem is an RFC 9457 problem document, the error body of the API.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// inputError turns a database refusal of the caller's own text (a NUL byte
// in an id, which PostgreSQL cannot store) into the caller's mistake, in one
// place rather than before every query that takes an id.
func inputError(err error) error {
	if apperr.CodeOf(err) == apperr.Internal && db.IsInvalidText(err) {
		return &apperr.Error{Code: apperr.Invalid, Message: "The request contains a character that is not allowed (a NUL byte).", Err: err}
	}
	return err
}

// Error answers a request with err: a problem document for API clients, an
// error page for browsers. An internal error is logged with the request id
// and shown only as a generic sentence with that id.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	info := InfoFrom(r.Context())
	var rd *redirect
	if errors.As(err, &rd) && !wantsProblem(r) {
		http.Redirect(w, r, rd.to, http.StatusSeeOther)
		return
	}
	if rd != nil {
		// An API client cannot follow a console redirect: it is not signed in.
		err = identity.ErrBadToken
	}
	if apperr.CodeOf(err) == apperr.Unauthorized && !wantsProblem(r) && strings.HasPrefix(r.URL.Path, "/app/") {
		next := "/app/"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/app/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	var tm *identity.TooMany
	if errors.As(err, &tm) {
		w.Header().Set("Retry-After", strconv.Itoa(int(tm.RetryAfter.Seconds())+1))
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = errTooLarge
	}
	err = inputError(err)
	code := apperr.CodeOf(err)
	status := StatusOf(code)
	switch {
	case err == errMethodNotAllowed:
		status = http.StatusMethodNotAllowed
	case err == errTooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	if code == apperr.Internal {
		info.logger().Error("internal error", "request_id", info.ID, "route", info.Route, "err", err.Error())
	}
	message := apperr.MessageOf(err)

	h := w.Header()
	h.Del("Content-Length")
	h.Set("Cache-Control", "no-store")
	if wantsProblem(r) {
		h.Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(Problem{
			Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: message,
			Code: string(code), Field: apperr.FieldOf(err), RequestID: info.ID,
		})
		return
	}
	lang := requestLang(r)
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if key, ok := messageKeys[ae]; ok {
			message = i18n.T(lang, key)
		}
	}
	renderStatus(w, r, status, "error", errorPage{Status: status, Message: message, RequestID: info.ID})
}

type errorPage struct {
	Status    int
	Message   string
	RequestID string
}

// wantsProblem tells API clients from browsers: the API lives under /api/,
// and a client that asks for JSON rather than HTML gets JSON anywhere.
func wantsProblem(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	accept := r.Header.Get("Accept")
	return !strings.Contains(accept, "text/html") &&
		(strings.Contains(accept, "application/json") || strings.Contains(accept, "application/problem+json"))
}

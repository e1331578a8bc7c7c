// Package web is Evident's HTTP layer: the route registry every route goes
// through, the middleware every response passes (request ids, logs, panic
// recovery, body limits, security headers, cross-origin protection), error
// rendering, templates and the server itself.
package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/evident-isms/evident/internal/identity"
)

// Permission is what a route requires of its caller (identity owns the
// names and the matrix). Every route declares one; a route with a
// permission the router has no check for is a programming error caught at
// start-up.
type Permission = identity.Permission

// Check decides whether a request may use routes of a permission. It returns
// nil to allow, or an *apperr.Error (unauthorized, forbidden, not found).
type Check func(r *http.Request) error

// Route is one registered route.
type Route struct {
	Method     string
	Pattern    string // path pattern, as for http.ServeMux
	Permission Permission
}

// Router registers routes with their permissions and serves them.
type Router struct {
	mux    *http.ServeMux
	routes []Route
	checks map[Permission]Check
}

// NewRouter returns an empty router knowing the Public permission.
func NewRouter() *Router {
	return &Router{mux: http.NewServeMux(), checks: map[Permission]Check{identity.Public: func(*http.Request) error { return nil }}}
}

// DefinePermission makes a permission known, with the check that guards it.
func (rt *Router) DefinePermission(p Permission, c Check) {
	rt.checks[p] = c
}

// Handle registers handler for method and pattern, guarded by perm. It panics
// on an unknown permission or a pattern registered twice: both are
// programming errors that must stop the server from starting.
func (rt *Router) Handle(method, pattern string, perm Permission, handler http.Handler) {
	check, ok := rt.checks[perm]
	if !ok {
		panic(fmt.Sprintf("web: route %s %s declares unknown permission %q", method, pattern, perm))
	}
	if method == "" || !strings.HasPrefix(pattern, "/") {
		panic(fmt.Sprintf("web: route %q %q: method and an absolute path pattern are required", method, pattern))
	}
	full := method + " " + pattern
	rt.mux.Handle(full, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := InfoFrom(r.Context())
		info.Route = full
		info.Permission = perm
		if err := check(r); err != nil {
			Error(w, r, err)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	rt.routes = append(rt.routes, Route{Method: method, Pattern: pattern, Permission: perm})
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(method, pattern string, perm Permission, handler http.HandlerFunc) {
	rt.Handle(method, pattern, perm, handler)
}

// Routes returns every registered route, in registration order.
func (rt *Router) Routes() []Route { return slices.Clone(rt.routes) }

var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// dispatch serves a request with the mux, answering unmatched requests with
// Evident's own 404 and 405 responses instead of the mux's plain text.
func (rt *Router) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := rt.mux.Handler(r); pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := rt.mux.Handler(probe); p != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		Error(w, r, errMethodNotAllowed)
		return
	}
	Error(w, r, errNotFound)
}

package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/evident-isms/evident/internal/audit"
)

// Info is what the middleware learns about a request, kept in its context
// and filled in as the request goes deeper (the route is known only once the
// mux has matched it), then logged.
type Info struct {
	ID         string
	Route      string // "METHOD /pattern", never the raw path: some paths carry tokens
	Permission Permission
	ClientIP   netip.Addr
	Lang       string
	Org        string // slug, once known
	User       string // id, once known
	Principal  *Principal
	Audit      *audit.Request // what audit events of this request record

	log *slog.Logger // the server's logger, for Error
	// body is the request body before the default size limit, for the few
	// routes that take more (uploads; see raiseBodyLimit).
	body io.ReadCloser
}

// raiseBodyLimit replaces the default limit on a request's body with n
// bytes. Only routes that stream large bodies (uploads) call it, after
// their permission check.
func raiseBodyLimit(w http.ResponseWriter, r *http.Request, n int64) {
	if info := InfoFrom(r.Context()); info.body != nil {
		r.Body = http.MaxBytesReader(w, info.body, n)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, n)
}

// logger returns the server's logger, or the default outside the middleware.
func (i *Info) logger() *slog.Logger {
	if i.log != nil {
		return i.log
	}
	return slog.Default()
}

type infoKey struct{}

// InfoFrom returns the request's Info; a blank one outside the middleware.
func InfoFrom(ctx context.Context) *Info {
	if i, ok := ctx.Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

func withInfo(ctx context.Context, i *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

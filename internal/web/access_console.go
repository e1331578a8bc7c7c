package web

import (
	"net/http"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/identity"
)

// Access requests in the console: what visitors of the trust center asked
// for among the restricted documents. Those who read confidential content
// see them (they hold people's names and addresses); those who publish to
// the trust center mark them handled or delete them.

func (s *Server) registerAccessConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/access-requests", identity.ConfidentialRead, s.accessRequestsPage)
	rt.HandleFunc("POST", "/app/o/{slug}/access-requests/{id}/handled", identity.ContentPublish, s.markAccessRequestHandled)
	rt.HandleFunc("POST", "/app/o/{slug}/access-requests/{id}/delete", identity.ContentPublish, s.deleteAccessRequest)
}

type accessRequestsPageData struct {
	Requests  []access.Request
	Open      int
	CanHandle bool
	Done      string // "handled" or "deleted" after a change
}

func (s *Server) accessRequestsPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	list, err := s.cfg.Access.List(r.Context(), p.Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	d := accessRequestsPageData{Requests: list, CanHandle: identity.Allowed(p.Role, identity.ContentPublish)}
	for _, req := range list {
		if req.State == access.Open {
			d.Open++
		}
	}
	switch done := r.URL.Query().Get("done"); done {
	case "handled", "deleted":
		d.Done = done
	}
	render(w, r, "access_requests", d)
}

func (s *Server) markAccessRequestHandled(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Access.MarkHandled(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, access.ConsolePath(p.Org.Slug)+"?done=handled")
}

func (s *Server) deleteAccessRequest(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Access.Delete(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, access.ConsolePath(p.Org.Slug)+"?done=deleted")
}

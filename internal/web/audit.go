package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
)

// parseAuditFilter reads the audit log filters shared by the console page
// and the API: actor, action, target_type, target_id, from, to (RFC 3339
// instants or YYYY-MM-DD dates, UTC), cursor and limit.
func parseAuditFilter(q url.Values) (audit.Filter, error) {
	f := audit.Filter{
		Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		TargetType: strings.TrimSpace(q.Get("target_type")), TargetID: strings.TrimSpace(q.Get("target_id")),
	}
	for name, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target_type": f.TargetType, "target_id": f.TargetID} {
		if len(v) > 100 {
			return f, apperr.Field(name, "%s is at most 100 characters", name)
		}
	}
	var err error
	if f.From, err = parseInstant(q.Get("from"), "from"); err != nil {
		return f, err
	}
	if f.To, err = parseInstant(q.Get("to"), "to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, apperr.Field("to", "the end of the period must come after its start")
	}
	if c := q.Get("cursor"); c != "" {
		if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before < 1 {
			return f, apperr.Field("cursor", "the cursor is the next_cursor of a previous page")
		}
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil {
			return f, apperr.Field("limit", "the page size is a number from 1 to %d", audit.MaxListLimit)
		}
	}
	return f, nil
}

func parseInstant(s, field string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := clock.ParseDate(s, time.UTC); err == nil {
		return d, nil
	}
	return time.Time{}, apperr.Field(field, "%q is neither a date (2026-11-23) nor an instant (2026-11-23T10:00:00Z)", s)
}

// ---- API ------------------------------------------------------------------

type auditListInput struct {
	Actor      string `query:"actor" maxLength:"100" doc:"A user or API token id."`
	Action     string `query:"action" maxLength:"100" doc:"An action (membership.role_change), or a resource and a dot (membership.) for all its actions."`
	TargetType string `query:"target_type" maxLength:"100"`
	TargetID   string `query:"target_id" maxLength:"100" doc:"With target_type."`
	From       string `query:"from" doc:"From this instant (RFC 3339) or date (UTC), included."`
	To         string `query:"to" doc:"Until this instant or date, excluded."`
	Cursor     string `query:"cursor" doc:"The next_cursor of the previous page."`
	Limit      string `query:"limit" doc:"Page size, 1 to 200; default 50."`
}

type auditListOutput struct {
	Body struct {
		Items      []audit.Item `json:"items" doc:"Newest first."`
		NextCursor int64        `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
	}
}

func (s *Server) registerAuditAPI(api huma.API) {
	operation(api, identity.AuditRead, huma.Operation{OperationID: "list-audit-events", Method: http.MethodGet, Path: "/audit-events",
		Summary: "Read the organisation's audit log", Tags: []string{"Audit"},
		Description: "Entries of the organisation's hash chain, newest first. Personal data is shown while it is kept " +
			"(13 months by default); after that only its commitment stays in the chain."},
		func(ctx context.Context, in *auditListInput) (*auditListOutput, error) {
			f, err := parseAuditFilter(url.Values{"actor": {in.Actor}, "action": {in.Action}, "target_type": {in.TargetType},
				"target_id": {in.TargetID}, "from": {in.From}, "to": {in.To}, "cursor": {in.Cursor}, "limit": {in.Limit}})
			if err != nil {
				return nil, err
			}
			items, next, err := s.cfg.Audit.List(ctx, apiPrincipal(ctx).Org.ID, f)
			if err != nil {
				return nil, err
			}
			out := &auditListOutput{}
			out.Body.Items, out.Body.NextCursor = nonNil(items), next
			return out, nil
		})
}

// ---- console --------------------------------------------------------------

type auditPageData struct {
	Form    form
	Items   []audit.Item
	Filter  url.Values
	NextURL string
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := r.URL.Query()
	values := map[string]string{}
	for _, k := range []string{"actor", "action", "target_type", "target_id", "from", "to"} {
		values[k] = q.Get(k)
	}
	f, err := parseAuditFilter(q)
	var items []audit.Item
	var next int64
	if err == nil {
		items, next, err = s.cfg.Audit.List(r.Context(), p.Org.ID, f)
	}
	if err != nil {
		renderForm(w, r, "audit", err, func(fm form) any { return auditPageData{Form: fm} }, values)
		return
	}
	data := auditPageData{Form: form{Values: values}, Items: items}
	if next > 0 {
		nq := url.Values{}
		for k, v := range values {
			if v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("cursor", strconv.FormatInt(next, 10))
		data.NextURL = "/app/o/" + p.Org.Slug + "/audit?" + nq.Encode()
	}
	render(w, r, "audit", data)
}

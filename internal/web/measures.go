package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
)

// Technical and organisational measures: API, console pages and the annex.

type measureBody struct {
	Category    string             `json:"category" maxLength:"50" doc:"A category key (see /measures/categories) or custom."`
	Custom      string             `json:"custom_category,omitempty" maxLength:"100"`
	Title       string             `json:"title" minLength:"1" maxLength:"200"`
	Description string             `json:"description,omitempty" maxLength:"10000"`
	Visibility  control.Visibility `json:"visibility,omitempty" enum:"public,private" doc:"Default private; public measures form the annex."`
	ControlIDs  []string           `json:"control_ids,omitempty" maxItems:"100"`
}

func (b measureBody) input() measure.Input {
	return measure.Input{Category: b.Category, Custom: b.Custom, Title: b.Title, Description: b.Description,
		Visibility: b.Visibility, ControlIDs: b.ControlIDs}
}

// MeasurePath is exported because huma reads parameters only from exported
// embedded structs.
type MeasurePath struct {
	ID string `path:"id" maxLength:"64"`
}

type measureInput struct{ Body measureBody }

type measureUpdateInput struct {
	MeasurePath
	Body measureBody
}

type measureOutput struct{ Body *measure.Measure }

type measuresInput struct {
	Public bool `query:"public" doc:"Only public measures (those of the annex)."`
}

type measuresOutput struct{ Body []measure.Measure }

type categoriesOutput struct{ Body []measure.Category }

type annexInput struct {
	Format string `query:"format" enum:"md,pdf" default:"md"`
}

type annexOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (s *Server) registerMeasureAPI(api huma.API) {
	tags := []string{"Measures"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-measures", Method: http.MethodGet, Path: "/measures",
		Summary: "List technical and organisational measures", Tags: tags,
		Description: "In annex order, each with its linked controls and their posture state now."},
		func(ctx context.Context, in *measuresInput) (*measuresOutput, error) {
			list, err := s.cfg.Measures.List(ctx, org(ctx), in.Public)
			return &measuresOutput{Body: list}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-measure-categories", Method: http.MethodGet,
		Path: "/measures/categories", Summary: "The categories of measures", Tags: tags},
		func(ctx context.Context, _ *empty) (*categoriesOutput, error) {
			return &categoriesOutput{Body: measure.Categories}, nil
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-measure", Method: http.MethodPost, Path: "/measures",
		Summary: "Add a measure", Tags: tags, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *measureInput) (*measureOutput, error) {
			m, err := s.cfg.Measures.Create(ctx, org(ctx), in.Body.input())
			return &measureOutput{Body: m}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-measure", Method: http.MethodGet, Path: "/measures/{id}",
		Summary: "Read a measure", Tags: tags},
		func(ctx context.Context, in *MeasurePath) (*measureOutput, error) {
			m, err := s.cfg.Measures.Get(ctx, org(ctx), in.ID)
			return &measureOutput{Body: m}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-measure", Method: http.MethodPut, Path: "/measures/{id}",
		Summary: "Replace a measure", Tags: tags},
		func(ctx context.Context, in *measureUpdateInput) (*measureOutput, error) {
			m, err := s.cfg.Measures.Update(ctx, org(ctx), in.ID, in.Body.input())
			return &measureOutput{Body: m}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-measure", Method: http.MethodDelete, Path: "/measures/{id}",
		Summary: "Delete a measure", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *MeasurePath) (*empty, error) {
			return &empty{}, s.cfg.Measures.Delete(ctx, org(ctx), in.ID)
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-annex", Method: http.MethodGet, Path: "/measures/annex",
		Summary: "The annex of technical and organisational measures", Tags: tags,
		Description: "The public measures grouped by category, each with the state of its public controls today; Markdown or PDF.",
		Responses: map[string]*huma.Response{"200": {Description: "The annex", Content: map[string]*huma.MediaType{
			"text/markdown": {}, "application/pdf": {}}}}},
		func(ctx context.Context, in *annexInput) (*annexOutput, error) {
			p := apiPrincipal(ctx)
			body, ct, err := s.annex(ctx, p.Org.ID, p.Org.Name, in.Format)
			if err != nil {
				return nil, err
			}
			return &annexOutput{ContentType: ct, Body: body,
				ContentDisposition: `attachment; filename="measures-` + p.Org.Slug + `.` + in.Format + `"`}, nil
		})
}

// annex renders the annex of an organisation's public measures.
func (s *Server) annex(ctx context.Context, orgID, orgName, format string) ([]byte, string, error) {
	list, err := s.cfg.Measures.List(ctx, orgID, true)
	if err != nil {
		return nil, "", err
	}
	now := s.cfg.Clock.Now()
	if format == "pdf" {
		b, err := measure.AnnexPDF(orgName, list, now)
		return b, "application/pdf", apperr.Wrap(err, "make the annex PDF")
	}
	return measure.AnnexMarkdown(orgName, list, now), "text/markdown; charset=utf-8", nil
}

// ---- console -----------------------------------------------------------------

func (s *Server) registerMeasureConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/measures", identity.ContentRead, s.measuresPage)
	rt.HandleFunc("POST", "/app/o/{slug}/measures", identity.ContentEdit, s.createMeasure)
	rt.HandleFunc("GET", "/app/o/{slug}/measures/annex.md", identity.ContentRead, s.annexDownload("md"))
	rt.HandleFunc("GET", "/app/o/{slug}/measures/annex.pdf", identity.ContentRead, s.annexDownload("pdf"))
	rt.HandleFunc("GET", "/app/o/{slug}/measures/{id}", identity.ContentRead, s.measurePage)
	rt.HandleFunc("POST", "/app/o/{slug}/measures/{id}", identity.ContentEdit, s.updateMeasure)
	rt.HandleFunc("POST", "/app/o/{slug}/measures/{id}/delete", identity.ContentEdit, s.deleteMeasure)
}

type measuresPageData struct {
	Form       form
	Measures   []measure.Measure
	Categories []measure.Category
	Controls   []control.Listed
	Selected   map[string]bool
	CanEdit    bool
	NewOpen    bool
}

type measurePageData struct {
	Form       form
	Measure    *measure.Measure
	Categories []measure.Category
	Controls   []control.Listed
	Selected   map[string]bool
	CanEdit    bool
}

func measureFormInput(r *http.Request) (measure.Input, map[string]string, map[string]bool) {
	_ = r.ParseForm()
	v := map[string]string{}
	for _, k := range []string{"category", "custom_category", "title", "description", "visibility"} {
		v[k] = r.PostFormValue(k)
	}
	selected := map[string]bool{}
	for _, id := range r.PostForm["control_ids"] {
		selected[id] = true
	}
	return measure.Input{Category: v["category"], Custom: v["custom_category"], Title: v["title"], Description: v["description"],
		Visibility: control.Visibility(v["visibility"]), ControlIDs: r.PostForm["control_ids"]}, v, selected
}

func (s *Server) measuresData(r *http.Request, f form, selected map[string]bool) (measuresPageData, error) {
	p := principal(r)
	list, err := s.cfg.Measures.List(r.Context(), p.Org.ID, false)
	if err != nil {
		return measuresPageData{}, err
	}
	controls, err := s.cfg.Controls.List(r.Context(), p.Org.ID, control.ListFilter{})
	if err != nil {
		return measuresPageData{}, err
	}
	if f.Values == nil {
		f.Values = map[string]string{"visibility": "public"}
	}
	if selected == nil {
		selected = map[string]bool{}
	}
	return measuresPageData{Form: f, Measures: list, Categories: measure.Categories, Controls: controls, Selected: selected,
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit), NewOpen: f.Error != ""}, nil
}

func (s *Server) measuresPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.measuresData(r, form{}, nil)
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "measures", data)
}

func (s *Server) createMeasure(w http.ResponseWriter, r *http.Request) {
	in, values, selected := measureFormInput(r)
	m, err := s.cfg.Measures.Create(r.Context(), principal(r).Org.ID, in)
	if err != nil {
		renderFormLoad(w, r, "measures", err, values, func(f form) (any, error) { return s.measuresData(r, f, selected) })
		return
	}
	seeOther(w, r, "/app/o/"+principal(r).Org.Slug+"/measures/"+m.ID)
}

func (s *Server) measureData(r *http.Request, f form, selected map[string]bool) (measurePageData, error) {
	p := principal(r)
	m, err := s.cfg.Measures.Get(r.Context(), p.Org.ID, r.PathValue("id"))
	if err != nil {
		return measurePageData{}, err
	}
	controls, err := s.cfg.Controls.List(r.Context(), p.Org.ID, control.ListFilter{})
	if err != nil {
		return measurePageData{}, err
	}
	if f.Values == nil {
		f.Values = map[string]string{"category": m.Category, "custom_category": m.Custom, "title": m.Title,
			"description": m.Description, "visibility": string(m.Visibility)}
	}
	if selected == nil {
		selected = map[string]bool{}
		for _, c := range m.Controls {
			selected[c.ID] = true
		}
	}
	return measurePageData{Form: f, Measure: m, Categories: measure.Categories, Controls: controls, Selected: selected,
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}, nil
}

func (s *Server) measurePage(w http.ResponseWriter, r *http.Request) {
	data, err := s.measureData(r, form{}, nil)
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "measure", data)
}

func (s *Server) updateMeasure(w http.ResponseWriter, r *http.Request) {
	in, values, selected := measureFormInput(r)
	p := principal(r)
	_, err := s.cfg.Measures.Update(r.Context(), p.Org.ID, r.PathValue("id"), in)
	if err != nil {
		renderFormLoad(w, r, "measure", err, values, func(f form) (any, error) { return s.measureData(r, f, selected) })
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/measures/"+r.PathValue("id"))
}

func (s *Server) deleteMeasure(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if r.PostFormValue("confirm") == "" {
		data, err := s.measureData(r, form{Error: "tick the box to confirm the deletion", Field: "confirm"}, nil)
		if err != nil {
			Error(w, r, err)
			return
		}
		renderStatus(w, r, http.StatusBadRequest, "measure", data)
		return
	}
	if err := s.cfg.Measures.Delete(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/measures")
}

func (s *Server) annexDownload(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		body, ct, err := s.annex(r.Context(), p.Org.ID, p.Org.Name, format)
		if err != nil {
			Error(w, r, err)
			return
		}
		download(w, ct, "measures-"+p.Org.Slug+"."+format, body)
	}
}

package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/identity"
)

// The console pages of the catalog: the list of frameworks with adoption,
// the framework browser with applicability, and the Statement of
// Applicability downloads.

// formFailed shows a page again after a mistake of the user's: load builds
// the page's data around the form. Errors that are not the user's to fix
// are answered as they are, and so is a failure to build the page.
func formFailed(w http.ResponseWriter, r *http.Request, page string, err error, values map[string]string, load func(form) (any, error)) {
	f, ok := formError(err, values)
	if !ok {
		Error(w, r, err)
		return
	}
	data, lerr := load(f)
	if lerr != nil {
		Error(w, r, lerr)
		return
	}
	renderForm(w, r, page, err, func(form) any { return data }, values)
}

// orgPath is the console address of a page of the caller's organisation.
func orgPath(r *http.Request, parts ...string) string {
	p := "/app/o/" + principal(r).Org.Slug
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// ---- the catalog -----------------------------------------------------------

// adoptForm is what one framework's adoption form shows.
type adoptForm struct {
	Baseline    string
	FromLibrary bool
	UseMappings bool
	Error       string
	Field       string
}

type frameworkCard struct {
	Framework catalog.Framework
	Adoption  *control.Adoption
	Form      adoptForm
}

type frameworksPageData struct {
	Form       form
	Frameworks []frameworkCard
	Adopted    int
	CanEdit    bool
}

func (s *Server) frameworksData(r *http.Request, f form) (any, error) {
	p := principal(r)
	fws, err := s.cfg.Catalog.List(r.Context())
	if err != nil {
		return nil, err
	}
	adoptions, err := s.cfg.Controls.Adoptions(r.Context(), p.Org.ID)
	if err != nil {
		return nil, err
	}
	adopted := map[string]control.Adoption{}
	for _, a := range adoptions {
		adopted[a.FrameworkID] = a
	}
	d := frameworksPageData{Form: f, CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	for _, fw := range fws {
		c := frameworkCard{Framework: fw, Form: adoptForm{FromLibrary: true, UseMappings: true}}
		if a, ok := adopted[fw.ID]; ok {
			c.Adoption = &a
			d.Adopted++
		}
		if f.Error != "" && f.Values["framework"] == fw.ID {
			c.Form.Error, c.Form.Field = f.Error, f.Field
			if f.Values["form"] == "adopt" {
				c.Form.Baseline = f.Values["baseline"]
				c.Form.FromLibrary, c.Form.UseMappings = f.Values["from_library"] != "", f.Values["use_mappings"] != ""
			}
		}
		d.Frameworks = append(d.Frameworks, c)
	}
	return d, nil
}

func (s *Server) frameworksPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.frameworksData(r, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "frameworks", d)
}

func (s *Server) adoptFramework(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id := r.PathValue("id")
	values := map[string]string{"form": "adopt", "framework": id, "baseline": r.PostFormValue("baseline"),
		"from_library": r.PostFormValue("from_library"), "use_mappings": r.PostFormValue("use_mappings")}
	_, err := s.cfg.Controls.Adopt(r.Context(), p.Org.ID, id, control.AdoptOptions{Baseline: values["baseline"],
		FromLibrary: values["from_library"] != "", UseMappings: values["use_mappings"] != ""})
	if err != nil {
		formFailed(w, r, "frameworks", err, values, func(f form) (any, error) { return s.frameworksData(r, f) })
		return
	}
	seeOther(w, r, orgPath(r, "posture", id))
}

func (s *Server) unadoptFramework(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id := r.PathValue("id")
	var err error
	if r.PostFormValue("confirm") == "" {
		err = apperr.Field("confirm", "tick “I understand links and applicability decisions of this framework are removed” to remove it")
	} else {
		err = s.cfg.Controls.Unadopt(r.Context(), p.Org.ID, id)
	}
	if err != nil {
		formFailed(w, r, "frameworks", err, map[string]string{"form": "unadopt", "framework": id},
			func(f form) (any, error) { return s.frameworksData(r, f) })
		return
	}
	seeOther(w, r, orgPath(r, "frameworks"))
}

// ---- the framework browser -------------------------------------------------

// frameworkFilter is what the framework browser shows.
type frameworkFilter struct {
	Q           string
	Baseline    string
	BaselineSet bool // baseline was given, possibly empty for the whole framework
	Withdrawn   bool
}

// query is the filter as a query string, to come back to after a form.
func (f frameworkFilter) query() string {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.BaselineSet {
		v.Set("baseline", f.Baseline)
	}
	if f.Withdrawn {
		v.Set("withdrawn", "1")
	}
	return v.Encode()
}

// parseFrameworkFilter reads q, baseline and withdrawn. Without a baseline
// the adopted one applies.
func parseFrameworkFilter(fw *catalog.Framework, q url.Values) (frameworkFilter, error) {
	f := frameworkFilter{Q: strings.TrimSpace(q.Get("q")), Baseline: strings.TrimSpace(q.Get("baseline")),
		BaselineSet: q.Has("baseline"), Withdrawn: q.Get("withdrawn") == "1"}
	if utf8.RuneCountInString(f.Q) > 200 || !utf8.ValidString(f.Q) {
		return frameworkFilter{}, apperr.Field("q", "the search text is at most 200 characters")
	}
	if f.Baseline != "" && !slices.Contains(fw.Baselines, f.Baseline) {
		err := apperr.Field("baseline", "framework %s has no baselines", fw.ID)
		if len(fw.Baselines) > 0 {
			err = apperr.Field("baseline", "baseline %q is not one of %s", f.Baseline, strings.Join(fw.Baselines, ", "))
		}
		return frameworkFilter{}, err
	}
	return f, nil
}

// reqRow is one node of the tree as the browser shows it.
type reqRow struct {
	Req     catalog.Requirement
	Index   int
	Indent  int  // requirements above it, for nested ones (SP 800-53 enhancements)
	Group   bool // a grouping node, shown as a heading
	Heading int  // its heading level
	Context bool // shown only because something below it matches
	Path    string
	// For adopted frameworks.
	Posture    *control.RequirementPosture // nil when out of scope
	Node       *control.Node               // a group's counts
	OutOfScope string                      // why an assessable requirement does not count
	Open       bool                        // its form has a mistake to show
	Error      string
	Values     map[string]string
}

// HasDetails tells whether the requirement has anything to show in its
// <details> element.
func (r reqRow) HasDetails(canEdit bool) bool {
	d := r.Req.Details
	return r.Req.Text != "" || len(r.Req.Baselines) > 0 || len(d.References) > 0 || len(d.Examples) > 0 ||
		len(d.WithdrawnTo) > 0 || canEdit && r.Posture != nil
}

type frameworkPageData struct {
	Form      form
	Framework *catalog.Framework
	Adoption  *control.Adoption
	Posture   *control.Posture
	Filter    frameworkFilter
	Back      string // the filter as a query string
	Rows      []reqRow
	Shown     int // requirements that match
	CanEdit   bool
}

// frameworkData builds the browser's page for one framework.
func (s *Server) frameworkData(ctx context.Context, p *Principal, fw *catalog.Framework, flt frameworkFilter, f form) (*frameworkPageData, error) {
	tree, err := s.cfg.Catalog.Requirements(ctx, fw.ID)
	if err != nil {
		return nil, err
	}
	d := &frameworkPageData{Form: f, Framework: fw, CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	d.Adoption, err = s.cfg.Controls.Adoption(ctx, p.Org.ID, fw.ID)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return nil, err
	}
	states := map[string]*control.RequirementPosture{}
	nodes := map[string]*control.Node{}
	if d.Adoption != nil {
		if d.Posture, err = s.cfg.Controls.Posture(ctx, p.Org.ID, fw.ID); err != nil {
			return nil, err
		}
		for i := range d.Posture.Requirements {
			states[d.Posture.Requirements[i].Ref] = &d.Posture.Requirements[i]
		}
		for i := range d.Posture.Nodes {
			nodes[d.Posture.Nodes[i].Ref] = &d.Posture.Nodes[i]
		}
		if !flt.BaselineSet {
			flt.Baseline = d.Adoption.Baseline
		}
	}
	d.Filter, d.Back = flt, flt.query()

	n := len(tree)
	index := make(map[string]int, n)
	parent := make([]int, n)
	groupsAbove, reqsAbove := make([]int, n), make([]int, n)
	matchesQ := make([]bool, n)
	q := strings.ToLower(flt.Q)
	for i, r := range tree {
		index[r.Ref] = i
		parent[i] = -1
		if at, ok := index[r.ParentRef]; ok && r.ParentRef != "" {
			parent[i], groupsAbove[i], reqsAbove[i] = at, groupsAbove[at], reqsAbove[at]
			if tree[at].Assessable {
				reqsAbove[i]++
			} else {
				groupsAbove[i]++
			}
		}
		matchesQ[i] = q == "" || strings.Contains(strings.ToLower(r.Ref), q) || strings.Contains(strings.ToLower(r.Label), q) ||
			strings.Contains(strings.ToLower(r.Title), q) || parent[i] >= 0 && matchesQ[parent[i]]
	}
	keep, match := make([]bool, n), make([]bool, n)
	for i, r := range tree {
		switch {
		case !r.Assessable, r.Withdrawn && !flt.Withdrawn, !matchesQ[i],
			flt.Baseline != "" && !slices.Contains(r.Baselines, flt.Baseline):
			continue
		}
		match[i] = true
		d.Shown++
		for j := i; j >= 0 && !keep[j]; j = parent[j] {
			keep[j] = true
		}
	}
	for i, r := range tree {
		if !keep[i] {
			continue
		}
		row := reqRow{Req: r, Index: i, Indent: min(reqsAbove[i], 4), Group: !r.Assessable, Context: r.Assessable && !match[i],
			Path: url.PathEscape(r.Ref), Heading: min(2+groupsAbove[i], 6)}
		if d.Adoption != nil {
			row.Posture, row.Node = states[r.Ref], nodes[r.Ref]
			if r.Assessable && row.Posture == nil && !r.Withdrawn {
				row.OutOfScope = "outside the adopted " + d.Adoption.Baseline + " baseline"
			}
		}
		if f.Error != "" && f.Values["ref"] == r.Ref {
			row.Open, row.Error, row.Values = true, f.Error, f.Values
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

func (s *Server) frameworkPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	fw, err := s.cfg.Catalog.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	q := r.URL.Query()
	flt, ferr := parseFrameworkFilter(fw, q)
	d, err := s.frameworkData(r.Context(), p, fw, flt, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	if ferr != nil {
		values := map[string]string{"q": q.Get("q"), "baseline": q.Get("baseline")}
		d.Filter.Q = strings.TrimSpace(q.Get("q")) // shown again as typed
		renderForm(w, r, "framework", ferr, func(f form) any { d.Form = f; return d }, values)
		return
	}
	render(w, r, "framework", d)
}

func (s *Server) setApplicability(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	fw, err := s.cfg.Catalog.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	ref := r.PathValue("ref")
	values := map[string]string{"ref": ref, "applicable": r.PostFormValue("applicable"), "justification": r.PostFormValue("justification")}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	flt, ferr := parseFrameworkFilter(fw, back)
	if ferr != nil {
		flt = frameworkFilter{}
	}
	switch values["applicable"] {
	case "yes", "no":
		err = s.cfg.Controls.SetApplicability(r.Context(), p.Org.ID, fw.ID, ref, values["applicable"] == "yes", values["justification"])
	default:
		err = apperr.Field("applicable", "say whether the requirement applies: yes or no")
	}
	if err != nil {
		formFailed(w, r, "framework", err, values, func(f form) (any, error) { return s.frameworkData(r.Context(), p, fw, flt, f) })
		return
	}
	to := url.URL{Path: orgPath(r, "frameworks", fw.ID), RawQuery: flt.query(), Fragment: "req-" + ref}
	seeOther(w, r, to.String())
}

// ---- Statement of Applicability -------------------------------------------

func (s *Server) soaCSV(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Controls.StatementOfApplicability(r.Context(), principal(r).Org.ID, r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	download(w, "text/csv; charset=utf-8", "soa-"+p.FrameworkID+".csv", control.SoACSV(p))
}

func (s *Server) soaJSON(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Controls.StatementOfApplicability(r.Context(), principal(r).Org.ID, r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		Error(w, r, err)
		return
	}
	download(w, "application/json; charset=utf-8", "soa-"+p.FrameworkID+".json", append(body, '\n'))
}

// download answers with a file to save. Framework identifiers are
// [a-z0-9.-], so the name needs no quoting beyond its quotes.
func download(w http.ResponseWriter, contentType, name string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
)

// registerControlConsole registers the console pages of frameworks,
// controls and posture.
func (s *Server) registerControlConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/frameworks", identity.ContentRead, s.frameworksPage)
	rt.HandleFunc("GET", "/app/o/{slug}/frameworks/{id}", identity.ContentRead, s.frameworkPage)
	rt.HandleFunc("POST", "/app/o/{slug}/frameworks/{id}/adopt", identity.ContentEdit, s.adoptFramework)
	rt.HandleFunc("POST", "/app/o/{slug}/frameworks/{id}/unadopt", identity.ContentEdit, s.unadoptFramework)
	rt.HandleFunc("POST", "/app/o/{slug}/frameworks/{id}/requirements/{ref}/applicability", identity.ContentEdit, s.setApplicability)
	rt.HandleFunc("GET", "/app/o/{slug}/frameworks/{id}/soa.csv", identity.ContentRead, s.soaCSV)
	rt.HandleFunc("GET", "/app/o/{slug}/frameworks/{id}/soa.json", identity.ContentRead, s.soaJSON)

	rt.HandleFunc("GET", "/app/o/{slug}/controls", identity.ContentRead, s.controlsPage)
	rt.HandleFunc("POST", "/app/o/{slug}/controls", identity.ContentEdit, s.createControl)
	rt.HandleFunc("GET", "/app/o/{slug}/controls/{id}", identity.ContentRead, s.controlPage)
	rt.HandleFunc("POST", "/app/o/{slug}/controls/{id}", identity.ContentEdit, s.updateControl)
	rt.HandleFunc("POST", "/app/o/{slug}/controls/{id}/link", identity.ContentEdit, s.linkControl)
	rt.HandleFunc("POST", "/app/o/{slug}/controls/{id}/unlink", identity.ContentEdit, s.unlinkControl)
	rt.HandleFunc("POST", "/app/o/{slug}/controls/{id}/delete", identity.ContentEdit, s.deleteControl)

	rt.HandleFunc("GET", "/app/o/{slug}/posture", identity.ContentRead, s.posturePage)
	rt.HandleFunc("GET", "/app/o/{slug}/posture/{framework}", identity.ContentRead, s.postureFrameworkPage)
}

// ---- the control form --------------------------------------------------------

// controlForm is what the create and edit forms of a control show.
type controlForm struct {
	Prefix  string // of the inputs' ids
	Values  map[string]string
	Field   string // the field in error
	Members []identity.OrgMember
	Submit  string
}

var controlFields = []string{"title", "description", "status", "visibility", "owner_id", "review_interval_days", "next_review_date"}

// controlInput reads a control's fields from a form, with the values to
// show again after a mistake.
func controlInput(r *http.Request, formName string) (control.Input, map[string]string, error) {
	values := map[string]string{"form": formName}
	for _, k := range controlFields {
		values[k] = r.PostFormValue(k)
	}
	in := control.Input{Title: values["title"], Description: values["description"], OwnerID: values["owner_id"],
		Status: control.Status(values["status"]), Visibility: control.Visibility(values["visibility"]),
		NextReviewDate: values["next_review_date"]}
	if d := strings.TrimSpace(values["review_interval_days"]); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return in, values, apperr.Field("review_interval_days", "the review interval is a number of days from 1 to %d", control.MaxReviewDays)
		}
		in.ReviewIntervalDays = n
	}
	return in, values, nil
}

func controlValues(c *control.Control) map[string]string {
	return map[string]string{"title": c.Title, "description": c.Description, "status": string(c.Status),
		"visibility": string(c.Visibility), "owner_id": c.OwnerID, "review_interval_days": strconv.Itoa(c.ReviewIntervalDays),
		"next_review_date": c.NextReviewDate}
}

// memberName is how a member is named in lists.
func memberName(members []identity.OrgMember, id string) string {
	for _, m := range members {
		if m.UserID == id {
			if m.Name != "" {
				return m.Name
			}
			return m.Email
		}
	}
	return ""
}

// ---- the control list ----------------------------------------------------------

type controlRow struct {
	control.Listed
	Owner string
}

type controlsPageData struct {
	Form      form
	Filter    map[string]string
	Filtered  bool
	Controls  []controlRow
	Members   []identity.OrgMember
	Adoptions []control.Adoption
	States    []control.State
	New       controlForm
	NewOpen   bool
	CanEdit   bool
	filterErr error // a mistake in the filters; the page then shows every control
}

var controlFilterKeys = []string{"q", "status", "visibility", "state", "framework", "owner", "unlinked"}

// parseControlFilter reads the list's filters; the framework must be
// adopted and the owner a member.
func parseControlFilter(q url.Values, members []identity.OrgMember, adoptions []control.Adoption) (control.ListFilter, error) {
	var f control.ListFilter
	var err error
	f.Query = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Query) > 200 || !utf8.ValidString(f.Query) {
		return f, apperr.Field("q", "the search text is at most 200 characters")
	}
	if f.Status, err = control.ParseStatus(q.Get("status")); err != nil {
		return f, err
	}
	if f.Visibility, err = control.ParseVisibility(q.Get("visibility")); err != nil {
		return f, err
	}
	if f.State, err = control.ParseState(q.Get("state")); err != nil {
		return f, err
	}
	if f.FrameworkID = q.Get("framework"); f.FrameworkID != "" {
		found := false
		for _, a := range adoptions {
			found = found || a.FrameworkID == f.FrameworkID
		}
		if !found {
			return f, apperr.Field("framework", "framework %q is not one the organisation has adopted", f.FrameworkID)
		}
	}
	if f.OwnerID = q.Get("owner"); f.OwnerID != "" && memberName(members, f.OwnerID) == "" {
		return f, apperr.Field("owner", "the owner %q is not a member of the organisation", f.OwnerID)
	}
	switch q.Get("unlinked") {
	case "":
	case "1", "on", "true":
		f.Unlinked = true
	default:
		return f, apperr.Field("unlinked", "unlinked is 1 or absent")
	}
	return f, nil
}

// controlsData builds the list page. newValues are the new control's
// fields after a mistake, nil otherwise.
func (s *Server) controlsData(r *http.Request, q url.Values, f form, newValues map[string]string) (*controlsPageData, error) {
	p := principal(r)
	ctx := r.Context()
	members, err := s.cfg.Identity.Members(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	adoptions, err := s.cfg.Controls.Adoptions(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	d := &controlsPageData{Form: f, Filter: map[string]string{}, Members: members, Adoptions: adoptions,
		States: control.ControlStates, CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	for _, k := range controlFilterKeys {
		d.Filter[k] = q.Get(k)
		d.Filtered = d.Filtered || q.Get(k) != ""
	}
	filter, ferr := parseControlFilter(q, members, adoptions)
	if ferr != nil {
		filter, d.filterErr = control.ListFilter{}, ferr
	}
	list, err := s.cfg.Controls.List(ctx, p.Org.ID, filter)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		d.Controls = append(d.Controls, controlRow{Listed: c, Owner: memberName(members, c.OwnerID)})
	}
	d.New = controlForm{Prefix: "new", Values: newValues, Members: members, Submit: "Create the control"}
	if newValues == nil {
		d.New.Values = map[string]string{"review_interval_days": "365"}
	} else {
		d.New.Field, d.NewOpen = f.Field, true
	}
	return d, nil
}

func (s *Server) controlsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := s.controlsData(r, q, form{}, nil)
	if err != nil {
		Error(w, r, err)
		return
	}
	if d.filterErr != nil {
		renderForm(w, r, "controls", d.filterErr, func(f form) any { d.Form = f; return d }, d.Filter)
		return
	}
	render(w, r, "controls", d)
}

func (s *Server) createControl(w http.ResponseWriter, r *http.Request) {
	in, values, err := controlInput(r, "new")
	var c *control.Control
	if err == nil {
		c, err = s.cfg.Controls.Create(r.Context(), principal(r).Org.ID, in)
	}
	if err != nil {
		formFailed(w, r, "controls", err, values, func(f form) (any, error) {
			return s.controlsData(r, url.Values{}, f, values)
		})
		return
	}
	seeOther(w, r, orgPath(r, "controls", c.ID))
}

// ---- one control -------------------------------------------------------------

type linkRow struct {
	Ref   string
	Label string
	Title string
	State control.State
	Path  string
}

type linkGroup struct {
	FrameworkID string
	Name        string
	Links       []linkRow
}

type controlPageData struct {
	Form      form
	Control   *control.Control
	State     control.State
	Owner     string
	Groups    []linkGroup
	Adoptions []control.Adoption
	Edit      controlForm
	Library   *catalog.LibraryControl
	Evidence  []evidenceRow // the items linked to the control that the caller may see
	CanEdit   bool
}

// controlData builds a control's page; the form's values replace the
// stored ones in the form that was sent.
func (s *Server) controlData(ctx context.Context, p *Principal, c *control.Control, f form) (any, error) {
	d := &controlPageData{Form: f, Control: c, CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	members, err := s.cfg.Identity.Members(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	d.Owner = memberName(members, c.OwnerID)
	list, err := s.cfg.Controls.List(ctx, p.Org.ID, control.ListFilter{})
	if err != nil {
		return nil, err
	}
	for _, l := range list {
		if l.ID == c.ID {
			d.State = l.State
		}
	}
	if d.Adoptions, err = s.cfg.Controls.Adoptions(ctx, p.Org.ID); err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, a := range d.Adoptions {
		names[a.FrameworkID] = a.Name + " " + a.Version
	}
	byFramework := map[string]*linkGroup{}
	for _, l := range c.Links {
		g := byFramework[l.FrameworkID]
		if g == nil {
			g = &linkGroup{FrameworkID: l.FrameworkID, Name: names[l.FrameworkID]}
			if g.Name == "" {
				g.Name = l.FrameworkID
			}
			byFramework[l.FrameworkID] = g
		}
		g.Links = append(g.Links, linkRow{Ref: l.Ref, Label: l.Ref, Path: url.PathEscape(l.Ref)})
	}
	for fw, g := range byFramework {
		tree, err := s.cfg.Catalog.Requirements(ctx, fw)
		if err != nil {
			return nil, err
		}
		reqs := map[string]*catalog.Requirement{}
		for i := range tree {
			reqs[tree[i].Ref] = &tree[i]
		}
		states := map[string]control.State{}
		if pst, err := s.cfg.Controls.Posture(ctx, p.Org.ID, fw); err == nil {
			for _, rp := range pst.Requirements {
				states[rp.Ref] = rp.State
			}
		} else if apperr.CodeOf(err) != apperr.NotFound {
			return nil, err
		}
		for i := range g.Links {
			l := &g.Links[i]
			if r := reqs[l.Ref]; r != nil {
				l.Label, l.Title = r.Label, r.Title
			}
			l.State = states[l.Ref]
		}
		d.Groups = append(d.Groups, *g)
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].FrameworkID < d.Groups[j].FrameworkID })

	d.Edit = controlForm{Prefix: "edit", Values: controlValues(c), Members: members, Submit: "Save the control"}
	if f.Values["form"] == "edit" {
		d.Edit.Values, d.Edit.Field = f.Values, f.Field
	}
	if c.LibraryKey != "" {
		d.Library, _ = catalog.LibraryControlByKey(c.LibraryKey)
	}
	rd := evidenceReader(p.Role)
	items, err := s.cfg.Evidence.List(ctx, p.Org.ID, evidence.Filter{ControlID: c.ID}, rd)
	if err != nil {
		return nil, err
	}
	soon, err := s.endingSoon(ctx, p.Org.ID, rd)
	if err != nil {
		return nil, err
	}
	d.Evidence = evidenceRows(items, soon, controlSet(list))
	return d, nil
}

func langName(code string) string {
	switch code {
	case "fr":
		return "French"
	case "en":
		return "English"
	}
	return code
}

// withControl runs fn on the control the path names, answering 404 for a
// control that is not the organisation's.
func (s *Server) withControl(w http.ResponseWriter, r *http.Request, fn func(p *Principal, c *control.Control)) {
	p := principal(r)
	c, err := s.cfg.Controls.Get(r.Context(), p.Org.ID, r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	fn(p, c)
}

// controlFailed shows the control's page again with a mistake.
func (s *Server) controlFailed(w http.ResponseWriter, r *http.Request, p *Principal, c *control.Control, err error, values map[string]string) {
	formFailed(w, r, "control", err, values, func(f form) (any, error) { return s.controlData(r.Context(), p, c, f) })
}

func (s *Server) controlPage(w http.ResponseWriter, r *http.Request) {
	s.withControl(w, r, func(p *Principal, c *control.Control) {
		d, err := s.controlData(r.Context(), p, c, form{})
		if err != nil {
			Error(w, r, err)
			return
		}
		render(w, r, "control", d)
	})
}

func (s *Server) updateControl(w http.ResponseWriter, r *http.Request) {
	s.withControl(w, r, func(p *Principal, c *control.Control) {
		in, values, err := controlInput(r, "edit")
		if err == nil {
			_, err = s.cfg.Controls.Update(r.Context(), p.Org.ID, c.ID, in)
		}
		if err != nil {
			s.controlFailed(w, r, p, c, err, values)
			return
		}
		seeOther(w, r, orgPath(r, "controls", c.ID))
	})
}

// resolveRef accepts a requirement's reference or its printed label, in
// any case (ac-2.1, AC-2(1)), and returns its reference.
func (s *Server) resolveRef(ctx context.Context, frameworkID, ref string) string {
	ref = strings.TrimSpace(ref)
	tree, err := s.cfg.Catalog.Requirements(ctx, frameworkID)
	if err != nil {
		return ref
	}
	for _, r := range tree {
		if r.Ref == ref {
			return ref
		}
	}
	for _, r := range tree {
		if strings.EqualFold(r.Ref, ref) || strings.EqualFold(r.Label, ref) {
			return r.Ref
		}
	}
	return ref
}

func (s *Server) linkControl(w http.ResponseWriter, r *http.Request) {
	s.withControl(w, r, func(p *Principal, c *control.Control) {
		values := map[string]string{"form": "link", "framework": r.PostFormValue("framework"), "ref": r.PostFormValue("ref")}
		var err error
		switch {
		case values["framework"] == "":
			err = apperr.Field("framework_id", "choose an adopted framework")
		case strings.TrimSpace(values["ref"]) == "":
			err = apperr.Field("ref", "give the requirement's reference, such as GV.OC-01 or AC-2(1)")
		default:
			ref := s.resolveRef(r.Context(), values["framework"], values["ref"])
			err = s.cfg.Controls.Link(r.Context(), p.Org.ID, c.ID, values["framework"], ref)
		}
		if err != nil {
			s.controlFailed(w, r, p, c, err, values)
			return
		}
		seeOther(w, r, orgPath(r, "controls", c.ID)+"#links-title")
	})
}

func (s *Server) unlinkControl(w http.ResponseWriter, r *http.Request) {
	s.withControl(w, r, func(p *Principal, c *control.Control) {
		err := s.cfg.Controls.Unlink(r.Context(), p.Org.ID, c.ID, r.PostFormValue("framework"), r.PostFormValue("ref"))
		if err != nil {
			s.controlFailed(w, r, p, c, err, map[string]string{"form": "unlink"})
			return
		}
		seeOther(w, r, orgPath(r, "controls", c.ID)+"#links-title")
	})
}

func (s *Server) deleteControl(w http.ResponseWriter, r *http.Request) {
	s.withControl(w, r, func(p *Principal, c *control.Control) {
		var err error
		if r.PostFormValue("confirm") == "" {
			err = apperr.Field("confirm", "tick “I understand the control and its links are deleted” to delete it")
		} else {
			err = s.cfg.Controls.Delete(r.Context(), p.Org.ID, c.ID)
		}
		if err != nil {
			s.controlFailed(w, r, p, c, err, map[string]string{"form": "delete"})
			return
		}
		seeOther(w, r, orgPath(r, "controls"))
	})
}

// ---- posture -------------------------------------------------------------------

// barOrder is the order of the stacked bar, best first; not-applicable
// requirements are outside it.
var barOrder = []control.State{control.Verified, control.Evidenced, control.Unevidenced, control.Stale,
	control.NotImplemented, control.Failing, control.Gap}

type barSegment struct {
	State control.State
	Count int
	X     float64 // from the left, in per cent
	Width float64 // Counts.Share of the state
}

type stateCount struct {
	State control.State
	Count int
}

type stateRequirements struct {
	State        control.State
	Requirements []control.RequirementPosture
}

type postureView struct {
	Posture  *control.Posture
	Segments []barSegment
	States   []stateCount // every state, in the order they are shown
	Nodes    []control.Node
	ByState  []stateRequirements
}

// postureSegments lays out the stacked bar of counts.
func postureSegments(c control.Counts) []barSegment {
	var out []barSegment
	x := 0.0
	for _, st := range barOrder {
		n := c.Of(st)
		if n == 0 {
			continue
		}
		w := c.Share(n)
		out = append(out, barSegment{State: st, Count: n, X: x, Width: w})
		x += w
	}
	return out
}

func newPostureView(p *control.Posture) postureView {
	v := postureView{Posture: p, Segments: postureSegments(p.Counts)}
	for _, st := range control.RequirementStates {
		v.States = append(v.States, stateCount{State: st, Count: p.Counts.Of(st)})
	}
	return v
}

type postureData struct {
	Views  []postureView
	Single bool
}

func (s *Server) posturePage(w http.ResponseWriter, r *http.Request) {
	ps, err := s.cfg.Controls.Postures(r.Context(), principal(r).Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	d := postureData{}
	for _, p := range ps {
		v := newPostureView(p)
		for _, n := range p.Nodes {
			if n.Depth == 0 {
				v.Nodes = append(v.Nodes, n)
			}
		}
		d.Views = append(d.Views, v)
	}
	render(w, r, "posture", d)
}

func (s *Server) postureFrameworkPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.cfg.Controls.Posture(r.Context(), principal(r).Org.ID, r.PathValue("framework"))
	if err != nil {
		Error(w, r, err)
		return
	}
	tree, err := s.cfg.Catalog.Requirements(r.Context(), p.FrameworkID)
	if err != nil {
		Error(w, r, err)
		return
	}
	groups := map[string]bool{}
	for _, req := range tree {
		groups[req.Ref] = !req.Assessable
	}
	v := newPostureView(p)
	for _, n := range p.Nodes {
		if groups[n.Ref] {
			v.Nodes = append(v.Nodes, n)
		}
	}
	for _, st := range control.RequirementStates {
		sr := stateRequirements{State: st}
		for _, rp := range p.Requirements {
			if rp.State == st {
				sr.Requirements = append(sr.Requirements, rp)
			}
		}
		if len(sr.Requirements) > 0 {
			v.ByState = append(v.ByState, sr)
		}
	}
	render(w, r, "posture", postureData{Views: []postureView{v}, Single: true})
}

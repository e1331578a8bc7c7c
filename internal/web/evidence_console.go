package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
)

// The console pages of evidence: the list with its filters and the forms
// that add items (links, notes and attestations; uploaded files; automated
// checks), and the page of one item with its file or its check and runs, its
// controls, the edit form and delete.

// registerEvidenceConsole registers the console pages of evidence.
func (s *Server) registerEvidenceConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/evidence", identity.ContentRead, s.evidenceListPage)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence", identity.ContentEdit, s.createEvidenceItem)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence/upload", identity.ContentEdit, s.uploadEvidenceItem)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence/checks", identity.ContentEdit, s.createCheckItem)
	rt.HandleFunc("GET", "/app/o/{slug}/evidence/{id}", identity.ContentRead, s.evidencePage)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence/{id}", identity.ContentEdit, s.updateEvidenceItem)
	rt.HandleFunc("GET", "/app/o/{slug}/evidence/{id}/file", identity.ContentRead, s.downloadEvidence)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence/{id}/run", identity.ContentEdit, s.runCheckItem)
	rt.HandleFunc("POST", "/app/o/{slug}/evidence/{id}/delete", identity.ContentEdit, s.deleteEvidenceItem)
}

// expiringSoonDays is the window of the "expiring soon" notice and marks.
const expiringSoonDays = 30

// evidenceKinds are the kinds the list's filter offers.
var evidenceKinds = []evidence.Kind{evidence.File, evidence.Link, evidence.Note, evidence.Attestation, evidence.Check,
	evidence.PolicyVersion}

// expiringChoices are the windows the list's filter offers.
var expiringChoices = []int{30, 60, 90}

// evidenceRow is an item as lists show it.
type evidenceRow struct {
	evidence.Evidence
	EndsSoon bool // current, and its validity ends within expiringSoonDays
	Controls int  // live controls it is linked to
}

// evidenceRows marks the items that end soon and counts their live controls.
func evidenceRows(items []evidence.Evidence, soon map[string]bool, live map[string]bool) []evidenceRow {
	rows := make([]evidenceRow, 0, len(items))
	for _, it := range items {
		row := evidenceRow{Evidence: it, EndsSoon: soon[it.ID]}
		for _, id := range it.ControlIDs {
			if live[id] {
				row.Controls++
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// endingSoon returns the ids of the current items the reader may see whose
// validity ends within expiringSoonDays. Checks are left out: each passing
// run extends them, so they always end within days and need no one to act.
func (s *Server) endingSoon(ctx context.Context, orgID string, rd evidence.Reader) (map[string]bool, error) {
	items, err := s.cfg.Evidence.List(ctx, orgID, evidence.Filter{ExpiringDays: expiringSoonDays}, rd)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(items))
	for _, it := range items {
		if it.Kind != evidence.Check {
			out[it.ID] = true
		}
	}
	return out, nil
}

func controlSet(list []control.Listed) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, c := range list {
		out[c.ID] = true
	}
	return out
}

// humanSize writes a byte count for people.
func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
}

// ---- the evidence form ----------------------------------------------------------

// evidenceForm is what the add, upload and edit forms of an item show.
type evidenceForm struct {
	Prefix     string        // of the inputs' ids
	Kind       evidence.Kind // the item's kind; "" when the form offers link, note and attestation
	Values     map[string]string
	Selected   map[string]bool // the controls chosen
	Field      string          // the field in error
	Controls   []control.Listed
	Members    []identity.OrgMember
	Restricted bool // restricted visibility is offered: the caller reads confidential content
}

// ShowsURL tells whether the form has the link's URL.
func (f evidenceForm) ShowsURL() bool { return f.Kind == "" || f.Kind == evidence.Link }

// ShowsAttestor tells whether the form has the attestor's name and firm.
func (f evidenceForm) ShowsAttestor() bool { return f.Kind == "" || f.Kind == evidence.Attestation }

func newEvidenceForm(prefix string, kind evidence.Kind, values map[string]string, field string, controls []control.Listed,
	members []identity.OrgMember, rd evidence.Reader) evidenceForm {
	f := evidenceForm{Prefix: prefix, Kind: kind, Values: values, Selected: map[string]bool{}, Field: field, Controls: controls,
		Members: members, Restricted: rd.Restricted}
	for _, id := range strings.Split(values["control_ids"], ",") {
		if id != "" {
			f.Selected[id] = true
		}
	}
	return f
}

var evidenceFields = []string{"kind", "title", "description", "collected_on", "valid_until", "visibility", "owner_id", "url",
	"attestor_name", "attestor_firm"}

// evidenceFormInput reads an item's fields from a form, with the values to
// show again after a mistake.
func evidenceFormInput(r *http.Request, formName string) (evidence.Input, map[string]string) {
	values := map[string]string{"form": formName}
	for _, k := range evidenceFields {
		values[k] = r.PostFormValue(k)
	}
	ids := r.PostForm["control_ids"]
	values["control_ids"] = strings.Join(ids, ",")
	in := evidence.Input{Kind: evidence.Kind(values["kind"]), Title: values["title"], Description: values["description"],
		CollectedOn: strings.TrimSpace(values["collected_on"]), ValidUntil: strings.TrimSpace(values["valid_until"]),
		Visibility: evidence.Visibility(values["visibility"]), OwnerID: values["owner_id"], URL: values["url"],
		AttestorName: values["attestor_name"], AttestorFirm: values["attestor_firm"], ControlIDs: ids}
	return in, values
}

func evidenceValues(it *evidence.Evidence, live map[string]bool) map[string]string {
	var ids []string
	for _, id := range it.ControlIDs {
		if live[id] {
			ids = append(ids, id)
		}
	}
	return map[string]string{"title": it.Title, "description": it.Description, "collected_on": it.CollectedOn,
		"valid_until": it.ValidUntil, "visibility": string(it.Visibility), "owner_id": it.OwnerID, "url": it.URL,
		"attestor_name": it.AttestorName, "attestor_firm": it.AttestorFirm, "control_ids": strings.Join(ids, ",")}
}

// ---- the check form ----------------------------------------------------------------

// checkKind is a kind of automated check as the console explains it.
type checkKind struct {
	Name    string
	Does    string // what it verifies, in one line
	Target  string // what its target is
	Example string
}

// checkKindText explains each kind of check Evident runs itself.
var checkKindText = map[string]checkKind{
	check.KindHTTPHeaders: {Does: "a web page sends the security headers: HSTS of six months or more, CSP, frame protection, nosniff, Referrer-Policy",
		Target: "a URL starting with https://", Example: "https://www.example.com/"},
	check.KindTLS: {Does: "the server speaks TLS 1.2 or newer only, with a certificate valid for the host and not expiring within 21 days",
		Target: "a host or host:port", Example: "example.com:443"},
	check.KindDNS: {Does: "the domain publishes SPF (without +all), DMARC with quarantine or reject, and CAA records",
		Target: "a domain", Example: "example.com"},
	check.KindSecurityTxt: {Does: "the site publishes a security.txt with a Contact and an Expires date in the future",
		Target: "a site URL starting with https://, or a host", Example: "https://www.example.com/"},
	check.KindHTTPUp: {Does: "the URL answers with a 2xx or 3xx status within the timeout",
		Target: "a URL starting with https:// or http://", Example: "https://status.example.com/"},
}

// checkKinds lists the kinds the form offers, in the order of check.Kinds.
func checkKinds() []checkKind {
	out := make([]checkKind, 0, len(check.Kinds))
	for _, k := range check.Kinds {
		ck := checkKindText[k]
		ck.Name = k
		out = append(out, ck)
	}
	return out
}

// checkForm is what the form that adds an automated check shows.
type checkForm struct {
	Values     map[string]string
	Selected   map[string]bool // the controls chosen
	Field      string          // the field in error
	Kinds      []checkKind
	Controls   []control.Listed
	Restricted bool // restricted visibility is offered
	Min, Max   int  // interval bounds, in minutes
}

func newCheckForm(values map[string]string, field string, controls []control.Listed, rd evidence.Reader) checkForm {
	f := checkForm{Values: values, Selected: map[string]bool{}, Field: field, Kinds: checkKinds(),
		Controls: controls, Restricted: rd.Restricted, Min: evidence.MinCheckInterval, Max: evidence.MaxCheckInterval}
	for _, id := range strings.Split(values["control_ids"], ",") {
		if id != "" {
			f.Selected[id] = true
		}
	}
	return f
}

var checkFields = []string{"check_kind", "target", "title", "interval_minutes", "visibility"}

// checkFormInput reads a check's fields from the form, with the values to
// show again after a mistake.
func checkFormInput(r *http.Request) (evidence.CheckInput, map[string]string, error) {
	values := map[string]string{"form": "check"}
	for _, k := range checkFields {
		values[k] = r.PostFormValue(k)
	}
	ids := r.PostForm["control_ids"]
	values["control_ids"] = strings.Join(ids, ",")
	in := evidence.CheckInput{Kind: values["check_kind"], Target: values["target"], Title: values["title"],
		Visibility: evidence.Visibility(values["visibility"]), ControlIDs: ids}
	if v := strings.TrimSpace(values["interval_minutes"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return in, values, apperr.Field("interval_minutes", "the interval is a number of minutes from %d to %d (7 days)",
				evidence.MinCheckInterval, evidence.MaxCheckInterval)
		}
		in.IntervalMinutes = n
	}
	return in, values, nil
}

// ---- the evidence list ------------------------------------------------------------

type evidenceListData struct {
	Form            form
	Filter          map[string]string
	Filtered        bool
	Items           []evidenceRow
	Soon            int // current items ending within SoonDays
	SoonDays        int
	Control         *control.Listed // the control the list is filtered by
	Controls        []control.Listed
	ExpiringChoices []int
	Kinds           []evidence.Kind
	New             evidenceForm
	Upload          evidenceForm
	Check           checkForm
	Open            string // the form to show open: "new", "upload", "check" or "both" (upload and new)
	MaxSize         string
	CanEdit         bool
	Restricted      bool
	filterErr       error // a mistake in the filters; the page then shows every item
}

var evidenceFilterKeys = []string{"q", "kind", "visibility", "control", "expiring", "expired"}

// parseEvidenceListFilter reads the list's filters; the control must be one
// of the organisation's.
func parseEvidenceListFilter(q url.Values, controls []control.Listed) (evidence.Filter, error) {
	var f evidence.Filter
	f.Query = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Query) > 200 || !utf8.ValidString(f.Query) {
		return evidence.Filter{}, apperr.Field("q", "the search text is at most 200 characters")
	}
	kind, vis, err := parseEvidenceFilter(q.Get("kind"), q.Get("visibility"))
	if err != nil {
		return evidence.Filter{}, err
	}
	f.Kind, f.Visibility = kind, vis
	if f.ControlID = q.Get("control"); f.ControlID != "" && !controlSet(controls)[f.ControlID] {
		return evidence.Filter{}, apperr.Field("control", "the control %q is not one of the organisation's controls", f.ControlID)
	}
	if e := strings.TrimSpace(q.Get("expiring")); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 || n > evidence.MaxExpiringDays {
			return evidence.Filter{}, apperr.Field("expiring", "the expiry window is 1 to %d days", evidence.MaxExpiringDays)
		}
		f.ExpiringDays = n
	}
	switch q.Get("expired") {
	case "":
	case "1", "on", "true":
		f.Expired = true
	default:
		return evidence.Filter{}, apperr.Field("expired", "expired is 1 or absent")
	}
	return f, nil
}

// evidenceListData builds the list page; the form's values replace the
// defaults in the form that was sent.
func (s *Server) evidenceListData(r *http.Request, q url.Values, f form) (*evidenceListData, error) {
	p := principal(r)
	ctx := r.Context()
	rd := evidenceReader(p.Role)
	controls, err := s.cfg.Controls.List(ctx, p.Org.ID, control.ListFilter{})
	if err != nil {
		return nil, err
	}
	d := &evidenceListData{Form: f, Filter: map[string]string{}, Controls: controls, SoonDays: expiringSoonDays,
		ExpiringChoices: expiringChoices, Kinds: evidenceKinds, MaxSize: humanSize(s.cfg.Evidence.MaxBytes()),
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit), Restricted: rd.Restricted}
	for _, k := range evidenceFilterKeys {
		d.Filter[k] = q.Get(k)
		d.Filtered = d.Filtered || q.Get(k) != ""
	}
	filter, ferr := parseEvidenceListFilter(q, controls)
	if ferr != nil {
		filter, d.filterErr = evidence.Filter{}, ferr
	}
	if filter.ExpiringDays > 0 && !slices.Contains(d.ExpiringChoices, filter.ExpiringDays) {
		d.ExpiringChoices = append(append([]int{}, expiringChoices...), filter.ExpiringDays)
	}
	soon, err := s.endingSoon(ctx, p.Org.ID, rd)
	if err != nil {
		return nil, err
	}
	d.Soon = len(soon)
	items, err := s.cfg.Evidence.List(ctx, p.Org.ID, filter, rd)
	if err != nil {
		return nil, err
	}
	d.Items = evidenceRows(items, soon, controlSet(controls))
	for i := range controls {
		if controls[i].ID == filter.ControlID {
			d.Control = &controls[i]
		}
	}
	if !d.CanEdit {
		return d, nil
	}
	members, err := s.cfg.Identity.Members(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	defaults := func() map[string]string {
		return map[string]string{"kind": string(evidence.Link), "visibility": string(evidence.Private), "control_ids": filter.ControlID}
	}
	newValues, newField, upValues, upField := defaults(), "", defaults(), ""
	checkValues, checkField := map[string]string{"check_kind": check.KindHTTPHeaders, "visibility": string(evidence.Private),
		"interval_minutes": strconv.Itoa(evidence.DefaultCheckInterval), "control_ids": filter.ControlID}, ""
	switch d.Open = f.Values["form"]; d.Open {
	case "new":
		newValues, newField = f.Values, f.Field
	case "upload":
		upValues, upField = f.Values, f.Field
	case "check":
		checkValues, checkField = f.Values, f.Field
	default:
		if filter.ControlID != "" {
			d.Open = "both" // the control page's "Add evidence" leads here
		}
	}
	d.New = newEvidenceForm("new", "", newValues, newField, controls, members, rd)
	d.Upload = newEvidenceForm("upload", evidence.File, upValues, upField, controls, members, rd)
	d.Check = newCheckForm(checkValues, checkField, controls, rd)
	return d, nil
}

func (s *Server) evidenceListPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := s.evidenceListData(r, q, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	if d.filterErr != nil {
		renderForm(w, r, "evidence_list", d.filterErr, func(f form) any { d.Form = f; return d }, d.Filter)
		return
	}
	render(w, r, "evidence_list", d)
}

// evidenceListFailed shows the list again with the mistake of a form that
// adds an item. A file over the limit is the uploader's to fix too (413).
func (s *Server) evidenceListFailed(w http.ResponseWriter, r *http.Request, err error, values map[string]string) {
	f, ok := formError(err, values)
	if !ok && apperr.CodeOf(err) == apperr.TooLarge {
		f, ok = form{Error: apperr.MessageOf(err), Field: "file", Values: values}, true
	}
	if !ok {
		Error(w, r, err)
		return
	}
	d, lerr := s.evidenceListData(r, url.Values{}, f)
	if lerr != nil {
		Error(w, r, lerr)
		return
	}
	renderStatus(w, r, StatusOf(apperr.CodeOf(err)), "evidence_list", d)
}

func (s *Server) createEvidenceItem(w http.ResponseWriter, r *http.Request) {
	in, values := evidenceFormInput(r, "new")
	it, err := s.cfg.Evidence.Create(r.Context(), principal(r).Org.ID, in)
	if err != nil {
		s.evidenceListFailed(w, r, err, values)
		return
	}
	seeOther(w, r, orgPath(r, "evidence", it.ID))
}

// uploadEvidenceItem streams a multipart upload: the fields come first, then
// the file, which is never held in memory. After a mistake the form shows the
// fields read again; the file must be chosen again.
func (s *Server) uploadEvidenceItem(w http.ResponseWriter, r *http.Request) {
	it, in, err := s.readUpload(w, r, principal(r).Org.ID)
	if err != nil {
		s.evidenceListFailed(w, r, err, uploadValues(in))
		return
	}
	seeOther(w, r, orgPath(r, "evidence", it.ID))
}

// uploadValues are the fields of an upload, to show again after a mistake.
func uploadValues(in evidence.Input) map[string]string {
	return map[string]string{"form": "upload", "title": in.Title, "description": in.Description, "collected_on": in.CollectedOn,
		"valid_until": in.ValidUntil, "visibility": string(in.Visibility), "owner_id": in.OwnerID,
		"control_ids": strings.Join(in.ControlIDs, ",")}
}

// createCheckItem adds an automated check; its first run is queued.
func (s *Server) createCheckItem(w http.ResponseWriter, r *http.Request) {
	in, values, err := checkFormInput(r)
	var it *evidence.Evidence
	if err == nil {
		it, err = s.cfg.Evidence.CreateCheck(r.Context(), principal(r).Org.ID, in)
	}
	if err != nil {
		s.evidenceListFailed(w, r, err, values)
		return
	}
	seeOther(w, r, orgPath(r, "evidence", it.ID))
}

// ---- one item ------------------------------------------------------------------

type evidencePageData struct {
	Form     form
	Item     evidenceRow
	Owner    string
	AddedBy  string
	Size     string
	Controls []control.Listed // the live controls it is linked to
	Gone     int              // links to controls since deleted
	Edit     evidenceForm
	CanEdit  bool
	Editable bool       // its fields are edited here: checks and policy versions are changed by their own features
	Check    *checkView // the check of an item of kind check
}

// Limits of the check's history on its page.
const (
	maxRunsShown   = 20
	maxStatesShown = 50
)

// checkView is the check section of an item's page.
type checkView struct {
	evidence.CheckInfo
	Pushed     bool   // its results are pushed by a CI job or script: Evident does not run it
	Does       string // what its kind verifies
	Interval   string // in words
	Required   []string
	AllOfKind  bool // no assertion was chosen: all of the kind's are required
	CanRun     bool
	Runs       []checkRunRow
	MoreRuns   int // runs kept but not shown
	States     []evidence.CheckState
	MoreStates int
}

// checkRunRow is one run as the page shows it.
type checkRunRow struct {
	evidence.CheckRun
	Duration string
	Failed   []failedAssertion
}

type failedAssertion struct {
	check.Assertion
	Optional bool // not among the assertions required: it does not fail the run
}

// everyMinutes writes a check's interval for people.
func everyMinutes(n int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "every " + unit
		}
		return "every " + strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case n > 0 && n%(24*60) == 0:
		return plural(n/(24*60), "day")
	case n > 0 && n%60 == 0:
		return plural(n/60, "hour")
	}
	return plural(n, "minute")
}

// humanDuration writes a run's duration for people.
func humanDuration(ms int64) string {
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
}

// checkData builds the check section of an item's page from its history.
func (s *Server) checkData(ctx context.Context, p *Principal, it *evidence.Evidence, canEdit bool) (*checkView, error) {
	runs, states, err := s.cfg.Evidence.CheckHistory(ctx, p.Org.ID, it.ID, evidenceReader(p.Role))
	if err != nil {
		return nil, err
	}
	c := &checkView{CheckInfo: *it.Check, Pushed: it.Check.Kind == evidence.PushKind, Interval: everyMinutes(it.Check.IntervalMinutes)}
	c.CanRun = canEdit && !c.Pushed
	if c.Pushed {
		c.Does = "a CI job or script reports pass or fail"
	} else {
		c.Does = checkKindText[c.Kind].Does
	}
	c.Required = c.Assertions
	if len(c.Required) == 0 && !c.Pushed {
		c.Required, c.AllOfKind = evidence.AssertionsOf(c.Kind), true
	}
	required := map[string]bool{}
	for _, a := range c.Assertions {
		required[a] = true
	}
	if len(runs) > maxRunsShown {
		c.MoreRuns, runs = len(runs)-maxRunsShown, runs[:maxRunsShown]
	}
	for _, run := range runs {
		row := checkRunRow{CheckRun: run, Duration: humanDuration(run.DurationMS)}
		for _, a := range run.Assertions {
			if !a.Passed {
				row.Failed = append(row.Failed, failedAssertion{Assertion: a, Optional: len(required) > 0 && !required[a.Name]})
			}
		}
		c.Runs = append(c.Runs, row)
	}
	if len(states) > maxStatesShown {
		c.MoreStates, states = len(states)-maxStatesShown, states[:maxStatesShown]
	}
	c.States = states
	return c, nil
}

// addedBy names who added an item, from the actor the service recorded;
// "" when the system did.
func addedBy(members []identity.OrgMember, actor string) string {
	kind, id, _ := strings.Cut(actor, ":")
	switch kind {
	case "user":
		if name := memberName(members, id); name != "" {
			return name
		}
		return "a former member"
	case "token":
		return "an API token"
	}
	return ""
}

// evidenceData builds an item's page; the form's values replace the stored
// ones in the form that was sent.
func (s *Server) evidenceData(ctx context.Context, p *Principal, it *evidence.Evidence, f form) (*evidencePageData, error) {
	rd := evidenceReader(p.Role)
	d := &evidencePageData{Form: f, CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	switch it.Kind {
	case evidence.File, evidence.Link, evidence.Note, evidence.Attestation:
		d.Editable = d.CanEdit
	}
	soon, err := s.endingSoon(ctx, p.Org.ID, rd)
	if err != nil {
		return nil, err
	}
	controls, err := s.cfg.Controls.List(ctx, p.Org.ID, control.ListFilter{})
	if err != nil {
		return nil, err
	}
	live := controlSet(controls)
	d.Item = evidenceRows([]evidence.Evidence{*it}, soon, live)[0]
	linked := map[string]bool{}
	for _, id := range it.ControlIDs {
		linked[id] = true
	}
	for _, c := range controls {
		if linked[c.ID] {
			d.Controls = append(d.Controls, c)
		}
	}
	d.Gone = len(it.ControlIDs) - len(d.Controls)
	members, err := s.cfg.Identity.Members(ctx, p.Org.ID)
	if err != nil {
		return nil, err
	}
	d.Owner, d.AddedBy = memberName(members, it.OwnerID), addedBy(members, it.CreatedBy)
	if it.File != nil {
		d.Size = humanSize(it.File.Size)
	}
	values, field := evidenceValues(it, live), ""
	if f.Values["form"] == "edit" {
		values, field = f.Values, f.Field
	}
	d.Edit = newEvidenceForm("edit", it.Kind, values, field, controls, members, rd)
	if it.Kind == evidence.Check && it.Check != nil {
		if d.Check, err = s.checkData(ctx, p, it, d.CanEdit); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// withEvidence runs fn on the item the path names, answering 404 for an
// item that is not the organisation's or that the caller may not see.
func (s *Server) withEvidence(w http.ResponseWriter, r *http.Request, fn func(p *Principal, it *evidence.Evidence)) {
	p := principal(r)
	it, err := s.cfg.Evidence.Get(r.Context(), p.Org.ID, r.PathValue("id"), evidenceReader(p.Role))
	if err != nil {
		Error(w, r, err)
		return
	}
	fn(p, it)
}

// evidenceFailed shows the item's page again with a mistake.
func (s *Server) evidenceFailed(w http.ResponseWriter, r *http.Request, p *Principal, it *evidence.Evidence, err error, values map[string]string) {
	formFailed(w, r, "evidence", err, values, func(f form) (any, error) { return s.evidenceData(r.Context(), p, it, f) })
}

func (s *Server) evidencePage(w http.ResponseWriter, r *http.Request) {
	s.withEvidence(w, r, func(p *Principal, it *evidence.Evidence) {
		d, err := s.evidenceData(r.Context(), p, it, form{})
		if err != nil {
			Error(w, r, err)
			return
		}
		render(w, r, "evidence", d)
	})
}

func (s *Server) updateEvidenceItem(w http.ResponseWriter, r *http.Request) {
	s.withEvidence(w, r, func(p *Principal, it *evidence.Evidence) {
		in, values := evidenceFormInput(r, "edit")
		if _, err := s.cfg.Evidence.Update(r.Context(), p.Org.ID, it.ID, in, evidenceReader(p.Role)); err != nil {
			s.evidenceFailed(w, r, p, it, err, values)
			return
		}
		seeOther(w, r, orgPath(r, "evidence", it.ID))
	})
}

// runCheckItem runs a check now and shows its page with the run.
func (s *Server) runCheckItem(w http.ResponseWriter, r *http.Request) {
	s.withEvidence(w, r, func(p *Principal, it *evidence.Evidence) {
		var err error
		if it.Kind != evidence.Check {
			err = apperr.New(apperr.Invalid, "only automated checks run; this item is a %s", strings.ReplaceAll(string(it.Kind), "_", " "))
		} else {
			_, err = s.cfg.Evidence.RunCheck(r.Context(), p.Org.ID, it.ID)
		}
		if err != nil {
			s.evidenceFailed(w, r, p, it, err, map[string]string{"form": "run"})
			return
		}
		seeOther(w, r, orgPath(r, "evidence", it.ID))
	})
}

func (s *Server) deleteEvidenceItem(w http.ResponseWriter, r *http.Request) {
	s.withEvidence(w, r, func(p *Principal, it *evidence.Evidence) {
		var err error
		if r.PostFormValue("confirm") == "" {
			err = apperr.Field("confirm", "tick “I understand the item and its links to controls are deleted” to delete it")
		} else {
			err = s.cfg.Evidence.Delete(r.Context(), p.Org.ID, it.ID, evidenceReader(p.Role))
		}
		if err != nil {
			s.evidenceFailed(w, r, p, it, err, map[string]string{"form": "delete"})
			return
		}
		seeOther(w, r, orgPath(r, "evidence"))
	})
}

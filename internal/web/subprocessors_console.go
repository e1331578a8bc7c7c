package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subprocessor"
)

// Subprocessors in the console: the list in chain order with the registers,
// one subprocessor's page, and the forms that change them.

func (s *Server) registerSubprocessorConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors", identity.ContentRead, s.subprocessorsPage)
	rt.HandleFunc("POST", "/app/o/{slug}/subprocessors", identity.ContentEdit, s.createSubprocessor)
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors/register-art30.csv", identity.ContentRead, s.registerDownload("art30"))
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors/register-dora.csv", identity.ContentRead, s.registerDownload("dora"))
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors/notices", identity.ContentRead, s.noticesPage)
	rt.HandleFunc("POST", "/app/o/{slug}/subprocessors/notices/settings", identity.SettingsManage, s.setNoticeDays)
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors/notices/{id}", identity.ContentRead, s.noticePage)
	rt.HandleFunc("GET", "/app/o/{slug}/subscribers", identity.SettingsManage, s.subscribersPage)
	rt.HandleFunc("POST", "/app/o/{slug}/subscribers/{id}/delete", identity.SettingsManage, s.deleteSubscriber)
	rt.HandleFunc("GET", "/app/o/{slug}/subprocessors/{id}", identity.ContentRead, s.subprocessorPage)
	rt.HandleFunc("POST", "/app/o/{slug}/subprocessors/{id}", identity.ContentEdit, s.updateSubprocessor)
	rt.HandleFunc("POST", "/app/o/{slug}/subprocessors/{id}/delete", identity.ContentEdit, s.deleteSubprocessor)
}

// spOption is one choice of a select.
type spOption struct{ Value, Label string }

// spOptions are the choices of the subprocessor form's selects.
type spOptions struct {
	Mechanisms, DPAStatuses, Statuses, Visibilities []spOption
}

var subprocessorOptions = spOptions{
	Mechanisms: []spOption{{"adequacy", "adequacy decision"}, {"scc", "standard contractual clauses"},
		{"bcr", "binding corporate rules"}, {"none", "none"}, {"not_applicable", "not applicable (no transfer)"}},
	DPAStatuses:  []spOption{{"signed", "signed"}, {"pending", "pending"}, {"none", "none"}},
	Statuses:     []spOption{{"planned", "planned"}, {"active", "active"}, {"removed", "removed"}},
	Visibilities: []spOption{{"public", "public"}, {"private", "private"}},
}

func optionLabel(list []spOption, v string) string {
	for _, o := range list {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

// spRow is a subprocessor with its place in the chain.
type spRow struct {
	subprocessor.Subprocessor
	Depth      int
	ParentName string
}

// DepthClass caps the indentation of deep chains.
func (r spRow) DepthClass() string {
	return "sp-depth-" + strconv.Itoa(min(r.Depth, 3))
}

// MechanismLabel is the transfer mechanism in words.
func (r spRow) MechanismLabel() string {
	return optionLabel(subprocessorOptions.Mechanisms, r.TransferMechanism)
}

// spRows gives each subprocessor of a list in chain order its depth and its
// parent's name.
func spRows(list []subprocessor.Subprocessor) []spRow {
	byID := map[string]int{}
	rows := make([]spRow, len(list))
	for i, sp := range list {
		rows[i] = spRow{Subprocessor: sp}
		if p, ok := byID[sp.ParentID]; ok {
			rows[i].Depth, rows[i].ParentName = rows[p].Depth+1, rows[p].Name
		}
		byID[sp.ID] = i
	}
	return rows
}

type subprocessorsPageData struct {
	Form          form
	Subprocessors []spRow
	Parents       []spRow
	Options       spOptions
	CanEdit       bool
	NewOpen       bool
	NoticeDays    int
}

type subprocessorPageData struct {
	Form         form
	Subprocessor spRow
	Parents      []spRow // every subprocessor but this one and its subcontractors
	Children     []spRow
	Options      spOptions
	CanEdit      bool
	NoticeDays   int
	DeleteForm   form // the deletion's own error and notice terms
}

// splitCountries reads codes separated by spaces, commas or semicolons.
func splitCountries(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
}

// splitLines reads one value a line.
func splitLines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var subprocessorFields = []string{"name", "lei", "purpose", "function", "category", "data_categories", "processing_countries",
	"storage_countries", "transfer_mechanism", "dpa_status", "dpa_url", "website", "status", "visibility", "since", "parent_id",
	"notice_effective_on", "notice_reason"}

// noticeTerms reads the change notice fields of a subprocessor form.
func noticeTerms(r *http.Request) subprocessor.Terms {
	return subprocessor.Terms{EffectiveOn: r.PostFormValue("notice_effective_on"), Reason: r.PostFormValue("notice_reason")}
}

func subprocessorFormInput(r *http.Request) (subprocessor.Input, map[string]string) {
	_ = r.ParseForm()
	v := map[string]string{}
	for _, k := range subprocessorFields {
		v[k] = r.PostFormValue(k)
	}
	return subprocessor.Input{Name: v["name"], LEI: v["lei"], Purpose: v["purpose"], Function: v["function"], Category: v["category"],
		DataCategories: splitLines(v["data_categories"]), ProcessingCountries: splitCountries(v["processing_countries"]),
		StorageCountries: splitCountries(v["storage_countries"]), TransferMechanism: v["transfer_mechanism"],
		DPAStatus: v["dpa_status"], DPAURL: v["dpa_url"], Website: v["website"], Status: v["status"],
		Visibility: v["visibility"], Since: v["since"], ParentID: v["parent_id"]}, v
}

func subprocessorValues(sp *subprocessor.Subprocessor) map[string]string {
	return map[string]string{"name": sp.Name, "lei": sp.LEI, "purpose": sp.Purpose, "function": sp.Function, "category": sp.Category,
		"data_categories": strings.Join(sp.DataCategories, "\n"), "processing_countries": strings.Join(sp.ProcessingCountries, " "),
		"storage_countries": strings.Join(sp.StorageCountries, " "), "transfer_mechanism": sp.TransferMechanism,
		"dpa_status": sp.DPAStatus, "dpa_url": sp.DPAURL, "website": sp.Website, "status": sp.Status,
		"visibility": sp.Visibility, "since": sp.Since, "parent_id": sp.ParentID}
}

func (s *Server) subprocessorsData(r *http.Request, f form) (subprocessorsPageData, error) {
	p := principal(r)
	list, err := s.cfg.Subprocessors.List(r.Context(), p.Org.ID, false)
	if err != nil {
		return subprocessorsPageData{}, err
	}
	if f.Values == nil {
		f.Values = map[string]string{"transfer_mechanism": "not_applicable", "dpa_status": "none", "status": "active", "visibility": "public"}
	}
	days, err := s.cfg.Subprocessors.NoticeDays(r.Context(), p.Org.ID)
	if err != nil {
		return subprocessorsPageData{}, err
	}
	rows := spRows(list)
	return subprocessorsPageData{Form: f, Subprocessors: rows, Parents: rows, Options: subprocessorOptions,
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit), NewOpen: f.Error != "", NoticeDays: days}, nil
}

func (s *Server) subprocessorsPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.subprocessorsData(r, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "subprocessors", data)
}

func (s *Server) createSubprocessor(w http.ResponseWriter, r *http.Request) {
	in, values := subprocessorFormInput(r)
	sp, err := s.cfg.Subprocessors.Create(r.Context(), principal(r).Org.ID, in, noticeTerms(r))
	if err != nil {
		renderFormLoad(w, r, "subprocessors", err, values, func(f form) (any, error) { return s.subprocessorsData(r, f) })
		return
	}
	seeOther(w, r, "/app/o/"+principal(r).Org.Slug+"/subprocessors/"+sp.ID)
}

func (s *Server) subprocessorData(r *http.Request, f form) (subprocessorPageData, error) {
	p := principal(r)
	list, err := s.cfg.Subprocessors.List(r.Context(), p.Org.ID, false)
	if err != nil {
		return subprocessorPageData{}, err
	}
	days, err := s.cfg.Subprocessors.NoticeDays(r.Context(), p.Org.ID)
	if err != nil {
		return subprocessorPageData{}, err
	}
	rows := spRows(list)
	id := r.PathValue("id")
	data := subprocessorPageData{Options: subprocessorOptions, CanEdit: identity.Allowed(p.Role, identity.ContentEdit), NoticeDays: days}
	found, below := false, -1
	for _, row := range rows {
		switch {
		case row.ID == id:
			data.Subprocessor, found, below = row, true, row.Depth
		case below >= 0 && row.Depth > below:
			if row.Depth == below+1 {
				data.Children = append(data.Children, row)
			}
		default:
			below = -1
			data.Parents = append(data.Parents, row)
		}
	}
	if !found {
		return subprocessorPageData{}, apperr.New(apperr.NotFound, "no such subprocessor")
	}
	if f.Values == nil {
		f.Values = subprocessorValues(&data.Subprocessor.Subprocessor)
	}
	data.Form = f
	return data, nil
}

func (s *Server) subprocessorPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.subprocessorData(r, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "subprocessor", data)
}

func (s *Server) updateSubprocessor(w http.ResponseWriter, r *http.Request) {
	in, values := subprocessorFormInput(r)
	p := principal(r)
	_, err := s.cfg.Subprocessors.Update(r.Context(), p.Org.ID, r.PathValue("id"), in, noticeTerms(r))
	if err != nil {
		renderFormLoad(w, r, "subprocessor", err, values, func(f form) (any, error) { return s.subprocessorData(r, f) })
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/subprocessors/"+r.PathValue("id"))
}

func (s *Server) deleteSubprocessor(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if r.PostFormValue("confirm") == "" {
		data, err := s.subprocessorData(r, form{})
		if err != nil {
			Error(w, r, err)
			return
		}
		data.DeleteForm = form{Error: "tick the box to confirm the deletion", Field: "confirm",
			Values: map[string]string{"notice_effective_on": r.PostFormValue("notice_effective_on"), "notice_reason": r.PostFormValue("notice_reason")}}
		renderStatus(w, r, http.StatusBadRequest, "subprocessor", data)
		return
	}
	if err := s.cfg.Subprocessors.Delete(r.Context(), p.Org.ID, r.PathValue("id"), noticeTerms(r)); err != nil {
		code := apperr.CodeOf(err)
		if code != apperr.Conflict && code != apperr.Invalid {
			Error(w, r, err)
			return
		}
		field := apperr.FieldOf(err)
		if field == "" {
			field = "confirm"
		}
		f := form{Error: apperr.MessageOf(err), Field: field,
			Values: map[string]string{"notice_effective_on": r.PostFormValue("notice_effective_on"), "notice_reason": r.PostFormValue("notice_reason")}}
		data, derr := s.subprocessorData(r, form{})
		if derr != nil {
			Error(w, r, derr)
			return
		}
		data.DeleteForm = f
		renderStatus(w, r, StatusOf(code), "subprocessor", data)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/subprocessors")
}

// registerDownload serves a register of the subprocessors as CSV.
func (s *Server) registerDownload(register string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		list, err := s.cfg.Subprocessors.List(r.Context(), p.Org.ID, false)
		if err != nil {
			Error(w, r, err)
			return
		}
		body := subprocessor.Art30CSV(list)
		if register == "dora" {
			body = subprocessor.DORACSV(list)
		}
		download(w, "text/csv; charset=utf-8", "subprocessors-"+p.Org.Slug+"-"+register+".csv", body)
	}
}

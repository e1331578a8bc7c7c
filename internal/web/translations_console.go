package web

import (
	"net/http"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/translation"
)

// The console page where the public texts of a row (a measure, a
// subprocessor, a certification, a roadmap item, a GDPR commitment, the
// profile's architecture, a control) are translated, one form per field and
// language.

func (s *Server) registerTranslationConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/translations/{entity}/{id}", identity.ContentRead, s.translationsPage)
	rt.HandleFunc("POST", "/app/o/{slug}/translations/{entity}/{id}", identity.ContentEdit, s.saveTranslation)
}

// fieldLabels name the translatable fields on the page.
var fieldLabels = map[string]string{"title": "Title", "description": "Description", "purpose": "Purpose",
	"function": "Function supported", "name": "Name", "scope": "Scope", "text": "Commitment", "architecture": "Architecture summary"}

type translationLang struct {
	Lang, Label, Text string
	Invalid           bool // the text sent in this form was refused
}

type translationField struct {
	Field, Label, Original string
	Max                    int
	Long                   bool // a textarea rather than one line
	Langs                  []translationLang
}

type translationsPageData struct {
	Form      form
	Entity    string
	ID        string
	Heading   string // what the row is, in words
	Back      string // the row's own page
	BackLabel string
	Fields    []translationField
	Saved     bool
	CanEdit   bool
}

// translationTarget says what a row is called and where its own page is.
func translationTarget(r *http.Request, it *translation.Item) (heading, back, backLabel string) {
	switch it.Entity {
	case "control":
		return it.Name, orgPath(r, "controls", it.ID), it.Name
	case "measure":
		return it.Name, orgPath(r, "measures", it.ID), it.Name
	case "subprocessor":
		return it.Name, orgPath(r, "subprocessors", it.ID), it.Name
	case "certification":
		return it.Name, orgPath(r, "profile") + "#certifications", "Organisation profile"
	case "roadmap":
		return it.Name, orgPath(r, "profile") + "#roadmap", "Organisation profile"
	case "gdpr":
		title, _ := org.GDPRArticleTitle(it.ID)
		return "GDPR Art. " + it.ID + " · " + title, orgPath(r, "profile") + "#gdpr", "Organisation profile"
	}
	return "Organisation profile", orgPath(r, "profile") + "#hosting", "Organisation profile"
}

// translationsData builds the page; the form's values replace the stored
// text in the form that was sent.
func (s *Server) translationsData(r *http.Request, it *translation.Item, f form) (*translationsPageData, error) {
	p := principal(r)
	ts, err := s.cfg.Translations.List(r.Context(), p.Org.ID, it.Entity, it.ID)
	if err != nil {
		return nil, err
	}
	d := &translationsPageData{Form: f, Entity: it.Entity, ID: it.ID, Saved: r.URL.Query().Get("saved") != "",
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	d.Heading, d.Back, d.BackLabel = translationTarget(r, it)
	fields, _ := translation.Fields(it.Entity)
	for _, fl := range fields {
		row := translationField{Field: fl.Name, Label: fieldLabels[fl.Name], Original: it.Original[fl.Name], Max: fl.Max, Long: fl.Max > 200}
		for _, lang := range translation.Languages {
			tl := translationLang{Lang: lang, Label: row.Label + " in " + langName(lang)}
			for _, t := range ts {
				if t.Field == fl.Name && t.Lang == lang {
					tl.Text = t.Text
				}
			}
			if f.Values["field"] == fl.Name && f.Values["lang"] == lang {
				tl.Text, tl.Invalid = f.Values["text"], f.Field == "text"
			}
			row.Langs = append(row.Langs, tl)
		}
		d.Fields = append(d.Fields, row)
	}
	return d, nil
}

// withTranslationItem runs fn on the row the path names, answering 404 for
// an unknown entity and for a row that is not the organisation's.
func (s *Server) withTranslationItem(w http.ResponseWriter, r *http.Request, fn func(p *Principal, it *translation.Item)) {
	p := principal(r)
	if _, ok := translation.Fields(r.PathValue("entity")); !ok {
		Error(w, r, errNotFound)
		return
	}
	it, err := s.cfg.Translations.Item(r.Context(), p.Org.ID, r.PathValue("entity"), r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	fn(p, it)
}

func (s *Server) translationsPage(w http.ResponseWriter, r *http.Request) {
	s.withTranslationItem(w, r, func(_ *Principal, it *translation.Item) {
		d, err := s.translationsData(r, it, form{})
		if err != nil {
			Error(w, r, err)
			return
		}
		render(w, r, "translations", d)
	})
}

func (s *Server) saveTranslation(w http.ResponseWriter, r *http.Request) {
	s.withTranslationItem(w, r, func(p *Principal, it *translation.Item) {
		values := map[string]string{"field": r.PostFormValue("field"), "lang": r.PostFormValue("lang"), "text": r.PostFormValue("text")}
		if err := s.cfg.Translations.Set(r.Context(), p.Org.ID, it.Entity, it.ID, values["field"], values["lang"], values["text"]); err != nil {
			formFailed(w, r, "translations", err, values, func(f form) (any, error) { return s.translationsData(r, it, f) })
			return
		}
		seeOther(w, r, orgPath(r, "translations", it.Entity, it.ID)+"?saved=1#tr-"+values["field"]+"-"+values["lang"])
	})
}

package web

import (
	"net/http"
	"slices"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/webhook"
)

// Webhook endpoints in the console: the list with the form that adds one
// (and shows its secret once), and an endpoint's page with its settings,
// secret rotation, the test button and the delivery log. Admins only.

func (s *Server) registerWebhookConsole() {
	rt := s.Router
	perm := identity.SettingsManage
	rt.HandleFunc("GET", "/app/o/{slug}/webhooks", perm, s.webhooksPage)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks", perm, s.createWebhook)
	rt.HandleFunc("GET", "/app/o/{slug}/webhooks/{id}", perm, s.webhookPage)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks/{id}", perm, s.updateWebhook)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks/{id}/rotate", perm, s.rotateWebhookSecret)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks/{id}/test", perm, s.testWebhook)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks/{id}/delete", perm, s.deleteWebhook)
	rt.HandleFunc("POST", "/app/o/{slug}/webhooks/messages/{message}/redeliver", perm, s.redeliverWebhook)
}

// webhookTopicLabels say in words what each topic carries, and its event
// types; a topic without a label shows its name.
var webhookTopicLabels = map[string][2]string{
	"subprocessors": {"Subprocessor change notices", "subprocessor.notice.created"},
}

// topicOption is one checkbox of the topics field.
type topicOption struct {
	Value, Label, Events string
	Checked              bool
}

func topicOptions(selected []string) []topicOption {
	out := make([]topicOption, 0, len(webhook.Topics))
	for _, t := range webhook.Topics {
		label := webhookTopicLabels[t]
		if label[0] == "" {
			label[0] = t
		}
		out = append(out, topicOption{Value: t, Label: label[0], Events: label[1], Checked: slices.Contains(selected, t)})
	}
	return out
}

// webhookForm is what the create and edit forms show: the typed values and
// the chosen topics.
type webhookForm struct {
	form
	Topics []topicOption
}

func webhookFormInput(r *http.Request) (webhook.Input, webhookForm) {
	_ = r.ParseForm()
	in := webhook.Input{URL: r.PostFormValue("url"), Description: r.PostFormValue("description"), Topics: r.PostForm["topics"],
		Active: r.PostFormValue("active") != ""}
	active := ""
	if in.Active {
		active = "on"
	}
	return in, webhookForm{form: form{Values: map[string]string{"url": in.URL, "description": in.Description, "active": active}},
		Topics: topicOptions(in.Topics)}
}

func endpointForm(e *webhook.Endpoint) webhookForm {
	active := ""
	if e.Active {
		active = "on"
	}
	return webhookForm{form: form{Values: map[string]string{"url": e.URL, "description": e.Description, "active": active}},
		Topics: topicOptions(e.Topics)}
}

type webhooksPageData struct {
	Form      webhookForm
	Endpoints []webhook.Endpoint
	NewOpen   bool
	// Created and NewSecret are set once, on the answer to the creation.
	Created   *webhook.Endpoint
	NewSecret string
	Done      string
}

type webhookPageData struct {
	Form       webhookForm
	Endpoint   *webhook.Endpoint
	Deliveries []webhook.Message
	NewSecret  string // set once, on the answer to a rotation
	Done       string
}

func (s *Server) webhooksData(r *http.Request, f webhookForm) (webhooksPageData, error) {
	list, err := s.cfg.Webhooks.List(r.Context(), principal(r).Org.ID)
	if err != nil {
		return webhooksPageData{}, err
	}
	if f.Values == nil {
		// A new endpoint is active and subscribed to every topic unless
		// the admin says otherwise.
		f = webhookForm{form: form{Values: map[string]string{"active": "on"}}, Topics: topicOptions(webhook.Topics)}
	}
	return webhooksPageData{Form: f, Endpoints: list, NewOpen: f.Error != "", Done: r.URL.Query().Get("done")}, nil
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.webhooksData(r, webhookForm{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "webhooks", data)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in, f := webhookFormInput(r)
	e, secret, err := s.cfg.Webhooks.Create(r.Context(), principal(r).Org.ID, in)
	status := http.StatusOK
	if err != nil {
		fe, ok := formError(err, f.Values)
		if !ok {
			Error(w, r, err)
			return
		}
		f.form, status = fe, StatusOf(apperr.CodeOf(err))
	}
	data, derr := s.webhooksData(r, f)
	if derr != nil {
		Error(w, r, derr)
		return
	}
	if err == nil {
		// The secret is shown in this answer only: no redirect, so it is
		// never in a URL or a later page.
		data.Form, data.NewOpen = webhookForm{form: form{Values: map[string]string{"active": "on"}}, Topics: topicOptions(webhook.Topics)}, false
		data.Created, data.NewSecret = e, secret
	}
	renderStatus(w, r, status, "webhooks", data)
}

func (s *Server) webhookData(r *http.Request, f *webhookForm) (webhookPageData, error) {
	p := principal(r)
	e, err := s.cfg.Webhooks.Get(r.Context(), p.Org.ID, r.PathValue("id"))
	if err != nil {
		return webhookPageData{}, err
	}
	deliveries, err := s.cfg.Webhooks.Deliveries(r.Context(), p.Org.ID, e.ID, 50)
	if err != nil {
		return webhookPageData{}, err
	}
	data := webhookPageData{Endpoint: e, Deliveries: deliveries, Done: r.URL.Query().Get("done"), Form: endpointForm(e)}
	if f != nil {
		data.Form = *f
	}
	return data, nil
}

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request) {
	data, err := s.webhookData(r, nil)
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "webhook", data)
}

func (s *Server) webhookURL(r *http.Request, id, done string) string {
	return "/app/o/" + principal(r).Org.Slug + "/webhooks/" + id + "?done=" + done
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	in, f := webhookFormInput(r)
	_, err := s.cfg.Webhooks.Update(r.Context(), principal(r).Org.ID, r.PathValue("id"), in)
	if err != nil {
		// The page is read again: another organisation's id ends here as 404.
		renderFormLoad(w, r, "webhook", err, f.Values, func(fe form) (any, error) {
			f.form = fe
			return s.webhookData(r, &f)
		})
		return
	}
	seeOther(w, r, s.webhookURL(r, r.PathValue("id"), "saved"))
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	_, secret, err := s.cfg.Webhooks.RotateSecret(r.Context(), principal(r).Org.ID, r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	data, err := s.webhookData(r, nil)
	if err != nil {
		Error(w, r, err)
		return
	}
	data.NewSecret = secret
	render(w, r, "webhook", data)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.Webhooks.SendTest(r.Context(), principal(r).Org.ID, r.PathValue("id")); err != nil {
		if apperr.CodeOf(err) != apperr.Conflict {
			Error(w, r, err)
			return
		}
		s.webhookPageError(w, r, err, "test")
		return
	}
	seeOther(w, r, s.webhookURL(r, r.PathValue("id"), "test"))
}

// webhookPageError shows the endpoint's page again with a refusal the admin
// can act on (a paused endpoint, say), next to the form named by field.
func (s *Server) webhookPageError(w http.ResponseWriter, r *http.Request, err error, field string) {
	data, derr := s.webhookData(r, nil)
	if derr != nil {
		Error(w, r, derr)
		return
	}
	data.Form.Error, data.Form.Field = apperr.MessageOf(err), field
	renderStatus(w, r, StatusOf(apperr.CodeOf(err)), "webhook", data)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("confirm") == "" {
		s.webhookPageError(w, r, apperr.Field("confirm", "tick the box to confirm the deletion"), "confirm")
		return
	}
	if err := s.cfg.Webhooks.Delete(r.Context(), principal(r).Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+principal(r).Org.Slug+"/webhooks?done=deleted")
}

func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Webhooks.Redeliver(r.Context(), principal(r).Org.ID, r.PathValue("message"))
	if err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, s.webhookURL(r, m.EndpointID, "redelivered"))
}

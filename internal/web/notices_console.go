package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
)

// Change notices and subscribers in the console: the notices with their
// objections, the notice period, and the list of subscribers (admins only:
// it holds e-mail addresses).

type noticesPageData struct {
	Form        form
	Saved       bool
	Notices     []subprocessor.Notice
	NoticeDays  int
	CanSettings bool
	Subscribers map[string]int // by state
}

const noticesShown = 200

func (s *Server) noticesData(r *http.Request, f form) (noticesPageData, error) {
	p := principal(r)
	ctx := r.Context()
	list, err := s.cfg.Subprocessors.Notices(ctx, p.Org.ID, noticesShown)
	if err != nil {
		return noticesPageData{}, err
	}
	days, err := s.cfg.Subprocessors.NoticeDays(ctx, p.Org.ID)
	if err != nil {
		return noticesPageData{}, err
	}
	d := noticesPageData{Notices: list, NoticeDays: days, CanSettings: identity.Allowed(p.Role, identity.SettingsManage),
		Saved: r.URL.Query().Get("done") != ""}
	if d.CanSettings {
		subs, err := s.cfg.Subscribers.List(ctx, p.Org.ID)
		if err != nil {
			return noticesPageData{}, err
		}
		d.Subscribers = map[string]int{}
		for _, sub := range subs {
			d.Subscribers[sub.State]++
		}
	}
	if f.Values == nil {
		f.Values = map[string]string{"notice_days": strconv.Itoa(days)}
	}
	d.Form = f
	return d, nil
}

func (s *Server) noticesPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.noticesData(r, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "notices", d)
}

func (s *Server) setNoticeDays(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	raw := strings.TrimSpace(r.PostFormValue("notice_days"))
	days, err := strconv.Atoi(raw)
	if err != nil {
		err = apperr.Field("notice_days", "%q is not a number of days", raw)
	} else {
		err = s.cfg.Subprocessors.SetNoticeDays(r.Context(), p.Org.ID, days)
	}
	if err != nil {
		renderFormLoad(w, r, "notices", err, map[string]string{"notice_days": raw}, func(f form) (any, error) { return s.noticesData(r, f) })
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/subprocessors/notices?done=1")
}

type noticePageData struct {
	Notice        *subprocessor.Notice
	Objections    []subprocessor.Objection
	CanObjections bool
}

func (s *Server) noticePage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	n, err := s.cfg.Subprocessors.GetNotice(r.Context(), p.Org.ID, r.PathValue("id"))
	if err != nil {
		Error(w, r, err)
		return
	}
	d := noticePageData{Notice: n, CanObjections: identity.Allowed(p.Role, identity.SettingsManage)}
	if d.CanObjections {
		if d.Objections, err = s.cfg.Subprocessors.Objections(r.Context(), p.Org.ID, n.ID); err != nil {
			Error(w, r, err)
			return
		}
	}
	render(w, r, "notice", d)
}

type subscribersPageData struct {
	Subscribers []subscriber.Subscriber
	Deleted     bool
}

func (s *Server) subscribersPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Subscribers.List(r.Context(), principal(r).Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "subscribers", subscribersPageData{Subscribers: list, Deleted: r.URL.Query().Get("deleted") != ""})
}

func (s *Server) deleteSubscriber(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Subscribers.Delete(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/subscribers?deleted=1")
}

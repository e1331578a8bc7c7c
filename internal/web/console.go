package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// registerConsole registers the signed-in console: sign-in, account pages
// and the organisation pages of this issue. Every route names its permission.
func (s *Server) registerConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/login", identity.Public, s.loginPage)
	rt.HandleFunc("POST", "/app/login", identity.Public, s.login)
	rt.HandleFunc("GET", "/app/login/2fa", identity.Public, s.secondFactorPage)
	rt.HandleFunc("POST", "/app/login/2fa", identity.Public, s.secondFactor)
	rt.HandleFunc("POST", "/app/logout", identity.Public, s.logout)
	rt.HandleFunc("GET", "/app/reset", identity.Public, s.resetRequestPage)
	rt.HandleFunc("POST", "/app/reset", identity.Public, s.resetRequest)
	rt.HandleFunc("GET", "/app/reset/{token}", identity.Public, s.resetPage)
	rt.HandleFunc("POST", "/app/reset/{token}", identity.Public, s.reset)
	rt.HandleFunc("GET", "/app/invite/{token}", identity.Public, s.invitePage)
	rt.HandleFunc("POST", "/app/invite/{token}", identity.Public, s.acceptInvite)

	rt.HandleFunc("GET", "/app/{$}", identity.Account, s.picker)
	rt.HandleFunc("GET", "/app/account", identity.Account, s.accountPage)
	rt.HandleFunc("POST", "/app/account/password", identity.Account, s.changePassword)
	rt.HandleFunc("POST", "/app/account/sessions/{id}/revoke", identity.Account, s.revokeSession)
	rt.HandleFunc("GET", "/app/account/2fa", identity.Account, s.totpPage)
	rt.HandleFunc("POST", "/app/account/2fa/begin", identity.Account, s.totpBegin)
	rt.HandleFunc("POST", "/app/account/2fa/confirm", identity.Account, s.totpConfirm)
	rt.HandleFunc("POST", "/app/account/2fa/disable", identity.Account, s.totpDisable)
	rt.HandleFunc("GET", "/app/account/2fa/qr.png", identity.Account, s.totpQR)

	rt.HandleFunc("GET", "/app/o/{slug}/{$}", identity.OrgRead, s.dashboard)
	rt.HandleFunc("GET", "/app/o/{slug}/members", identity.MembersRead, s.membersPage)
	rt.HandleFunc("POST", "/app/o/{slug}/members/{user}/role", identity.MembersManage, s.memberRole)
	rt.HandleFunc("POST", "/app/o/{slug}/members/{user}/remove", identity.MembersManage, s.memberRemove)
	rt.HandleFunc("POST", "/app/o/{slug}/invitations", identity.MembersManage, s.invite)
	rt.HandleFunc("POST", "/app/o/{slug}/invitations/{id}/revoke", identity.MembersManage, s.inviteRevoke)
	rt.HandleFunc("GET", "/app/o/{slug}/tokens", identity.TokensOwn, s.tokensPage)
	rt.HandleFunc("POST", "/app/o/{slug}/tokens", identity.TokensOwn, s.tokenCreate)
	rt.HandleFunc("POST", "/app/o/{slug}/tokens/{id}/revoke", identity.TokensOwn, s.tokenRevoke)
	rt.HandleFunc("GET", "/app/o/{slug}/audit", identity.AuditRead, s.auditPage)
	rt.HandleFunc("GET", "/app/o/{slug}/settings", identity.SettingsManage, s.settingsPage)
	rt.HandleFunc("POST", "/app/o/{slug}/settings", identity.SettingsManage, s.saveSettings)
}

// form is what a page with a form shows again after a mistake.
type form struct {
	Error  string
	Field  string
	Values map[string]string
}

// formError turns a service error into the form's message, or reports
// false for errors that are not the user's to fix.
func formError(err error, values map[string]string) (form, bool) {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Conflict, apperr.NotFound, apperr.Forbidden, apperr.Unauthorized:
		return form{Error: apperr.MessageOf(err), Field: apperr.FieldOf(err), Values: values}, true
	}
	return form{}, false
}

// renderForm shows a page again with the error, or answers the error when
// it is not the user's to fix (rate limits, internal errors).
func renderForm(w http.ResponseWriter, r *http.Request, page string, err error, data func(form) any, values map[string]string) {
	renderFormLoad(w, r, page, err, values, func(f form) (any, error) { return data(f), nil })
}

// renderFormLoad is renderForm for pages whose data is read again to show
// the form: a failure to read it (the item is gone, another organisation's
// id) is the answer instead.
func renderFormLoad(w http.ResponseWriter, r *http.Request, page string, err error, values map[string]string, load func(form) (any, error)) {
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
	renderStatus(w, r, StatusOf(apperr.CodeOf(err)), page, data)
}

func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// ---- sign-in -----------------------------------------------------------

type loginData struct {
	Form form
	Next string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.signedIn(r); err == nil {
		seeOther(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	render(w, r, "login", loginData{Next: safeNext(r.URL.Query().Get("next")), Form: form{Values: map[string]string{}}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	token, sess, err := s.cfg.Identity.SignIn(r.Context(), email, r.PostFormValue("password"), s.client(r))
	if err != nil {
		renderForm(w, r, "login", err, func(f form) any { return loginData{Form: f, Next: next} }, map[string]string{"email": email})
		return
	}
	s.setSessionCookie(w, r, token)
	if sess.MFAPending {
		seeOther(w, r, "/app/login/2fa?next="+url.QueryEscape(next))
		return
	}
	seeOther(w, r, next)
}

func (s *Server) secondFactorPage(w http.ResponseWriter, r *http.Request) {
	sess, _, err := s.cfg.Identity.SessionByToken(r.Context(), sessionToken(r))
	if err != nil || !sess.MFAPending {
		seeOther(w, r, "/app/login")
		return
	}
	render(w, r, "login_2fa", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	token, err := s.cfg.Identity.CompleteSignIn(r.Context(), sessionToken(r), r.PostFormValue("code"), s.client(r))
	if err != nil {
		if err == identity.ErrNoSession {
			seeOther(w, r, "/app/login")
			return
		}
		renderForm(w, r, "login_2fa", err, func(f form) any { return loginData{Form: f, Next: next} }, nil)
		return
	}
	s.setSessionCookie(w, r, token)
	seeOther(w, r, next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if t := sessionToken(r); t != "" {
		if err := s.cfg.Identity.SignOut(r.Context(), t); err != nil {
			Error(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	seeOther(w, r, "/app/login?signed_out=1")
}

// ---- password reset ----------------------------------------------------

type resetData struct {
	Form  form
	Sent  bool
	Token string
}

func (s *Server) resetRequestPage(w http.ResponseWriter, r *http.Request) {
	render(w, r, "reset_request", resetData{})
}

func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	if err := identity.CheckEmail(email); err != nil {
		renderForm(w, r, "reset_request", err, func(f form) any { return resetData{Form: f} }, map[string]string{"email": email})
		return
	}
	if err := s.cfg.Identity.RequestReset(r.Context(), email, s.client(r)); err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "reset_request", resetData{Sent: true})
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := s.cfg.Identity.CheckResetToken(r.Context(), token, s.client(r)); err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the address
	render(w, r, "reset", resetData{Token: token})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_again") {
		renderForm(w, r, "reset", apperr.Field("password_again", "the two passwords differ"), func(f form) any { return resetData{Form: f, Token: token} }, nil)
		return
	}
	if err := s.cfg.Identity.ResetPassword(r.Context(), token, pw, s.client(r)); err != nil {
		renderForm(w, r, "reset", err, func(f form) any { return resetData{Form: f, Token: token} }, nil)
		return
	}
	seeOther(w, r, "/app/login?reset=1")
}

// ---- invitations ---------------------------------------------------------

type inviteData struct {
	Form       form
	Invitation *identity.Invitation
	Token      string
	SignedInAs string
	HasAccount bool
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := s.cfg.Identity.InvitationByToken(r.Context(), token, s.client(r))
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	render(w, r, "invite", s.inviteData(r, inv, token, form{}))
}

func (s *Server) inviteData(r *http.Request, inv *identity.Invitation, token string, f form) inviteData {
	d := inviteData{Invitation: inv, Token: token, Form: f}
	if p, err := s.signedIn(r); err == nil {
		d.SignedInAs = p.User.Email
	}
	d.HasAccount, _ = s.cfg.Identity.HasAccount(r.Context(), inv.Email)
	return d
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := s.cfg.Identity.InvitationByToken(r.Context(), token, s.client(r))
	if err != nil {
		Error(w, r, err)
		return
	}
	if p, err := s.signedIn(r); err == nil {
		if _, err := s.cfg.Identity.AcceptInvitation(r.Context(), token, p.User.ID); err != nil {
			renderForm(w, r, "invite", err, func(f form) any { return s.inviteData(r, inv, token, f) }, nil)
			return
		}
		seeOther(w, r, "/app/")
		return
	}
	if r.PostFormValue("password") != r.PostFormValue("password_again") {
		renderForm(w, r, "invite", apperr.Field("password_again", "the two passwords differ"), func(f form) any { return s.inviteData(r, inv, token, f) }, nil)
		return
	}
	if _, _, err := s.cfg.Identity.AcceptInvitationNewAccount(r.Context(), token, r.PostFormValue("name"), r.PostFormValue("password")); err != nil {
		renderForm(w, r, "invite", err, func(f form) any { return s.inviteData(r, inv, token, f) }, map[string]string{"name": r.PostFormValue("name")})
		return
	}
	seeOther(w, r, "/app/login?joined=1")
}

// ---- account -------------------------------------------------------------

type pickerData struct {
	Orgs []identity.OrgRole
}

func (s *Server) picker(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	orgs, err := s.cfg.Identity.MembershipsOf(r.Context(), p.User.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	if len(orgs) == 1 && r.URL.Query().Get("all") == "" {
		seeOther(w, r, "/app/o/"+orgs[0].Slug+"/")
		return
	}
	render(w, r, "picker", pickerData{Orgs: orgs})
}

type accountData struct {
	Form     form
	Sessions []identity.Session
	Current  string
	Done     string
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, status int, f form) {
	p := principal(r)
	sessions, err := s.cfg.Identity.Sessions(r.Context(), p.User.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	renderStatus(w, r, status, "account", accountData{Form: f, Sessions: sessions, Current: p.Session.ID, Done: r.URL.Query().Get("done")})
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	s.account(w, r, http.StatusOK, form{})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	next := r.PostFormValue("password")
	err := error(nil)
	if next != r.PostFormValue("password_again") {
		err = apperr.Field("password_again", "the two new passwords differ")
	} else {
		err = s.cfg.Identity.ChangePassword(r.Context(), p.User.ID, r.PostFormValue("current_password"), next, p.Session.ID)
	}
	if err != nil {
		if f, ok := formError(err, nil); ok {
			s.account(w, r, StatusOf(apperr.CodeOf(err)), f)
			return
		}
		Error(w, r, err)
		return
	}
	if !s.rotate(w, r) {
		return
	}
	seeOther(w, r, "/app/account?done=password")
}

// rotate gives the current session a new token after a privilege change.
func (s *Server) rotate(w http.ResponseWriter, r *http.Request) bool {
	token, err := s.cfg.Identity.RotateSession(r.Context(), sessionToken(r), s.client(r))
	if err != nil {
		Error(w, r, err)
		return false
	}
	s.setSessionCookie(w, r, token)
	return true
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Identity.RevokeSession(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	if r.PathValue("id") == p.Session.ID {
		s.clearSessionCookie(w, r)
		seeOther(w, r, "/app/login")
		return
	}
	seeOther(w, r, "/app/account?done=revoked")
}

type totpData struct {
	Form     form
	Enabled  bool
	Pending  string // otpauth URI being enrolled
	Secret   string
	Recovery []string
	Required string // slug of the organisation that requires enrolment
}

func (s *Server) totpView(r *http.Request, f form) (totpData, error) {
	p := principal(r)
	d := totpData{Form: f, Enabled: p.User.TOTPEnabled, Required: r.URL.Query().Get("required")}
	if !d.Enabled {
		uri, err := s.cfg.Identity.PendingTOTP(r.Context(), p.User.ID)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return d, err
		}
		d.Pending = uri
		if i := strings.Index(uri, "secret="); i >= 0 {
			d.Secret = strings.SplitN(uri[i+len("secret="):], "&", 2)[0]
		}
	}
	return d, nil
}

func (s *Server) totpPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.totpView(r, form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "totp", d)
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.Identity.BeginTOTP(r.Context(), principal(r).User.ID); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/account/2fa")
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) {
	codes, err := s.cfg.Identity.ConfirmTOTP(r.Context(), principal(r).User.ID, r.PostFormValue("code"))
	if err != nil {
		f, ok := formError(err, nil)
		if !ok {
			Error(w, r, err)
			return
		}
		d, err2 := s.totpView(r, f)
		if err2 != nil {
			Error(w, r, err2)
			return
		}
		renderStatus(w, r, StatusOf(apperr.CodeOf(err)), "totp", d)
		return
	}
	if !s.rotate(w, r) {
		return
	}
	render(w, r, "totp", totpData{Enabled: true, Recovery: codes})
}

func (s *Server) totpDisable(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Identity.DisableTOTP(r.Context(), principal(r).User.ID, r.PostFormValue("password"), principal(r).Session.ID); err != nil {
		f, ok := formError(err, nil)
		if !ok {
			Error(w, r, err)
			return
		}
		d, _ := s.totpView(r, f)
		renderStatus(w, r, StatusOf(apperr.CodeOf(err)), "totp", d)
		return
	}
	seeOther(w, r, "/app/account?done=2fa-off")
}

// totpQR serves the QR code of the secret being enrolled: an image route,
// since the CSP allows no data: images.
func (s *Server) totpQR(w http.ResponseWriter, r *http.Request) {
	uri, err := s.cfg.Identity.PendingTOTP(r.Context(), principal(r).User.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	png, err := identity.QRCode(uri, 240)
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}

// ---- organisation pages --------------------------------------------------

type dashboardData struct {
	Members int
	Tokens  int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	render(w, r, "dashboard", dashboardData{})
}

type membersData struct {
	Form        form
	Members     []identity.OrgMember
	Invitations []identity.Invitation
	CanManage   bool
	Roles       []identity.Role
	Invited     *identity.Invitation // an invitation just sent
	Link        string               // its link, given only when mail is held
	Self        string
}

func (s *Server) members(w http.ResponseWriter, r *http.Request, status int, f form, invited *identity.Invitation, link string) {
	p := principal(r)
	members, err := s.cfg.Identity.Members(r.Context(), p.Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	invs, err := s.cfg.Identity.Invitations(r.Context(), p.Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	renderStatus(w, r, status, "members", membersData{Form: f, Members: members, Invitations: invs,
		CanManage: identity.Allowed(p.Role, identity.MembersManage), Roles: identity.Roles, Invited: invited, Link: link, Self: p.User.ID})
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request) {
	s.members(w, r, http.StatusOK, form{}, nil, "")
}

func (s *Server) membersFormError(w http.ResponseWriter, r *http.Request, err error) {
	if f, ok := formError(err, nil); ok {
		s.members(w, r, StatusOf(apperr.CodeOf(err)), f, nil, "")
		return
	}
	Error(w, r, err)
}

func (s *Server) memberRole(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Identity.SetRole(r.Context(), p.Org.ID, r.PathValue("user"), identity.Role(r.PostFormValue("role"))); err != nil {
		s.membersFormError(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/members")
}

func (s *Server) memberRemove(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Identity.RemoveMember(r.Context(), p.Org.ID, r.PathValue("user")); err != nil {
		s.membersFormError(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/members")
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	inv, link, err := s.cfg.Identity.Invite(r.Context(), p.Org.ID, p.Org.Name, p.User.ID, r.PostFormValue("email"), identity.Role(r.PostFormValue("role")))
	if err != nil {
		if f, ok := formError(err, map[string]string{"email": r.PostFormValue("email")}); ok {
			s.members(w, r, StatusOf(apperr.CodeOf(err)), f, nil, "")
			return
		}
		Error(w, r, err)
		return
	}
	s.members(w, r, http.StatusOK, form{}, inv, link)
}

func (s *Server) inviteRevoke(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Identity.RevokeInvitation(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		s.membersFormError(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/members")
}

type tokensData struct {
	Form      form
	Tokens    []identity.APIToken
	Roles     []identity.Role
	NewSecret string
	All       bool
}

// tokenOwnerFilter is "" for admins, who see and revoke every token of the
// organisation, and the caller's id for everyone else.
func tokenOwnerFilter(p *Principal) string {
	if identity.Allowed(p.Role, identity.TokensManage) {
		return ""
	}
	return p.User.ID
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request, status int, f form, secret string) {
	p := principal(r)
	list, err := s.cfg.Identity.Tokens(r.Context(), p.Org.ID, tokenOwnerFilter(p))
	if err != nil {
		Error(w, r, err)
		return
	}
	var roles []identity.Role
	for _, role := range identity.Roles {
		if p.Role.AtLeast(role) {
			roles = append(roles, role)
		}
	}
	renderStatus(w, r, status, "tokens", tokensData{Form: f, Tokens: list, Roles: roles, NewSecret: secret, All: tokenOwnerFilter(p) == ""})
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	s.tokens(w, r, http.StatusOK, form{}, "")
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	days, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("expires_in_days")))
	if err != nil || days < 1 || days > 366 {
		s.tokens(w, r, http.StatusBadRequest, form{Error: "the lifetime must be 1 to 366 days", Field: "expires_in_days"}, "")
		return
	}
	_, secret, err := s.cfg.Identity.CreateToken(r.Context(), identity.NewToken{OrgID: p.Org.ID, UserID: p.User.ID,
		Name: r.PostFormValue("name"), Role: identity.Role(r.PostFormValue("role")), ExpiresIn: time.Duration(days) * 24 * time.Hour,
		Scope: r.PostFormValue("scope")})
	if err != nil {
		if f, ok := formError(err, map[string]string{"name": r.PostFormValue("name")}); ok {
			s.tokens(w, r, StatusOf(apperr.CodeOf(err)), f, "")
			return
		}
		Error(w, r, err)
		return
	}
	s.tokens(w, r, http.StatusOK, form{}, secret)
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Identity.RevokeToken(r.Context(), p.Org.ID, tokenOwnerFilter(p), r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/tokens")
}

type settingsData struct {
	Form  form
	Saved bool
	Min   int
	Max   int
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	render(w, r, "settings", settingsData{Saved: r.URL.Query().Get("done") != "", Min: org.MinAuditRetentionDays, Max: org.MaxAuditRetentionDays,
		Form: form{Values: map[string]string{"audit_retention_days": strconv.Itoa(p.Org.AuditRetentionDays)}}})
}

func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	days := strings.TrimSpace(r.PostFormValue("audit_retention_days"))
	set := org.Settings{RequireTOTP: r.PostFormValue("require_totp") == "on", PublicSite: r.PostFormValue("public_site") == "on"}
	var err error
	if days != "" {
		if set.AuditRetentionDays, err = strconv.Atoi(days); err != nil {
			err = apperr.Field("audit_retention_days", "%q is not a number of days", days)
		}
	}
	if err == nil {
		err = s.cfg.Orgs.SetSettings(r.Context(), p.Org.ID, set)
	}
	if err != nil {
		renderForm(w, r, "settings", err, func(f form) any {
			return settingsData{Form: f, Min: org.MinAuditRetentionDays, Max: org.MaxAuditRetentionDays}
		}, map[string]string{"audit_retention_days": days})
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/settings?done=1")
}

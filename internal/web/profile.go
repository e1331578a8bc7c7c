package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// The organisation profile: hosting, security contact, certifications and
// reports, roadmap and GDPR commitments; through the API and on one console
// page.

type profileOutput struct{ Body *org.Profile }

type profileInput struct{ Body org.Profile }

// CertificationPath is exported because huma reads parameters only from
// exported embedded structs.
type CertificationPath struct {
	ID string `path:"id" maxLength:"64"`
}

type certificationInput struct{ Body org.CertificationInput }

type certificationUpdateInput struct {
	CertificationPath
	Body org.CertificationInput
}

type certificationOutput struct{ Body *org.Certification }

type certificationsOutput struct{ Body []org.Certification }

// RoadmapPath names a roadmap item.
type RoadmapPath struct {
	ID string `path:"id" maxLength:"64"`
}

type roadmapInput struct{ Body org.RoadmapInput }

type roadmapUpdateInput struct {
	RoadmapPath
	Body org.RoadmapInput
}

type roadmapOutput struct{ Body *org.RoadmapItem }

type roadmapListOutput struct{ Body []org.RoadmapItem }

// GDPRPath names a GDPR article.
type GDPRPath struct {
	Article string `path:"article" enum:"15,17,28,30,32,33-34"`
}

type gdprSetInput struct {
	GDPRPath
	Body struct {
		Text string `json:"text" maxLength:"5000" doc:"What the organisation commits to; empty removes the commitment."`
	}
}

type gdprOutput struct{ Body []org.GDPRCommitment }

func (s *Server) registerProfileAPI(api huma.API) {
	tags := []string{"Profile"}
	ps := s.cfg.Profile
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-profile", Method: http.MethodGet, Path: "/profile",
		Summary: "Read the organisation profile", Tags: tags, Description: "Hosting, architecture and the security contact."},
		func(ctx context.Context, _ *empty) (*profileOutput, error) {
			p, err := ps.Get(ctx, org(ctx))
			return &profileOutput{Body: p}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "set-profile", Method: http.MethodPut, Path: "/profile",
		Summary: "Replace the organisation profile", Tags: tags},
		func(ctx context.Context, in *profileInput) (*profileOutput, error) {
			p, err := ps.Set(ctx, org(ctx), in.Body)
			return &profileOutput{Body: p}, err
		})

	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-certifications", Method: http.MethodGet,
		Path: "/certifications", Summary: "List certifications and reports", Tags: tags},
		func(ctx context.Context, _ *empty) (*certificationsOutput, error) {
			list, err := ps.Certifications(ctx, org(ctx))
			return &certificationsOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-certification", Method: http.MethodPost,
		Path: "/certifications", Summary: "Add a certification or report", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "ISO 27001 needs certificate_number and certification_body; SOC 2 soc2_type, period_start, period_end " +
			"and audit_firm; a pen test firm and tested_on. The fields of other kinds are ignored."},
		func(ctx context.Context, in *certificationInput) (*certificationOutput, error) {
			c, err := ps.CreateCertification(ctx, org(ctx), in.Body)
			return &certificationOutput{Body: c}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-certification", Method: http.MethodGet,
		Path: "/certifications/{id}", Summary: "Read a certification or report", Tags: tags},
		func(ctx context.Context, in *CertificationPath) (*certificationOutput, error) {
			c, err := ps.Certification(ctx, org(ctx), in.ID)
			return &certificationOutput{Body: c}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-certification", Method: http.MethodPut,
		Path: "/certifications/{id}", Summary: "Replace a certification or report", Tags: tags},
		func(ctx context.Context, in *certificationUpdateInput) (*certificationOutput, error) {
			c, err := ps.UpdateCertification(ctx, org(ctx), in.ID, in.Body)
			return &certificationOutput{Body: c}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-certification", Method: http.MethodDelete,
		Path: "/certifications/{id}", Summary: "Delete a certification or report", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *CertificationPath) (*empty, error) {
			return &empty{}, ps.DeleteCertification(ctx, org(ctx), in.ID)
		})

	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-roadmap", Method: http.MethodGet, Path: "/roadmap",
		Summary: "List the security roadmap", Tags: tags},
		func(ctx context.Context, _ *empty) (*roadmapListOutput, error) {
			list, err := ps.Roadmap(ctx, org(ctx))
			return &roadmapListOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-roadmap-item", Method: http.MethodPost, Path: "/roadmap",
		Summary: "Add a roadmap item", Tags: tags, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *roadmapInput) (*roadmapOutput, error) {
			it, err := ps.CreateRoadmapItem(ctx, org(ctx), in.Body)
			return &roadmapOutput{Body: it}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-roadmap-item", Method: http.MethodGet, Path: "/roadmap/{id}",
		Summary: "Read a roadmap item", Tags: tags},
		func(ctx context.Context, in *RoadmapPath) (*roadmapOutput, error) {
			it, err := ps.RoadmapItem(ctx, org(ctx), in.ID)
			return &roadmapOutput{Body: it}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-roadmap-item", Method: http.MethodPut, Path: "/roadmap/{id}",
		Summary: "Replace a roadmap item", Tags: tags},
		func(ctx context.Context, in *roadmapUpdateInput) (*roadmapOutput, error) {
			it, err := ps.UpdateRoadmapItem(ctx, org(ctx), in.ID, in.Body)
			return &roadmapOutput{Body: it}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-roadmap-item", Method: http.MethodDelete,
		Path: "/roadmap/{id}", Summary: "Delete a roadmap item", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *RoadmapPath) (*empty, error) {
			return &empty{}, ps.DeleteRoadmapItem(ctx, org(ctx), in.ID)
		})

	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-gdpr-commitments", Method: http.MethodGet, Path: "/gdpr",
		Summary: "List the GDPR commitments", Tags: tags},
		func(ctx context.Context, _ *empty) (*gdprOutput, error) {
			list, err := ps.GDPR(ctx, org(ctx))
			return &gdprOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "set-gdpr-commitment", Method: http.MethodPut,
		Path: "/gdpr/{article}", Summary: "Set the commitment under a GDPR article", Tags: tags,
		Description: "An empty text removes the commitment. Answers the commitments after the change."},
		func(ctx context.Context, in *gdprSetInput) (*gdprOutput, error) {
			if err := ps.SetGDPR(ctx, org(ctx), in.Article, in.Body.Text); err != nil {
				return nil, err
			}
			list, err := ps.GDPR(ctx, org(ctx))
			return &gdprOutput{Body: list}, err
		})
}

// ---- console -----------------------------------------------------------------

func (s *Server) registerProfileConsole() {
	rt := s.Router
	rt.HandleFunc("GET", "/app/o/{slug}/profile", identity.ContentRead, s.profilePage)
	rt.HandleFunc("POST", "/app/o/{slug}/profile", identity.ContentEdit, s.setProfile)
	rt.HandleFunc("POST", "/app/o/{slug}/profile/certifications", identity.ContentEdit, s.createCertification)
	rt.HandleFunc("POST", "/app/o/{slug}/profile/certifications/{id}/delete", identity.ContentEdit, s.deleteCertification)
	rt.HandleFunc("POST", "/app/o/{slug}/profile/roadmap", identity.ContentEdit, s.createRoadmapItem)
	rt.HandleFunc("POST", "/app/o/{slug}/profile/roadmap/{id}/delete", identity.ContentEdit, s.deleteRoadmapItem)
	rt.HandleFunc("POST", "/app/o/{slug}/profile/gdpr", identity.ContentEdit, s.setGDPR)
}

type gdprRow struct {
	Article string
	Title   string
	Text    string
}

type profilePageData struct {
	// Form holds the error of the form sent and Section says which form it
	// was: profile, certification, roadmap or gdpr.
	Form           form
	Section        string
	Profile        *org.Profile
	Certifications []org.Certification
	Roadmap        []org.RoadmapItem
	GDPR           []gdprRow
	Evidence       []evidence.Evidence // what a report may be, for editors
	Kinds          []string
	Opinions       []string
	CanEdit        bool
}

func (s *Server) profileData(r *http.Request, section string, f form) (profilePageData, error) {
	p := principal(r)
	ctx, ps := r.Context(), s.cfg.Profile
	d := profilePageData{Form: f, Section: section, Kinds: org.CertificationKinds, Opinions: org.SOC2Opinions,
		CanEdit: identity.Allowed(p.Role, identity.ContentEdit)}
	var err error
	if d.Profile, err = ps.Get(ctx, p.Org.ID); err != nil {
		return d, err
	}
	if d.Certifications, err = ps.Certifications(ctx, p.Org.ID); err != nil {
		return d, err
	}
	if d.Roadmap, err = ps.Roadmap(ctx, p.Org.ID); err != nil {
		return d, err
	}
	list, err := ps.GDPR(ctx, p.Org.ID)
	if err != nil {
		return d, err
	}
	texts := map[string]string{}
	for _, c := range list {
		texts[c.Article] = c.Text
	}
	for _, a := range org.GDPRArticles {
		row := gdprRow{Article: a.Article, Title: a.Title, Text: texts[a.Article]}
		if section == "gdpr" && f.Values["article"] == a.Article {
			row.Text = f.Values["text"]
		}
		d.GDPR = append(d.GDPR, row)
	}
	if d.CanEdit {
		if d.Evidence, err = s.cfg.Evidence.List(ctx, p.Org.ID, evidence.Filter{}, evidenceReader(p.Role)); err != nil {
			return d, err
		}
	}
	if d.Form.Values == nil {
		d.Form.Values = map[string]string{}
	}
	if section != "profile" {
		pr := d.Profile
		for k, v := range map[string]string{"hosting_provider": pr.HostingProvider, "hosting_regions": strings.Join(pr.HostingRegions, ", "),
			"architecture": pr.Architecture, "security_email": pr.SecurityEmail, "security_url": pr.SecurityURL,
			"openpgp_key_url": pr.OpenPGPKeyURL, "disclosure_policy_url": pr.DisclosurePolicyURL,
			"acknowledgements_url": pr.AcknowledgementsURL, "preferred_languages": strings.Join(pr.PreferredLanguages, ", ")} {
			d.Form.Values[k] = v
		}
	}
	return d, nil
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request) {
	data, err := s.profileData(r, "", form{})
	if err != nil {
		Error(w, r, err)
		return
	}
	render(w, r, "profile", data)
}

// profileFailed shows the page again with the error of one section's form.
func (s *Server) profileFailed(w http.ResponseWriter, r *http.Request, section string, err error, values map[string]string) {
	renderFormLoad(w, r, "profile", err, values, func(f form) (any, error) { return s.profileData(r, section, f) })
}

func postValues(r *http.Request, keys ...string) map[string]string {
	_ = r.ParseForm()
	v := map[string]string{}
	for _, k := range keys {
		v[k] = r.PostFormValue(k)
	}
	return v
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' })
}

func (s *Server) setProfile(w http.ResponseWriter, r *http.Request) {
	v := postValues(r, "hosting_provider", "hosting_regions", "architecture", "security_email", "security_url", "openpgp_key_url",
		"disclosure_policy_url", "acknowledgements_url", "preferred_languages")
	p := principal(r)
	_, err := s.cfg.Profile.Set(r.Context(), p.Org.ID, org.Profile{HostingProvider: v["hosting_provider"],
		HostingRegions: splitList(v["hosting_regions"]), Architecture: v["architecture"], SecurityEmail: v["security_email"],
		SecurityURL: v["security_url"], OpenPGPKeyURL: v["openpgp_key_url"], DisclosurePolicyURL: v["disclosure_policy_url"],
		AcknowledgementsURL: v["acknowledgements_url"], PreferredLanguages: splitList(v["preferred_languages"])})
	if err != nil {
		s.profileFailed(w, r, "profile", err, v)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile")
}

var certificationFormKeys = []string{"kind", "name", "issued_on", "expires_on", "public", "report_evidence_id", "certificate_number",
	"certification_body", "accreditation_body", "scope", "soa_version", "register_url", "soc2_type", "period_start", "period_end",
	"audit_firm", "opinion", "exceptions", "cuecs", "carve_outs", "bridge_letter_until", "firm", "tested_on", "open_critical",
	"open_high", "open_medium", "open_low"}

func (s *Server) createCertification(w http.ResponseWriter, r *http.Request) {
	v := postValues(r, certificationFormKeys...)
	num := func(k string) int {
		if v[k] == "" {
			return 0
		}
		n, err := strconv.Atoi(strings.TrimSpace(v[k]))
		if err != nil {
			return -1 // refused by validation as not a count
		}
		return n
	}
	// The scope field is shared by ISO and pen test; the form has one per kind.
	scope := v["scope"]
	if v["kind"] == org.PenTest {
		scope = r.PostFormValue("pentest_scope")
	}
	in := org.CertificationInput{Kind: v["kind"], Name: v["name"], IssuedOn: v["issued_on"], ExpiresOn: v["expires_on"],
		Public: v["public"] != "", ReportEvidenceID: v["report_evidence_id"], CertificateNumber: v["certificate_number"],
		CertificationBody: v["certification_body"], AccreditationBody: v["accreditation_body"], Scope: scope,
		SoAVersion: v["soa_version"], RegisterURL: v["register_url"], SOC2Type: v["soc2_type"], PeriodStart: v["period_start"],
		PeriodEnd: v["period_end"], AuditFirm: v["audit_firm"], Opinion: v["opinion"], Exceptions: num("exceptions"),
		CUECs: v["cuecs"], CarveOuts: v["carve_outs"], BridgeLetterUntil: v["bridge_letter_until"], Firm: v["firm"],
		TestedOn: v["tested_on"], OpenCritical: num("open_critical"), OpenHigh: num("open_high"), OpenMedium: num("open_medium"),
		OpenLow: num("open_low")}
	v["pentest_scope"] = r.PostFormValue("pentest_scope")
	p := principal(r)
	if _, err := s.cfg.Profile.CreateCertification(r.Context(), p.Org.ID, in); err != nil {
		s.profileFailed(w, r, "certification", err, v)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile#certifications")
}

func (s *Server) deleteCertification(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Profile.DeleteCertification(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile#certifications")
}

func (s *Server) createRoadmapItem(w http.ResponseWriter, r *http.Request) {
	v := postValues(r, "title", "description", "target", "status", "public")
	p := principal(r)
	_, err := s.cfg.Profile.CreateRoadmapItem(r.Context(), p.Org.ID, org.RoadmapInput{Title: v["title"], Description: v["description"],
		Target: v["target"], Status: v["status"], Public: v["public"] != ""})
	if err != nil {
		s.profileFailed(w, r, "roadmap", err, v)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile#roadmap")
}

func (s *Server) deleteRoadmapItem(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.cfg.Profile.DeleteRoadmapItem(r.Context(), p.Org.ID, r.PathValue("id")); err != nil {
		Error(w, r, err)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile#roadmap")
}

func (s *Server) setGDPR(w http.ResponseWriter, r *http.Request) {
	v := postValues(r, "article", "text")
	p := principal(r)
	if err := s.cfg.Profile.SetGDPR(r.Context(), p.Org.ID, v["article"], v["text"]); err != nil {
		s.profileFailed(w, r, "gdpr", err, v)
		return
	}
	seeOther(w, r, "/app/o/"+p.Org.Slug+"/profile#gdpr")
}

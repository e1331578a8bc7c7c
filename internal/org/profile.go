package org

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// The organisation's public profile: where it is hosted, how to reach its
// security team, its certifications and audit reports, its roadmap and its
// GDPR commitments. The trust center publishes what is public of it.

// Profile is an organisation's hosting, architecture and security contact.
type Profile struct {
	HostingProvider     string     `json:"hosting_provider" required:"false" maxLength:"200"`
	HostingRegions      []string   `json:"hosting_regions" required:"false" maxItems:"20" doc:"Short texts such as eu-west-3 or Paris, France."`
	Architecture        string     `json:"architecture" required:"false" maxLength:"5000" doc:"A summary of the architecture."`
	SecurityEmail       string     `json:"security_email" required:"false" maxLength:"254" doc:"The security contact's address, a role address such as security@."`
	SecurityURL         string     `json:"security_url" required:"false" maxLength:"2048" doc:"An https page to report vulnerabilities."`
	OpenPGPKeyURL       string     `json:"openpgp_key_url" required:"false" maxLength:"2048"`
	DisclosurePolicyURL string     `json:"disclosure_policy_url" required:"false" maxLength:"2048"`
	AcknowledgementsURL string     `json:"acknowledgements_url" required:"false" maxLength:"2048"`
	PreferredLanguages  []string   `json:"preferred_languages" required:"false" maxItems:"20" doc:"BCP 47 tags such as en or fr."`
	UpdatedAt           *time.Time `json:"updated_at,omitempty" readOnly:"true"`
}

// Certification kinds.
const (
	ISO27001 = "iso27001"
	SOC2     = "soc2"
	PenTest  = "pentest"
	Other    = "other"
)

// CertificationKinds are the kinds of certification and report.
var CertificationKinds = []string{ISO27001, SOC2, PenTest, Other}

// SOC2Opinions are the opinions a SOC 2 auditor may give.
var SOC2Opinions = []string{"unqualified", "qualified", "adverse", "disclaimer"}

// CertificationInput is what a user sets on a certification or report;
// the fields of the other kinds stay empty.
type CertificationInput struct {
	Kind             string `json:"kind" enum:"iso27001,soc2,pentest,other"`
	Name             string `json:"name" maxLength:"200"`
	IssuedOn         string `json:"issued_on" required:"false" doc:"YYYY-MM-DD"`
	ExpiresOn        string `json:"expires_on" required:"false" doc:"YYYY-MM-DD"`
	Public           bool   `json:"public" required:"false" doc:"Shown on the trust center; the report itself stays evidence."`
	ReportEvidenceID string `json:"report_evidence_id" required:"false" maxLength:"64" doc:"The report as an evidence item, best restricted."`
	// ISO/IEC 27001.
	CertificateNumber string `json:"certificate_number" required:"false" maxLength:"200"`
	CertificationBody string `json:"certification_body" required:"false" maxLength:"200"`
	AccreditationBody string `json:"accreditation_body" required:"false" maxLength:"200"`
	Scope             string `json:"scope" required:"false" maxLength:"5000" doc:"The scope of the certificate or of the test."`
	SoAVersion        string `json:"soa_version" required:"false" maxLength:"100" doc:"The version of the statement of applicability."`
	RegisterURL       string `json:"register_url" required:"false" maxLength:"2048" doc:"Where the certificate can be checked."`
	// SOC 2.
	SOC2Type          string `json:"soc2_type" required:"false" doc:"1 or 2."`
	PeriodStart       string `json:"period_start" required:"false" doc:"YYYY-MM-DD"`
	PeriodEnd         string `json:"period_end" required:"false" doc:"YYYY-MM-DD"`
	AuditFirm         string `json:"audit_firm" required:"false" maxLength:"200"`
	Opinion           string `json:"opinion" required:"false" doc:"unqualified, qualified, adverse or disclaimer."`
	Exceptions        int    `json:"exceptions" required:"false" minimum:"0"`
	CUECs             string `json:"cuecs" required:"false" maxLength:"5000" doc:"Complementary user-entity controls."`
	CarveOuts         string `json:"carve_outs" required:"false" maxLength:"5000" doc:"Carved-out subservice organisations."`
	BridgeLetterUntil string `json:"bridge_letter_until" required:"false" doc:"YYYY-MM-DD"`
	// Penetration test.
	Firm         string `json:"firm" required:"false" maxLength:"200"`
	TestedOn     string `json:"tested_on" required:"false" doc:"YYYY-MM-DD"`
	OpenCritical int    `json:"open_critical" required:"false" minimum:"0"`
	OpenHigh     int    `json:"open_high" required:"false" minimum:"0"`
	OpenMedium   int    `json:"open_medium" required:"false" minimum:"0"`
	OpenLow      int    `json:"open_low" required:"false" minimum:"0"`
}

// Certification is a certification, attestation report or test report.
type Certification struct {
	ID string `json:"id"`
	CertificationInput
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Roadmap statuses.
var RoadmapStatuses = []string{"planned", "in_progress", "done"}

// RoadmapInput is what a user sets on a roadmap item.
type RoadmapInput struct {
	Title       string `json:"title" maxLength:"200"`
	Description string `json:"description" required:"false" maxLength:"5000"`
	Target      string `json:"target" required:"false" maxLength:"100" doc:"When, in words: 2027 Q2."`
	Status      string `json:"status" required:"false" enum:"planned,in_progress,done" doc:"Default planned."`
	Public      bool   `json:"public" required:"false"`
}

// RoadmapItem is one item of the security roadmap.
type RoadmapItem struct {
	ID string `json:"id"`
	RoadmapInput
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GDPRArticle is an article of the GDPR a commitment answers.
type GDPRArticle struct {
	Article string `json:"article"`
	Title   string `json:"title"`
}

// GDPRArticles are the articles the organisation may state commitments on.
var GDPRArticles = []GDPRArticle{
	{"15", "Right of access"},
	{"17", "Right to erasure"},
	{"28", "Processor obligations"},
	{"30", "Records of processing"},
	{"32", "Security of processing"},
	{"33-34", "Breach notification"},
}

// GDPRCommitment is what the organisation commits to under an article.
type GDPRCommitment struct {
	Article   string    `json:"article"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits.
const (
	MaxProfileText    = 5000
	MaxCommitmentText = 5000
	maxShort          = 200
)

// ProfileService changes and reads organisation profiles.
type ProfileService struct {
	db    *db.DB
	clock clock.Clock
	audit *audit.Log
}

// NewProfileService returns the profile service.
func NewProfileService(d *db.DB, c clock.Clock, a *audit.Log) *ProfileService {
	return &ProfileService{db: d, clock: c, audit: a}
}

// ---- validation ----------------------------------------------------------------

var emailShape = regexp.MustCompile(`^[^@\s<>()",;]+@[^@\s<>()",;]+\.[^@\s<>()",;.]+$`)

func checkEmail(field, v string) error {
	if v != "" && (len(v) > 254 || !emailShape.MatchString(v)) {
		return apperr.Field(field, "%q is not an e-mail address such as security@example.com", v)
	}
	return nil
}

func checkDate(field, v string, required bool) error {
	if v == "" && !required {
		return nil
	}
	if _, err := clock.ParseDate(v, time.UTC); err != nil {
		return apperr.Field(field, "%s: %q is not a date such as 2026-11-23", field, v)
	}
	return nil
}

func cleanTexts(field string, list []string, max int, clean func(string) (string, error)) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		v, err := clean(v)
		if err != nil {
			return nil, err
		}
		if seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	if len(out) > max {
		return nil, apperr.Field(field, "at most %d values", max)
	}
	return out, nil
}

func (p *Profile) validate() error {
	for _, s := range []*string{&p.HostingProvider, &p.Architecture, &p.SecurityEmail, &p.SecurityURL, &p.OpenPGPKeyURL,
		&p.DisclosurePolicyURL, &p.AcknowledgementsURL} {
		*s = strings.TrimSpace(*s)
	}
	var err error
	if p.HostingRegions, err = cleanTexts("hosting_regions", p.HostingRegions, 20, func(v string) (string, error) {
		return v, valid.Text("hosting_regions", v, 100, true)
	}); err != nil {
		return err
	}
	if p.PreferredLanguages, err = cleanTexts("preferred_languages", p.PreferredLanguages, 20, func(v string) (string, error) {
		tag, err := language.Parse(v)
		if err != nil || len(v) > 35 {
			return "", apperr.Field("preferred_languages", "%q is not a BCP 47 language tag such as en or fr", v)
		}
		return tag.String(), nil
	}); err != nil {
		return err
	}
	return firstError(
		valid.Text("hosting_provider", p.HostingProvider, maxShort, false),
		valid.Text("architecture", p.Architecture, MaxProfileText, false),
		checkEmail("security_email", p.SecurityEmail),
		valid.URL("security_url", p.SecurityURL, true),
		valid.URL("openpgp_key_url", p.OpenPGPKeyURL, true),
		valid.URL("disclosure_policy_url", p.DisclosurePolicyURL, true),
		valid.URL("acknowledgements_url", p.AcknowledgementsURL, true),
	)
}

// firstError returns the first non-nil error, so the field of the message
// is the first field at fault.
func firstError(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (in *CertificationInput) validate() error {
	for _, s := range []*string{&in.Kind, &in.Name, &in.IssuedOn, &in.ExpiresOn, &in.ReportEvidenceID, &in.CertificateNumber,
		&in.CertificationBody, &in.AccreditationBody, &in.Scope, &in.SoAVersion, &in.RegisterURL, &in.SOC2Type, &in.PeriodStart,
		&in.PeriodEnd, &in.AuditFirm, &in.Opinion, &in.CUECs, &in.CarveOuts, &in.BridgeLetterUntil, &in.Firm, &in.TestedOn} {
		*s = strings.TrimSpace(*s)
	}
	if !slices.Contains(CertificationKinds, in.Kind) {
		return apperr.Field("kind", "kind %q is none of iso27001, soc2, pentest, other", in.Kind)
	}
	// The fields of the other kinds are emptied, so a row holds only its own.
	iso, soc, pen := in.Kind == ISO27001, in.Kind == SOC2, in.Kind == PenTest
	if !iso {
		in.CertificateNumber, in.CertificationBody, in.AccreditationBody, in.SoAVersion, in.RegisterURL = "", "", "", "", ""
	}
	if !soc {
		in.SOC2Type, in.PeriodStart, in.PeriodEnd, in.AuditFirm, in.Opinion, in.CUECs, in.CarveOuts, in.BridgeLetterUntil = "", "", "", "", "", "", "", ""
		in.Exceptions = 0
	}
	if !pen {
		in.Firm, in.TestedOn = "", ""
		in.OpenCritical, in.OpenHigh, in.OpenMedium, in.OpenLow = 0, 0, 0, 0
	}
	if !iso && !pen {
		in.Scope = ""
	}
	if err := firstError(
		valid.Text("name", in.Name, maxShort, true),
		checkDate("issued_on", in.IssuedOn, false),
		checkDate("expires_on", in.ExpiresOn, false),
		valid.Text("report_evidence_id", in.ReportEvidenceID, 64, false),
		valid.Text("certificate_number", in.CertificateNumber, maxShort, iso),
		valid.Text("certification_body", in.CertificationBody, maxShort, iso),
		valid.Text("accreditation_body", in.AccreditationBody, maxShort, false),
		valid.Text("scope", in.Scope, MaxProfileText, false),
		valid.Text("soa_version", in.SoAVersion, 100, false),
		valid.URL("register_url", in.RegisterURL, true),
		checkDate("period_start", in.PeriodStart, soc),
		checkDate("period_end", in.PeriodEnd, soc),
		valid.Text("audit_firm", in.AuditFirm, maxShort, soc),
		valid.Text("cuecs", in.CUECs, MaxProfileText, false),
		valid.Text("carve_outs", in.CarveOuts, MaxProfileText, false),
		checkDate("bridge_letter_until", in.BridgeLetterUntil, false),
		valid.Text("firm", in.Firm, maxShort, pen),
		checkDate("tested_on", in.TestedOn, pen),
	); err != nil {
		return err
	}
	if in.IssuedOn != "" && in.ExpiresOn != "" && in.ExpiresOn < in.IssuedOn {
		return apperr.Field("expires_on", "a certification expires after it is issued")
	}
	if soc {
		if in.SOC2Type != "1" && in.SOC2Type != "2" {
			return apperr.Field("soc2_type", "a SOC 2 report is of type 1 or 2")
		}
		if in.PeriodEnd < in.PeriodStart {
			return apperr.Field("period_end", "the period ends after it starts")
		}
		if in.Opinion != "" && !slices.Contains(SOC2Opinions, in.Opinion) {
			return apperr.Field("opinion", "opinion %q is none of unqualified, qualified, adverse, disclaimer", in.Opinion)
		}
	}
	for _, n := range []struct {
		field string
		v     int
	}{{"exceptions", in.Exceptions}, {"open_critical", in.OpenCritical}, {"open_high", in.OpenHigh}, {"open_medium", in.OpenMedium},
		{"open_low", in.OpenLow}} {
		if n.v < 0 || n.v > 100000 {
			return apperr.Field(n.field, "%s is a count of 0 or more", n.field)
		}
	}
	return nil
}

func (in *RoadmapInput) validate() error {
	in.Title, in.Description, in.Target = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description), strings.TrimSpace(in.Target)
	if in.Status == "" {
		in.Status = "planned"
	}
	if !slices.Contains(RoadmapStatuses, in.Status) {
		return apperr.Field("status", "status %q is none of planned, in_progress, done", in.Status)
	}
	return firstError(
		valid.Text("title", in.Title, maxShort, true),
		valid.Text("description", in.Description, MaxProfileText, false),
		valid.Text("target", in.Target, 100, false),
	)
}

// GDPRArticleTitle names an article, or reports false for an unknown one.
func GDPRArticleTitle(article string) (string, bool) {
	for _, a := range GDPRArticles {
		if a.Article == article {
			return a.Title, true
		}
	}
	return "", false
}

// ---- profile -----------------------------------------------------------------

// Get returns the organisation's profile, empty when none was set.
func (s *ProfileService) Get(ctx context.Context, orgID string) (*Profile, error) {
	var p Profile
	var regions, langs string
	var updated int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT hosting_provider, hosting_regions, architecture, security_email, security_url,
		openpgp_key_url, disclosure_policy_url, acknowledgements_url, preferred_languages, updated_at FROM org_profiles WHERE org_id = $1`,
		orgID).Scan(&p.HostingProvider, &regions, &p.Architecture, &p.SecurityEmail, &p.SecurityURL, &p.OpenPGPKeyURL,
		&p.DisclosurePolicyURL, &p.AcknowledgementsURL, &langs, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return &Profile{HostingRegions: []string{}, PreferredLanguages: []string{}}, nil
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read profile")
	}
	at := clock.FromMicros(updated)
	p.HostingRegions, p.PreferredLanguages, p.UpdatedAt = db.ParseJSONList(regions), db.ParseJSONList(langs), &at
	return &p, nil
}

// Set replaces the organisation's profile.
func (s *ProfileService) Set(ctx context.Context, orgID string, p Profile) (*Profile, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_profiles (org_id, hosting_provider, hosting_regions, architecture,
			security_email, security_url, openpgp_key_url, disclosure_policy_url, acknowledgements_url, preferred_languages, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (org_id) DO UPDATE SET hosting_provider = excluded.hosting_provider, hosting_regions = excluded.hosting_regions,
			architecture = excluded.architecture, security_email = excluded.security_email, security_url = excluded.security_url,
			openpgp_key_url = excluded.openpgp_key_url, disclosure_policy_url = excluded.disclosure_policy_url,
			acknowledgements_url = excluded.acknowledgements_url, preferred_languages = excluded.preferred_languages,
			updated_at = excluded.updated_at`,
			orgID, p.HostingProvider, db.JSONList(p.HostingRegions), p.Architecture, p.SecurityEmail, p.SecurityURL, p.OpenPGPKeyURL,
			p.DisclosurePolicyURL, p.AcknowledgementsURL, db.JSONList(p.PreferredLanguages), clock.Micros(s.clock.Now())); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "profile.update", TargetType: "org", TargetID: orgID,
			Fields: map[string]any{"hosting_provider": p.HostingProvider, "hosting_regions": p.HostingRegions,
				"architecture": p.Architecture, "security_url": p.SecurityURL,
				"openpgp_key_url": p.OpenPGPKeyURL, "disclosure_policy_url": p.DisclosurePolicyURL,
				"acknowledgements_url": p.AcknowledgementsURL, "preferred_languages": p.PreferredLanguages},
			// The contact address may name a person: a commitment, like every
			// personal value of the chain (it is in the personal-data registry).
			Personal: map[string]string{"security_email": p.SecurityEmail}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "set profile")
	}
	return s.Get(ctx, orgID)
}

// ---- certifications ------------------------------------------------------------

const certColumns = `kind, name, issued_on, expires_on, public, report_evidence_id, certificate_number, certification_body,
	accreditation_body, scope, soa_version, register_url, soc2_type, period_start, period_end, audit_firm, opinion, exceptions, cuecs,
	carve_outs, bridge_letter_until, firm, tested_on, open_critical, open_high, open_medium, open_low`

func certValues(in CertificationInput) []any {
	return []any{in.Kind, in.Name, in.IssuedOn, in.ExpiresOn, in.Public, db.NullIfEmpty(in.ReportEvidenceID), in.CertificateNumber,
		in.CertificationBody, in.AccreditationBody, in.Scope, in.SoAVersion, in.RegisterURL, in.SOC2Type, in.PeriodStart, in.PeriodEnd,
		in.AuditFirm, in.Opinion, in.Exceptions, in.CUECs, in.CarveOuts, in.BridgeLetterUntil, in.Firm, in.TestedOn, in.OpenCritical,
		in.OpenHigh, in.OpenMedium, in.OpenLow}
}

// certFields is a certification's fields for the audit entry, as the API
// names them, except name: the audit log takes "name" for a person's and
// keeps only a commitment of it, and a certification's name must stay
// readable.
func certFields(in CertificationInput) map[string]any {
	b, _ := json.Marshal(in)
	out := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&out)
	for k, v := range out {
		if n, ok := v.(json.Number); ok {
			i, _ := n.Int64()
			out[k] = int(i)
		}
	}
	out["certification_name"] = out["name"]
	delete(out, "name")
	return out
}

// checkReport checks that the report is a live evidence item of the
// organisation.
func checkReport(ctx context.Context, q db.Querier, orgID, evidenceID string) error {
	if evidenceID == "" {
		return nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM evidence WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, evidenceID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Field("report_evidence_id", "no evidence item %q in this organisation", evidenceID)
	}
	return err
}

// CreateCertification adds a certification or report.
func (s *ProfileService) CreateCertification(ctx context.Context, orgID string, in CertificationInput) (*Certification, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	id := db.NewID(now)
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := checkReport(ctx, tx, orgID, in.ReportEvidenceID); err != nil {
			return err
		}
		args := append([]any{id, orgID}, certValues(in)...)
		args = append(args, clock.Micros(now))
		marks := make([]string, len(args))
		for i := range marks {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO certifications (id, org_id, `+certColumns+`, created_at, updated_at)
			VALUES (`+strings.Join(marks, ", ")+`, `+marks[len(marks)-1]+`)`, args...); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "certification.create", TargetType: "certification",
			TargetID: id, Fields: certFields(in)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create certification")
	}
	return s.Certification(ctx, orgID, id)
}

// UpdateCertification replaces a certification's fields.
func (s *ProfileService) UpdateCertification(ctx context.Context, orgID, id string, in CertificationInput) (*Certification, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := checkReport(ctx, tx, orgID, in.ReportEvidenceID); err != nil {
			return err
		}
		set := ""
		for i, c := range strings.Split(certColumns, ",") {
			if i > 0 {
				set += ", "
			}
			set += strings.TrimSpace(c) + " = $" + strconv.Itoa(i+3)
		}
		args := append([]any{orgID, id}, certValues(in)...)
		args = append(args, clock.Micros(s.clock.Now()))
		res, err := tx.ExecContext(ctx, `UPDATE certifications SET `+set+`, updated_at = $`+strconv.Itoa(len(args))+`
			WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such certification")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "certification.update", TargetType: "certification",
			TargetID: id, Fields: certFields(in)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update certification")
	}
	return s.Certification(ctx, orgID, id)
}

// DeleteCertification removes a certification.
func (s *ProfileService) DeleteCertification(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE certifications SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such certification")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "certification.delete", TargetType: "certification", TargetID: id})
	}), "delete certification")
}

// Certification returns one certification.
func (s *ProfileService) Certification(ctx context.Context, orgID, id string) (*Certification, error) {
	list, err := s.certifications(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apperr.New(apperr.NotFound, "no such certification")
	}
	return &list[0], nil
}

// Certifications lists the organisation's certifications, by kind then
// name.
func (s *ProfileService) Certifications(ctx context.Context, orgID string) ([]Certification, error) {
	return s.certifications(ctx, orgID, "")
}

func (s *ProfileService) certifications(ctx context.Context, orgID, id string) ([]Certification, error) {
	q := `SELECT id, ` + certColumns + `, created_at, updated_at FROM certifications WHERE org_id = $1 AND deleted_at IS NULL`
	args := []any{orgID}
	if id != "" {
		q += ` AND id = $2`
		args = append(args, id)
	}
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.Wrap(err, "list certifications")
	}
	defer rows.Close()
	out := []Certification{}
	for rows.Next() {
		var c Certification
		var report sql.NullString
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Kind, &c.Name, &c.IssuedOn, &c.ExpiresOn, &c.Public, &report, &c.CertificateNumber,
			&c.CertificationBody, &c.AccreditationBody, &c.Scope, &c.SoAVersion, &c.RegisterURL, &c.SOC2Type, &c.PeriodStart,
			&c.PeriodEnd, &c.AuditFirm, &c.Opinion, &c.Exceptions, &c.CUECs, &c.CarveOuts, &c.BridgeLetterUntil, &c.Firm, &c.TestedOn,
			&c.OpenCritical, &c.OpenHigh, &c.OpenMedium, &c.OpenLow, &created, &updated); err != nil {
			return nil, apperr.Wrap(err, "list certifications")
		}
		c.ReportEvidenceID, c.CreatedAt, c.UpdatedAt = report.String, clock.FromMicros(created), clock.FromMicros(updated)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list certifications")
	}
	rank := func(k string) int {
		for i, x := range CertificationKinds {
			if x == k {
				return i
			}
		}
		return len(CertificationKinds)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rank(out[i].Kind) != rank(out[j].Kind) {
			return rank(out[i].Kind) < rank(out[j].Kind)
		}
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out, nil
}

// ---- roadmap -----------------------------------------------------------------

func roadmapFields(in RoadmapInput) map[string]any {
	return map[string]any{"title": in.Title, "description": in.Description, "target": in.Target, "status": in.Status, "public": in.Public}
}

// CreateRoadmapItem adds a roadmap item.
func (s *ProfileService) CreateRoadmapItem(ctx context.Context, orgID string, in RoadmapInput) (*RoadmapItem, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	id := db.NewID(now)
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO roadmap_items (id, org_id, title, description, target, status, public, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, orgID, in.Title, in.Description, in.Target, in.Status, in.Public,
			clock.Micros(now)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "roadmap.create", TargetType: "roadmap_item", TargetID: id,
			Fields: roadmapFields(in)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create roadmap item")
	}
	return s.RoadmapItem(ctx, orgID, id)
}

// UpdateRoadmapItem replaces a roadmap item's fields.
func (s *ProfileService) UpdateRoadmapItem(ctx context.Context, orgID, id string, in RoadmapInput) (*RoadmapItem, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE roadmap_items SET title = $3, description = $4, target = $5, status = $6, public = $7,
			updated_at = $8 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id, in.Title, in.Description, in.Target,
			in.Status, in.Public, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such roadmap item")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "roadmap.update", TargetType: "roadmap_item", TargetID: id,
			Fields: roadmapFields(in)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update roadmap item")
	}
	return s.RoadmapItem(ctx, orgID, id)
}

// DeleteRoadmapItem removes a roadmap item.
func (s *ProfileService) DeleteRoadmapItem(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE roadmap_items SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such roadmap item")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "roadmap.delete", TargetType: "roadmap_item", TargetID: id})
	}), "delete roadmap item")
}

// RoadmapItem returns one roadmap item.
func (s *ProfileService) RoadmapItem(ctx context.Context, orgID, id string) (*RoadmapItem, error) {
	list, err := s.Roadmap(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "no such roadmap item")
}

// Roadmap lists the roadmap: what is under way, then planned, then done;
// by target, then title.
func (s *ProfileService) Roadmap(ctx context.Context, orgID string) ([]RoadmapItem, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, title, description, target, status, public, created_at, updated_at
		FROM roadmap_items WHERE org_id = $1 AND deleted_at IS NULL`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list roadmap")
	}
	defer rows.Close()
	out := []RoadmapItem{}
	for rows.Next() {
		var it RoadmapItem
		var created, updated int64
		if err := rows.Scan(&it.ID, &it.Title, &it.Description, &it.Target, &it.Status, &it.Public, &created, &updated); err != nil {
			return nil, apperr.Wrap(err, "list roadmap")
		}
		it.CreatedAt, it.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list roadmap")
	}
	rank := map[string]int{"in_progress": 0, "planned": 1, "done": 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] < rank[b.Status]
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return strings.ToLower(a.Title) < strings.ToLower(b.Title)
	})
	return out, nil
}

// ---- GDPR commitments ------------------------------------------------------------

// SetGDPR sets the commitment under an article; an empty text removes it.
func (s *ProfileService) SetGDPR(ctx context.Context, orgID, article, text string) error {
	if _, ok := GDPRArticleTitle(article); !ok {
		return apperr.Field("article", "article %q is none of 15, 17, 28, 30, 32, 33-34", article)
	}
	text = strings.TrimSpace(text)
	if err := valid.Text("text", text, MaxCommitmentText, false); err != nil {
		return err
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		action := "gdpr.set"
		if text == "" {
			action = "gdpr.clear"
			_, err = tx.ExecContext(ctx, `DELETE FROM gdpr_commitments WHERE org_id = $1 AND article = $2`, orgID, article)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO gdpr_commitments (org_id, article, text, updated_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (org_id, article) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
				orgID, article, text, clock.Micros(s.clock.Now()))
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: action, TargetType: "gdpr_commitment", TargetID: article,
			Fields: map[string]any{"article": article, "text": text}})
	}), "set GDPR commitment")
}

// GDPR lists the organisation's commitments in article order.
func (s *ProfileService) GDPR(ctx context.Context, orgID string) ([]GDPRCommitment, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT article, text, updated_at FROM gdpr_commitments WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list GDPR commitments")
	}
	defer rows.Close()
	byArticle := map[string]GDPRCommitment{}
	for rows.Next() {
		var c GDPRCommitment
		var updated int64
		if err := rows.Scan(&c.Article, &c.Text, &updated); err != nil {
			return nil, apperr.Wrap(err, "list GDPR commitments")
		}
		c.UpdatedAt = clock.FromMicros(updated)
		byArticle[c.Article] = c
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list GDPR commitments")
	}
	out := []GDPRCommitment{}
	for _, a := range GDPRArticles {
		if c, ok := byArticle[a.Article]; ok {
			c.Title = a.Title
			out = append(out, c)
		}
	}
	return out, nil
}

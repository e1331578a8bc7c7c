package org_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

// profileFixture makes two organisations, each with a restricted evidence
// item, and the profile service.
func profileFixture(t *testing.T, d *db.DB) (*org.ProfileService, *org.Org, *org.Org, func(orgID string) string) {
	t.Helper()
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(d, clk, k)
	orgs := org.NewService(d, clk, log)
	a, err := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := orgs.Create(ctx, org.CreateInput{Slug: "beta", Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	evidence := func(orgID string) string {
		id := db.NewID(clk.Now())
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO evidence (id, org_id, kind, title, description, collected_on, valid_until,
			visibility, url, attestor_name, attestor_firm, blob_sha256, blob_size, media_type, filename, scan_state, scan_detail,
			created_by, created_at, updated_at) VALUES ($1, $2, 'note', 'Report', '', '2026-11-01', '2027-11-01', 'restricted',
			'', '', '', '', 0, '', '', '', '', 'test', 1, 1)`, id, orgID); err != nil {
			t.Fatal(err)
		}
		return id
	}
	return org.NewProfileService(d, clk, log), a, b, evidence
}

func auditCount(t *testing.T, d *db.DB, orgID, action string) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE chain = $1 AND action = $2`, orgID, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	if apperr.CodeOf(err) != apperr.Invalid || apperr.FieldOf(err) != field {
		t.Errorf("%s: %v (code %s, field %q), want invalid %q", what, err, apperr.CodeOf(err), apperr.FieldOf(err), field)
	}
}

func TestProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, a, b, _ := profileFixture(t, d)
		empty, err := s.Get(ctx, a.ID)
		if err != nil || empty.HostingProvider != "" || len(empty.HostingRegions) != 0 || empty.UpdatedAt != nil {
			t.Fatalf("empty profile: %+v, %v", empty, err)
		}
		in := org.Profile{HostingProvider: " Scaleway ", HostingRegions: []string{"fr-par", " nl-ams", "fr-par", ""},
			Architecture: "Two regions, one database.", SecurityEmail: "security@acme.example", SecurityURL: "https://acme.example/security",
			OpenPGPKeyURL: "https://acme.example/pgp.asc", DisclosurePolicyURL: "https://acme.example/disclosure",
			AcknowledgementsURL: "https://acme.example/thanks", PreferredLanguages: []string{"en", "FR", "de-CH"}}
		p, err := s.Set(ctx, a.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.HostingProvider != "Scaleway" || len(p.HostingRegions) != 2 || p.HostingRegions[1] != "nl-ams" ||
			len(p.PreferredLanguages) != 3 || p.PreferredLanguages[1] != "fr" || p.UpdatedAt == nil {
			t.Fatalf("saved profile: %+v", p)
		}
		// The upsert: a second Set replaces the first.
		in.HostingProvider, in.SecurityEmail = "OVHcloud", ""
		if p, err = s.Set(ctx, a.ID, in); err != nil || p.HostingProvider != "OVHcloud" || p.SecurityEmail != "" {
			t.Fatalf("second set: %+v, %v", p, err)
		}
		if other, _ := s.Get(ctx, b.ID); other.HostingProvider != "" {
			t.Fatalf("another organisation sees the profile: %+v", other)
		}
		for _, tc := range []struct {
			name  string
			edit  func(p *org.Profile)
			field string
		}{
			{"bad e-mail", func(p *org.Profile) { p.SecurityEmail = "security at acme" }, "security_email"},
			{"e-mail with a name", func(p *org.Profile) { p.SecurityEmail = "Sec <security@acme.example>" }, "security_email"},
			{"http URL", func(p *org.Profile) { p.SecurityURL = "http://acme.example/security" }, "security_url"},
			{"not a URL", func(p *org.Profile) { p.DisclosurePolicyURL = "acme.example/disclosure" }, "disclosure_policy_url"},
			{"javascript URL", func(p *org.Profile) { p.OpenPGPKeyURL = "javascript:alert(1)" }, "openpgp_key_url"},
			{"bad language", func(p *org.Profile) { p.PreferredLanguages = []string{"en", "not a tag"} }, "preferred_languages"},
			{"control character", func(p *org.Profile) { p.HostingProvider = "a\x00b" }, "hosting_provider"},
			{"long region", func(p *org.Profile) { p.HostingRegions = []string{strings.Repeat("a", 101)} }, "hosting_regions"},
		} {
			bad := in
			tc.edit(&bad)
			_, err := s.Set(ctx, a.ID, bad)
			wantField(t, tc.name, err, tc.field)
		}
		if n := auditCount(t, d, a.ID, "profile.update"); n != 2 {
			t.Fatalf("%d profile.update entries, want 2", n)
		}
	})
}

func TestCertifications(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, a, b, evidence := profileFixture(t, d)
		ownReport, otherReport := evidence(a.ID), evidence(b.ID)
		iso := org.CertificationInput{Kind: org.ISO27001, Name: "ISO/IEC 27001:2022", IssuedOn: "2025-03-01", ExpiresOn: "2028-02-28",
			Public: true, CertificateNumber: "IS 123456", CertificationBody: "BSI", AccreditationBody: "UKAS", Scope: "The platform",
			SoAVersion: "3.1", RegisterURL: "https://register.example/123456", ReportEvidenceID: ownReport,
			AuditFirm: "ignored for ISO"}
		soc := org.CertificationInput{Kind: org.SOC2, Name: "SOC 2 Type 2", SOC2Type: "2", PeriodStart: "2025-01-01",
			PeriodEnd: "2025-12-31", AuditFirm: "Audit & Co", Opinion: "qualified", Exceptions: 2, CUECs: "Customers manage their users.",
			CarveOuts: "The hosting provider", BridgeLetterUntil: "2026-03-31"}
		pen := org.CertificationInput{Kind: org.PenTest, Name: "Annual pen test", Firm: "Red Team Ltd", TestedOn: "2026-05-10",
			Scope: "Web application and API", OpenHigh: 1, OpenLow: 3}
		other := org.CertificationInput{Kind: org.Other, Name: "Cyber Essentials", IssuedOn: "2026-01-01"}
		var ids []string
		for _, in := range []org.CertificationInput{iso, soc, pen, other} {
			c, err := s.CreateCertification(ctx, a.ID, in)
			if err != nil {
				t.Fatalf("%s: %v", in.Kind, err)
			}
			ids = append(ids, c.ID)
		}
		list, err := s.Certifications(ctx, a.ID)
		if err != nil || len(list) != 4 {
			t.Fatalf("list: %d, %v", len(list), err)
		}
		if c := list[0]; c.Kind != org.ISO27001 || c.CertificateNumber != "IS 123456" || !c.Public || c.ReportEvidenceID != ownReport || c.AuditFirm != "" {
			t.Fatalf("ISO: %+v", c)
		}
		if c := list[1]; c.SOC2Type != "2" || c.Exceptions != 2 || c.CarveOuts != "The hosting provider" || c.Public {
			t.Fatalf("SOC 2: %+v", c)
		}
		if c := list[2]; c.Firm != "Red Team Ltd" || c.OpenHigh != 1 || c.OpenLow != 3 || c.Scope != "Web application and API" {
			t.Fatalf("pen test: %+v", c)
		}

		for _, tc := range []struct {
			name  string
			in    org.CertificationInput
			edit  func(c *org.CertificationInput)
			field string
		}{
			{"unknown kind", other, func(c *org.CertificationInput) { c.Kind = "fedramp" }, "kind"},
			{"no name", other, func(c *org.CertificationInput) { c.Name = " " }, "name"},
			{"bad date", other, func(c *org.CertificationInput) { c.ExpiresOn = "2026-02-30" }, "expires_on"},
			{"expires before issued", other, func(c *org.CertificationInput) { c.ExpiresOn = "2025-01-01" }, "expires_on"},
			{"ISO without number", iso, func(c *org.CertificationInput) { c.CertificateNumber = "" }, "certificate_number"},
			{"ISO without body", iso, func(c *org.CertificationInput) { c.CertificationBody = "" }, "certification_body"},
			{"ISO http register", iso, func(c *org.CertificationInput) { c.RegisterURL = "http://register.example/" }, "register_url"},
			{"SOC 2 without type", soc, func(c *org.CertificationInput) { c.SOC2Type = "" }, "soc2_type"},
			{"SOC 2 type 3", soc, func(c *org.CertificationInput) { c.SOC2Type = "3" }, "soc2_type"},
			{"SOC 2 without period", soc, func(c *org.CertificationInput) { c.PeriodStart = "" }, "period_start"},
			{"SOC 2 period backwards", soc, func(c *org.CertificationInput) { c.PeriodEnd = "2024-12-31" }, "period_end"},
			{"SOC 2 without firm", soc, func(c *org.CertificationInput) { c.AuditFirm = "" }, "audit_firm"},
			{"SOC 2 bad opinion", soc, func(c *org.CertificationInput) { c.Opinion = "great" }, "opinion"},
			{"SOC 2 negative exceptions", soc, func(c *org.CertificationInput) { c.Exceptions = -1 }, "exceptions"},
			{"pen test without firm", pen, func(c *org.CertificationInput) { c.Firm = "" }, "firm"},
			{"pen test without date", pen, func(c *org.CertificationInput) { c.TestedOn = "" }, "tested_on"},
			{"pen test negative findings", pen, func(c *org.CertificationInput) { c.OpenCritical = -2 }, "open_critical"},
			{"another organisation's report", other, func(c *org.CertificationInput) { c.ReportEvidenceID = otherReport }, "report_evidence_id"},
			{"no such report", other, func(c *org.CertificationInput) { c.ReportEvidenceID = "nope" }, "report_evidence_id"},
		} {
			in := tc.in
			tc.edit(&in)
			_, err := s.CreateCertification(ctx, a.ID, in)
			wantField(t, tc.name, err, tc.field)
		}

		// Update, and the other organisation's view.
		pen.OpenHigh = 0
		if c, err := s.UpdateCertification(ctx, a.ID, ids[2], pen); err != nil || c.OpenHigh != 0 || c.OpenLow != 3 {
			t.Fatalf("update: %+v, %v", c, err)
		}
		if _, err := s.UpdateCertification(ctx, b.ID, ids[2], pen); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("update from another organisation: %v", err)
		}
		if err := s.DeleteCertification(ctx, b.ID, ids[3]); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("delete from another organisation: %v", err)
		}
		if err := s.DeleteCertification(ctx, a.ID, ids[3]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Certification(ctx, a.ID, ids[3]); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleted certification: %v", err)
		}
		if list, _ := s.Certifications(ctx, b.ID); len(list) != 0 {
			t.Fatalf("another organisation sees %d certifications", len(list))
		}
		for action, want := range map[string]int{"certification.create": 4, "certification.update": 1, "certification.delete": 1} {
			if n := auditCount(t, d, a.ID, action); n != want {
				t.Errorf("%d %s entries, want %d", n, action, want)
			}
		}
	})
}

func TestRoadmapAndGDPR(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, a, b, _ := profileFixture(t, d)
		it, err := s.CreateRoadmapItem(ctx, a.ID, org.RoadmapInput{Title: "SOC 2 Type 2", Target: "2027 Q2", Public: true})
		if err != nil || it.Status != "planned" || !it.Public {
			t.Fatalf("create: %+v, %v", it, err)
		}
		if _, err := s.CreateRoadmapItem(ctx, a.ID, org.RoadmapInput{Title: "SSO for all staff", Status: "in_progress"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateRoadmapItem(ctx, a.ID, org.RoadmapInput{Title: "x", Status: "someday"})
		wantField(t, "unknown status", err, "status")
		_, err = s.CreateRoadmapItem(ctx, a.ID, org.RoadmapInput{Title: ""})
		wantField(t, "no title", err, "title")
		if it, err = s.UpdateRoadmapItem(ctx, a.ID, it.ID, org.RoadmapInput{Title: "SOC 2 Type 2", Status: "done"}); err != nil || it.Status != "done" || it.Public {
			t.Fatalf("update: %+v, %v", it, err)
		}
		list, _ := s.Roadmap(ctx, a.ID)
		if len(list) != 2 || list[0].Status != "in_progress" || list[1].Status != "done" {
			t.Fatalf("roadmap order: %+v", list)
		}
		if err := s.DeleteRoadmapItem(ctx, b.ID, it.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("delete from another organisation: %v", err)
		}
		if err := s.DeleteRoadmapItem(ctx, a.ID, it.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Roadmap(ctx, a.ID); len(list) != 1 {
			t.Fatalf("%d items after the deletion", len(list))
		}

		if err := s.SetGDPR(ctx, a.ID, "33-34", "We notify customers within 24 hours."); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGDPR(ctx, a.ID, "15", "Access requests are answered within a month."); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGDPR(ctx, a.ID, "33-34", "We notify customers within 48 hours."); err != nil {
			t.Fatal(err)
		}
		wantField(t, "unknown article", s.SetGDPR(ctx, a.ID, "99", "x"), "article")
		wantField(t, "long text", s.SetGDPR(ctx, a.ID, "15", strings.Repeat("é", 5001)), "text")
		got, _ := s.GDPR(ctx, a.ID)
		if len(got) != 2 || got[0].Article != "15" || got[1].Text != "We notify customers within 48 hours." || got[1].Title != "Breach notification" {
			t.Fatalf("commitments: %+v", got)
		}
		if err := s.SetGDPR(ctx, a.ID, "15", "  "); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GDPR(ctx, a.ID); len(got) != 1 || got[0].Article != "33-34" {
			t.Fatalf("after clearing Art. 15: %+v", got)
		}
		if got, _ := s.GDPR(ctx, b.ID); len(got) != 0 {
			t.Fatalf("another organisation sees %d commitments", len(got))
		}
		for action, want := range map[string]int{"roadmap.create": 2, "roadmap.update": 1, "roadmap.delete": 1, "gdpr.set": 3, "gdpr.clear": 1} {
			if n := auditCount(t, d, a.ID, action); n != want {
				t.Errorf("%d %s entries, want %d", n, action, want)
			}
		}
	})
}

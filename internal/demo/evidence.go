package demo

import (
	"bytes"
	"fmt"
	"net/url"

	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/evidence"
)

// item is one evidence item of the demo.
type item struct {
	handle     string // for certifications that name their report
	kind       evidence.Kind
	title      string
	desc       string
	months     int // collected this many months …
	days       int // … and days ago
	visibility evidence.Visibility
	controls   []string // library keys
	url        string
	attestor   [2]string // name, firm
	// file returns the file's name and bytes; pdfDoc and mdDoc make one.
	file func(s *seeder) (string, []byte, error)
}

func pdfDoc(name string, o outline) func(*seeder) (string, []byte, error) {
	return func(s *seeder) (string, []byte, error) {
		b, err := o.pdf(s.now)
		return name, b, err
	}
}

func mdDoc(name string, o outline) func(*seeder) (string, []byte, error) {
	return func(*seeder) (string, []byte, error) { return name, o.markdown(), nil }
}

func csvDoc(name string, rows func() []byte) func(*seeder) (string, []byte, error) {
	return func(*seeder) (string, []byte, error) { return name, rows(), nil }
}

const (
	public     = evidence.Public
	private    = evidence.Private
	restricted = evidence.Restricted
)

// items is Postwell's evidence. Stale controls (dr-tests, hr-screening,
// supplier-monitoring) have only evidence collected 14 months ago, whose
// validity (capped at 12 months) has ended; unevidenced ones have only
// notes, or nothing (disciplinary-process).
var items = []item{
	// Documents.
	{kind: evidence.File, title: "Information Security Policy v4.1", months: 2, visibility: public,
		desc:     "The top-level policy, approved by the management team.",
		controls: []string{"security-policy", "roles-responsibilities", "document-control", "acceptable-use", "data-classification", "code-of-conduct", "access-policy", "authentication-secrets", "remote-working"},
		file:     pdfDoc("information-security-policy-v4.1.pdf", securityPolicy)},
	{kind: evidence.File, title: "ISMS scope statement", months: 5, visibility: public,
		controls: []string{"isms-scope", "legal-register"}, file: mdDoc("isms-scope.md", ismsScope)},
	{kind: evidence.File, title: "Management review minutes", months: 1, days: 12, visibility: private,
		controls: []string{"management-review", "security-objectives", "performance-metrics", "board-oversight", "risk-appetite"},
		file:     pdfDoc("management-review-minutes.pdf", managementReview)},
	{kind: evidence.File, title: "Risk register export", days: 20, visibility: private,
		controls: []string{"risk-assessment", "risk-treatment", "risk-appetite"}, file: csvDoc("risk-register.csv", riskRegister)},
	{kind: evidence.File, title: "Internal audit report", months: 4, visibility: private,
		controls: []string{"internal-audit", "corrective-action"}, file: pdfDoc("internal-audit-report.pdf", internalAudit)},
	{handle: "soc2-report", kind: evidence.File, title: "SOC 2 Type 2 report", months: 2, visibility: restricted,
		desc:     "The full report, for customers under NDA. Downloads are recorded in the audit log.",
		controls: []string{"independent-review", "change-management", "access-reviews", "log-monitoring"},
		file:     pdfDoc("soc2-type2-report.pdf", socReport)},
	{handle: "pentest-report", kind: evidence.File, title: "Penetration test report", months: 3, days: 10, visibility: restricted,
		controls: []string{"penetration-testing", "vulnerability-scanning"}, file: pdfDoc("penetration-test-report.pdf", penTestReport)},
	{kind: evidence.File, title: "Business continuity and disaster recovery plan", months: 6, visibility: public,
		controls: []string{"continuity-plan", "redundancy", "backups"}, file: pdfDoc("continuity-plan.pdf", continuityPlan)},
	{kind: evidence.File, title: "Incident response plan", months: 3, visibility: public,
		controls: []string{"incident-response-plan", "incident-handling", "evidence-collection", "event-reporting", "privacy-breach-notification", "incident-lessons"},
		file:     mdDoc("incident-response-plan.md", incidentPlan)},
	{kind: evidence.File, title: "Post-incident review: delayed outbound delivery", months: 2, days: 3, visibility: private,
		controls: []string{"incident-lessons", "incident-handling"}, file: mdDoc("post-incident-review.md", lessonsLearned)},
	{kind: evidence.File, title: "Secure development standard", months: 7, visibility: public,
		controls: []string{"secure-development", "secure-coding", "code-review", "security-testing", "environment-separation", "test-data", "source-code-access", "change-management", "web-security-headers", "dependency-management"},
		file:     mdDoc("secure-development-standard.md", developmentStandard)},
	{kind: evidence.File, title: "Cryptography and key management standard", months: 8, visibility: public,
		controls: []string{"encryption-at-rest", "encryption-in-transit", "key-management", "secrets-management", "service-accounts", "data-transfer"},
		file:     mdDoc("cryptography-standard.md", cryptoStandard)},
	{kind: evidence.File, title: "Logging and monitoring standard", months: 8, visibility: public,
		controls: []string{"security-logging", "log-monitoring", "log-protection"}, file: mdDoc("logging-standard.md", loggingStandard)},
	{kind: evidence.File, title: "Network architecture", months: 5, visibility: private,
		controls: []string{"network-segmentation", "network-security", "ddos-protection", "secure-configuration"},
		file:     mdDoc("network-architecture.md", networkArchitecture)},
	{kind: evidence.File, title: "Quarterly access review", days: 35, visibility: private,
		controls: []string{"access-reviews", "access-provisioning", "unique-identities", "offboarding", "asset-return"},
		file:     csvDoc("access-review.csv", accessReview)},
	{kind: evidence.File, title: "Security awareness training completion", months: 1, visibility: private,
		controls: []string{"security-awareness"}, file: csvDoc("training-completion.csv", trainingCompletion)},
	{kind: evidence.File, title: "Endpoint compliance export (device management)", days: 6, visibility: private,
		controls: []string{"endpoint-management", "malware-protection", "equipment-security", "remote-working"},
		file:     csvDoc("endpoint-compliance.csv", endpointCompliance)},
	{kind: evidence.File, title: "Asset inventory", months: 1, days: 5, visibility: private,
		controls: []string{"asset-inventory", "data-classification", "cloud-services"}, file: csvDoc("asset-inventory.csv", assetInventory)},
	{kind: evidence.File, title: "Supplier register", months: 2, visibility: private,
		controls: []string{"supplier-due-diligence", "supplier-agreements", "outsourced-development", "cloud-services"},
		file:     csvDoc("supplier-register.csv", supplierRegister)},
	{kind: evidence.File, title: "Record of processing activities", months: 3, visibility: private,
		controls: []string{"privacy-records", "privacy-rights", "privacy-consent", "legal-register", "data-retention-deletion"},
		file:     csvDoc("record-of-processing.csv", processingRecord)},
	{kind: evidence.File, title: "DPIA: inbound spam and malware filtering", months: 9, visibility: private,
		controls: []string{"privacy-dpia"}, file: mdDoc("dpia-spam-filtering.md", dpia)},
	{kind: evidence.File, title: "Office access control review", months: 2, visibility: private,
		controls: []string{"physical-perimeter"}, file: csvDoc("office-access.csv", badgeAccess)},
	{kind: evidence.File, title: "Confidentiality agreement template", months: 10, visibility: public,
		controls: []string{"hr-terms"}, file: mdDoc("confidentiality-agreement.md", confidentialityAgreement)},
	// Stale: the last of these was 14 months ago, and nothing newer exists.
	{kind: evidence.File, title: "Disaster recovery exercise report", months: 14, visibility: public,
		desc:     "The last exercise. The next one, a full region failover, is on the roadmap.",
		controls: []string{"dr-tests"}, file: pdfDoc("dr-exercise-report.pdf", drExercise)},
	{kind: evidence.File, title: "Background screening procedure", months: 14, visibility: private,
		controls: []string{"hr-screening"}, file: mdDoc("background-screening.md", screeningProcedure)},
	{kind: evidence.File, title: "Annual supplier review", months: 14, days: 9, visibility: private,
		controls: []string{"supplier-monitoring"}, file: pdfDoc("supplier-review.pdf", supplierReview)},

	// Links.
	{kind: evidence.Link, title: "Privacy policy", months: 4, visibility: public, url: "https://postwell.example/legal/privacy",
		controls: []string{"privacy-notice", "privacy-consent", "privacy-rights"}},
	{kind: evidence.Link, title: "Public status page", days: 2, visibility: public, url: "https://status.postwell.example/",
		controls: []string{"availability-monitoring", "incident-handling"}},
	{kind: evidence.Link, title: "Vulnerability disclosure policy", months: 5, visibility: public, url: "https://postwell.example/security/disclosure",
		controls: []string{"vulnerability-disclosure", "authority-contact"}},
	{kind: evidence.Link, title: "Hosting provider's ISO/IEC 27001 certificate", months: 3, visibility: public,
		url:      "https://cirrus-hosting.example/compliance/iso27001",
		desc:     "Physical and environmental security of the data centres is the provider's, under its own certificate.",
		controls: []string{"physical-perimeter", "environmental-protection", "supporting-utilities", "media-handling", "cloud-services", "redundancy"}},
	{kind: evidence.Link, title: "DMARC aggregate reports dashboard", days: 9, visibility: private,
		url: "https://grafana.postwell.example/d/dmarc", controls: []string{"email-authentication", "data-transfer"}},
	{kind: evidence.Link, title: "Patch management runbook", months: 3, visibility: private,
		url: "https://wiki.postwell.example/runbooks/patching", controls: []string{"patch-management", "secure-configuration"}},
	{kind: evidence.Link, title: "Branch protection and review rules", months: 1, visibility: private,
		url: "https://git.postwell.example/postwell/platform/-/settings/repository", controls: []string{"change-management", "code-review", "source-code-access", "segregation-duties"}},
	{kind: evidence.Link, title: "Deletion procedure for closed accounts", months: 6, visibility: public,
		url: "https://postwell.example/legal/data-deletion", controls: []string{"data-retention-deletion", "media-handling"}},

	// Self-attested notes: a control backed only by notes stays unevidenced.
	{kind: evidence.Note, title: "Time synchronisation", days: 20, visibility: public,
		desc:     "All hosts synchronise with chrony against the hosting provider's time service; drift above 100 ms alerts the on-call engineer.",
		controls: []string{"clock-sync"}},
	{kind: evidence.Note, title: "Weekly capacity review", days: 12, visibility: private,
		desc:     "Storage, queue and CPU headroom are reviewed every Monday in the platform meeting; growth forecasts are updated monthly.",
		controls: []string{"capacity-management"}},
	{kind: evidence.Note, title: "Segregation of duties in deployments", months: 1, visibility: public,
		desc:     "Production deployments need approval by an engineer other than the author; finance payments need two approvers.",
		controls: []string{"segregation-duties"}},
	{kind: evidence.Note, title: "Clear desk and clear screen", months: 1, days: 4, visibility: public,
		desc:     "The clear desk rule is part of onboarding, and laptops lock after 5 minutes; office walkthroughs are not recorded yet.",
		controls: []string{"secure-areas"}},
	{kind: evidence.Note, title: "Threat intelligence feeds being set up", days: 8, visibility: private,
		desc:     "Subscribed to the national CERT's advisories; the mail-abuse feeds are being connected to the detection pipeline.",
		controls: []string{"threat-intelligence"}},

	// Independent attestations.
	{kind: evidence.Attestation, title: "ISO/IEC 27001:2022 surveillance audit: no major nonconformity", months: 5, visibility: public,
		attestor: [2]string{"Claire Dubois, lead auditor", "Certivia Certification SAS"},
		controls: []string{"isms-scope", "management-review", "internal-audit", "independent-review", "risk-assessment", "risk-treatment", "corrective-action"}},
	{kind: evidence.Attestation, title: "SOC 2 Type 2 opinion: unqualified, no exceptions", months: 2, visibility: public,
		attestor: [2]string{"Dana Whitfield, CPA", "Ledger & Stone LLP"},
		controls: []string{"independent-review", "access-reviews", "change-management", "log-monitoring"}},
	{kind: evidence.Attestation, title: "Penetration test retest: critical and high findings closed", months: 2, days: 20, visibility: public,
		attestor: [2]string{"Marc Lefèvre", "Redline Security Labs"},
		controls: []string{"penetration-testing"}},
}

// pushes are results that CI jobs push (POST /api/v1/evidence/push).
var pushes = []struct {
	name, title, summary string
	measured             map[string]string
	controls             []string
}{
	{"restore-test", "Weekly backup restore test", "Restored the latest mailbox-store backup into an isolated project in 41 minutes; checksums match.",
		map[string]string{"restore_minutes": "41", "mailboxes_checked": "500"}, []string{"backups", "restore-tests"}},
	{"dependency-scan", "Dependency scan in CI", "No critical or high vulnerability in 1,284 dependencies.",
		map[string]string{"critical": "0", "high": "0", "dependencies": "1284"}, []string{"dependency-management", "vulnerability-scanning", "security-testing"}},
	{"mfa-enrolment", "MFA enrolment at the identity provider", "142 of 142 staff accounts enrolled in phishing-resistant MFA.",
		map[string]string{"accounts": "142", "enrolled": "142"}, []string{"mfa", "single-sign-on", "unique-identities"}},
}

// pushInterval is how often the demo's pushed results are said to come:
// a week, so they stay current for two weeks of trying the demo.
const pushInterval = 7 * 24 * 60

func (s *seeder) evidenceItems() error {
	for _, it := range items {
		ids, err := s.controlIDs(it.controls)
		if err != nil {
			return err
		}
		in := evidence.Input{Kind: it.kind, Title: it.title, Description: it.desc, CollectedOn: s.date(it.months, it.days),
			Visibility: it.visibility, URL: it.url, AttestorName: it.attestor[0], AttestorFirm: it.attestor[1], ControlIDs: ids}
		var e *evidence.Evidence
		if it.file != nil {
			name, body, ferr := it.file(s)
			if ferr != nil {
				return fmt.Errorf("%s: %w", it.title, ferr)
			}
			e, err = s.a.Evidence.Upload(s.ctx, s.org.ID, in, name, bytes.NewReader(body))
		} else {
			e, err = s.a.Evidence.Create(s.ctx, s.org.ID, in)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", it.title, err)
		}
		if it.handle != "" {
			s.evidence[it.handle] = e.ID
		}
		s.res.Evidence++
	}
	for _, p := range pushes {
		ids, err := s.controlIDs(p.controls)
		if err != nil {
			return err
		}
		if _, err := s.a.Evidence.Push(s.ctx, s.org.ID, evidence.PushInput{Check: p.name, Title: p.title, Passed: true, Summary: p.summary,
			Measured: p.measured, ControlIDs: ids, IntervalMinutes: pushInterval}, "", nil); err != nil {
			return fmt.Errorf("push %s: %w", p.name, err)
		}
		s.res.Evidence++
	}
	return nil
}

// checks adds the automated checks pointed at the demo server itself. Their
// first runs are enqueued with them: the job workers run them as soon as
// the server serves.
func (s *seeder) checks() error {
	if s.opts.SelfURL == "" {
		return nil
	}
	self, _ := url.Parse(s.opts.SelfURL) // checked by Seed
	https := (&url.URL{Scheme: "https", Host: self.Host, Path: "/"}).String()
	list := []struct {
		kind, title, desc, target string
		interval                  int
		controls                  []string
	}{
		{check.KindHTTPUp, "Service availability", "Evident calls the service's health endpoint every 5 minutes.",
			s.opts.SelfURL + "/healthz", 5, []string{"availability-monitoring"}},
		{check.KindHTTPUp, "security.txt is published", "The security contact of RFC 9116 answers at /.well-known/security.txt.",
			s.opts.SelfURL + "/.well-known/security.txt", 60, []string{"vulnerability-disclosure", "authority-contact"}},
		{check.KindHTTPUp, "Public subprocessor list is online", "The list customers are told to watch for changes answers.",
			s.opts.SelfURL + "/t/" + Slug + "/subprocessors", 60, []string{"subprocessor-register"}},
		{check.KindHTTPHeaders, "HTTPS security headers", "Asserts HSTS, CSP, frame protection, nosniff and a referrer policy over HTTPS. " +
			"It fails on this demo, which serves plain HTTP: put it behind TLS and it can pass.",
			https, 60, []string{"web-security-headers"}},
	}
	for _, c := range list {
		ids, err := s.controlIDs(c.controls)
		if err != nil {
			return err
		}
		if _, err := s.a.Evidence.CreateCheck(s.ctx, s.org.ID, evidence.CheckInput{Title: c.title, Description: c.desc, Kind: c.kind,
			Target: c.target, IntervalMinutes: c.interval, Visibility: public, ControlIDs: ids}); err != nil {
			return fmt.Errorf("check %s: %w", c.title, err)
		}
		s.res.Evidence++
		s.res.Checks++
		s.res.CheckTargets = append(s.res.CheckTargets, c.target)
	}
	return nil
}

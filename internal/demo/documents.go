package demo

import (
	"bytes"
	"encoding/csv"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/pdf"
)

// The demo's evidence files: small but real documents, rendered as PDF or
// Markdown from one outline, and CSV exports, so the blob store, type
// detection and downloads work on them as on any upload.

// outline is a document: sections of paragraphs, bullets and a table.
type outline struct {
	title, subtitle string
	sections        []section
}

type section struct {
	heading string
	paras   []string
	bullets []string
	table   [][]string // first row: header
}

// pdf renders the outline; at is the creation date recorded in it.
func (o outline) pdf(at time.Time) ([]byte, error) {
	d := pdf.New(o.title, o.subtitle, "Postwell · "+o.title)
	d.SetCreationDate(at)
	for _, s := range o.sections {
		d.Heading(1, s.heading)
		for _, p := range s.paras {
			d.Paragraph(p)
		}
		for _, b := range s.bullets {
			d.Bullet(b)
		}
		if len(s.table) > 1 {
			d.Table(s.table[0], s.table[1:])
		}
	}
	return d.Bytes()
}

// markdown renders the outline as Markdown.
func (o outline) markdown() []byte {
	var b strings.Builder
	b.WriteString("# " + o.title + "\n\n")
	if o.subtitle != "" {
		b.WriteString("_" + o.subtitle + "_\n\n")
	}
	for _, s := range o.sections {
		b.WriteString("## " + s.heading + "\n\n")
		for _, p := range s.paras {
			b.WriteString(p + "\n\n")
		}
		for _, item := range s.bullets {
			b.WriteString("- " + item + "\n")
		}
		if len(s.bullets) > 0 {
			b.WriteString("\n")
		}
		if len(s.table) > 1 {
			for i, row := range s.table {
				b.WriteString("| " + strings.Join(row, " | ") + " |\n")
				if i == 0 {
					b.WriteString("|" + strings.Repeat(" --- |", len(row)) + "\n")
				}
			}
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

// csvFile writes rows as CSV.
func csvFile(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // writes to memory: cannot fail
	return b.Bytes()
}

var securityPolicy = outline{
	title:    "Information Security Policy",
	subtitle: "Version 4.1 · approved by the management team · owner: Head of Security",
	sections: []section{
		{heading: "Purpose and scope", paras: []string{
			"This policy sets how Postwell protects the confidentiality, integrity and availability of its customers' mail and of its own information. " +
				"It applies to every employee, contractor and system of Postwell, and to the hosted e-mail service in all regions."}},
		{heading: "Principles", bullets: []string{
			"Customer mail is confidential by default: staff access it only on a customer's written request or to stop an attack, and every access is logged.",
			"Access follows least privilege, is granted through the identity provider with multi-factor authentication, and is reviewed every quarter.",
			"Data is encrypted in transit (TLS 1.2 or newer) and at rest (AES-256), with keys held in the provider's key management service.",
			"Every change to production is reviewed by a second engineer and deployed by the pipeline, never by hand.",
			"Security events are reported at once to security@postwell.example; incidents follow the incident response plan.",
		}},
		{heading: "Roles", table: [][]string{
			{"Role", "Responsibility"},
			{"Management team", "Approves this policy and the risk appetite; reviews the programme twice a year"},
			{"Head of Security", "Owns the ISMS, the risk register and this policy"},
			{"VP Engineering", "Owns the platform controls: access, encryption, backups, monitoring"},
			{"People Operations", "Owns screening, onboarding, training and offboarding"},
			{"Every employee", "Follows the acceptable use rules and reports security events"},
		}},
		{heading: "Review", paras: []string{"This policy is reviewed at least once a year and after any major incident or change of the service."}},
	},
}

var ismsScope = outline{
	title:    "ISMS scope statement",
	subtitle: "Postwell information security management system",
	sections: []section{
		{heading: "Scope", paras: []string{
			"The design, development, operation and support of the Postwell hosted e-mail service (mailboxes, outbound delivery, " +
				"web and mobile clients, APIs), from the Paris and Lyon offices and remote workplaces, hosted in the EU."}},
		{heading: "Interfaces and dependencies", bullets: []string{
			"Hosting: Cirrus Hosting (Paris and Frankfurt regions), covered by its own certificate.",
			"Outbound relay overflow: Relayhaus; payments: Paystream; support desk: Helpdeskly; error tracking: Stacktrace.",
		}},
		{heading: "Exclusions", paras: []string{"None of the service is excluded. Annex A exclusions are listed with their reasons in the Statement of Applicability."}},
	},
}

var managementReview = outline{
	title:    "Management review of the ISMS",
	subtitle: "Minutes · attendees: CEO, VP Engineering, Head of Security, Head of People",
	sections: []section{
		{heading: "Inputs reviewed", bullets: []string{
			"Status of actions from the previous review: 9 of 11 closed, 2 carried over (data leakage prevention, DR region failover exercise).",
			"Security objectives: availability 99.95 % achieved (99.97 %), MFA coverage 100 %, phishing simulation click rate 4 % (target under 5 %).",
			"Results of the internal audit and of the certification surveillance audit.",
			"Risk register: 3 risks above appetite, each with a treatment plan.",
		}},
		{heading: "Decisions", bullets: []string{
			"Fund data leakage prevention for the support tooling next half-year.",
			"Schedule a full region failover exercise before the next surveillance audit.",
			"Keep the risk appetite unchanged.",
		}},
	},
}

var internalAudit = outline{
	title:    "Internal audit report",
	subtitle: "ISMS internal audit · performed by an auditor independent of the audited processes",
	sections: []section{
		{heading: "Scope", paras: []string{"Clauses 4 to 10 and a sample of 40 Annex A controls, on evidence from the last twelve months."}},
		{heading: "Findings", table: [][]string{
			{"Id", "Finding", "Type", "Status"},
			{"IA-01", "Two leavers kept access to the support desk for 6 days", "Minor nonconformity", "Closed"},
			{"IA-02", "Supplier annual review not performed for two suppliers", "Minor nonconformity", "Open"},
			{"IA-03", "DR exercise older than the 12 months the plan requires", "Observation", "Open"},
		}},
	},
}

var continuityPlan = outline{
	title:    "Business continuity and disaster recovery plan",
	subtitle: "Hosted e-mail service · RPO and RTO per scenario",
	sections: []section{
		{heading: "Objectives", table: [][]string{
			{"Scenario", "RPO", "RTO"},
			{"Loss of one availability zone", "0 (synchronous replicas)", "15 minutes"},
			{"Loss of the Paris region", "1 hour", "4 hours"},
			{"Destruction or encryption of the mailbox store", "6 hours (backups)", "24 hours"},
			{"Loss of the support desk provider", "n/a", "2 business days"},
		}},
		{heading: "Arrangements", bullets: []string{
			"Mailbox stores replicate across three availability zones; backups go every 6 hours to the Frankfurt region, encrypted.",
			"The on-call engineer declares a disaster; the incident commander runs the recovery runbooks.",
			"The plan is tested at least once a year; results and measured RTO are recorded.",
		}},
	},
}

var drExercise = outline{
	title:    "Disaster recovery exercise report",
	subtitle: "Region failover tabletop and mailbox-store restore",
	sections: []section{
		{heading: "Result", paras: []string{"The mailbox store of the staging environment was restored in the Frankfurt region in 3 h 40 min, " +
			"within the 4-hour RTO. Two runbook steps were out of date and were corrected."}},
	},
}

var socReport = outline{
	title:    "SOC 2 Type 2 report",
	subtitle: "Report on Postwell's description of its hosted e-mail system and the suitability of the design and operating effectiveness of its controls",
	sections: []section{
		{heading: "Independent service auditor's report", paras: []string{
			"In our opinion, in all material respects, the controls stated in the description were suitably designed and operated effectively " +
				"throughout the period to provide reasonable assurance that the service commitments were achieved based on the applicable trust services criteria (Security, Availability, Confidentiality).",
			"Fictional report, part of the Evident demo."}},
		{heading: "Exceptions", paras: []string{"None noted."}},
	},
}

var penTestReport = outline{
	title:    "Penetration test report",
	subtitle: "Web application, API and mail infrastructure · grey-box",
	sections: []section{
		{heading: "Summary", table: [][]string{
			{"Severity", "Found", "Open after retest"},
			{"Critical", "0", "0"},
			{"High", "2", "0"},
			{"Medium", "5", "1"},
			{"Low", "7", "3"},
		}},
		{heading: "Notes", paras: []string{"Fictional report, part of the Evident demo."}},
	},
}

var incidentPlan = outline{
	title:    "Incident response plan",
	subtitle: "Detection, assessment, containment, recovery, post-incident review",
	sections: []section{
		{heading: "Roles", bullets: []string{
			"Incident commander: leads the response and decides; the Head of Security or the on-call lead.",
			"Primary and secondary on-call engineers: investigate and contain.",
			"Communications lead: customers, status page and, with the DPO, supervisory authorities.",
		}},
		{heading: "Phases", bullets: []string{
			"Detection: alerts, staff reports to security@postwell.example, customer reports.",
			"Assessment: severity 1 to 4 within 30 minutes; severity 1 and 2 page the incident commander.",
			"Containment and recovery: runbooks; evidence is preserved before systems are changed.",
			"Notification: affected customers within 24 hours of confirming a personal data breach, so they can meet their 72 hours.",
			"Post-incident review within 10 business days; lessons feed the risk register.",
		}},
	},
}

var developmentStandard = outline{
	title:    "Secure development standard",
	subtitle: "Applies to every repository of the product",
	sections: []section{
		{heading: "Rules", bullets: []string{
			"Main branches are protected: a change merges only after review by an engineer other than its author and a green pipeline.",
			"The pipeline runs unit tests, static analysis, a dependency scan and a secrets scan; critical findings block the merge.",
			"Production, staging and development run in separate accounts; production data never reaches other environments, test data is synthetic.",
			"Security headers (CSP, HSTS, frame protection, nosniff, referrer policy) are set by the shared HTTP middleware.",
			"Access to source code goes through the identity provider; write access is limited to the engineering group.",
		}},
	},
}

var cryptoStandard = outline{
	title: "Cryptography and key management standard",
	sections: []section{
		{heading: "Rules", bullets: []string{
			"TLS 1.2 or newer on every endpoint; SMTP offers STARTTLS, publishes MTA-STS and DANE; certificates renew automatically.",
			"Mailboxes, search indexes and backups are encrypted at rest with AES-256; keys live in the provider's KMS and rotate yearly.",
			"Application secrets live in the secrets manager; none in code or images; service credentials rotate every 90 days.",
		}},
	},
}

var loggingStandard = outline{
	title: "Logging and monitoring standard",
	sections: []section{
		{heading: "Rules", bullets: []string{
			"Authentication, administration and access to customer data are logged centrally, kept 13 months, and write-once.",
			"Alerts page the on-call engineer around the clock; security alerts also go to the security team.",
			"Hosts synchronise their clocks; logs carry UTC timestamps.",
		}},
	},
}

var networkArchitecture = outline{
	title: "Network architecture",
	sections: []section{
		{heading: "Zones", table: [][]string{
			{"Zone", "Contents", "Reachable from"},
			{"Edge", "Load balancers, MX, submission", "Internet (DDoS protection in front)"},
			{"Application", "Web, API, delivery workers", "Edge only"},
			{"Data", "Mailbox stores, databases", "Application only"},
			{"Administration", "Bastion", "Staff through the identity-aware proxy"},
		}},
		{heading: "Baselines", paras: []string{"Hosts are built from hardened images with default-deny firewalls; configuration drift is detected daily."}},
	},
}

var dpia = outline{
	title: "Data protection impact assessment: inbound spam and malware filtering",
	sections: []section{
		{heading: "Conclusion", paras: []string{"Scanning inbound mail is necessary and proportionate to protect mailboxes; " +
			"content is processed in memory only, in the EU, and no content is kept after scanning."}},
	},
}

var lessonsLearned = outline{
	title: "Post-incident review: delayed outbound delivery",
	sections: []section{
		{heading: "What happened", paras: []string{"A configuration change reduced the outbound queue's workers; delivery was delayed up to 47 minutes for 6 % of customers."}},
		{heading: "Actions", bullets: []string{"Alert on queue age, not only on queue length (done).", "Canary the delivery configuration (done)."}},
	},
}

var screeningProcedure = outline{
	title: "Background screening procedure",
	sections: []section{
		{heading: "Procedure", paras: []string{"Candidates for roles with access to production or customer data are screened after the offer, as French law allows: " +
			"identity, right to work, diplomas and references."}},
	},
}

var supplierReview = outline{
	title: "Annual supplier review",
	sections: []section{
		{heading: "Suppliers reviewed", table: [][]string{
			{"Supplier", "Certificate checked", "DPA", "Result"},
			{"Cirrus Hosting", "ISO/IEC 27001", "Signed", "Keep"},
			{"Paystream", "PCI DSS AOC", "Signed", "Keep"},
			{"Helpdeskly", "SOC 2 Type 2", "Signed", "Keep, ask for EU hosting"},
		}},
	},
}

var confidentialityAgreement = outline{
	title: "Confidentiality agreement (template)",
	sections: []section{
		{heading: "Clause", paras: []string{"The employee keeps confidential all information about Postwell's customers, their mail and Postwell's systems, " +
			"during and after employment, and follows the information security policy."}},
	},
}

func riskRegister() []byte {
	return csvFile([][]string{
		{"id", "risk", "likelihood", "impact", "score", "treatment", "owner", "status"},
		{"R-01", "Account takeover of a customer admin", "3", "4", "12", "MFA by default, anomaly alerts", "VP Engineering", "treated"},
		{"R-02", "Loss of the Paris region", "1", "5", "5", "Multi-region backups, DR plan", "VP Engineering", "treated"},
		{"R-03", "Mail content leaked through support tooling", "2", "5", "10", "Data leakage prevention (planned)", "Head of Security", "above appetite"},
		{"R-04", "Outbound IP reputation loss (spam from compromised accounts)", "3", "3", "9", "Rate limits, outbound scanning", "VP Engineering", "treated"},
		{"R-05", "Critical vulnerability in a dependency", "3", "4", "12", "Dependency scan in CI, patch SLA", "VP Engineering", "treated"},
		{"R-06", "Insider access to mailboxes", "1", "5", "5", "Access logging, quarterly reviews", "Head of Security", "treated"},
	})
}

func accessReview() []byte {
	return csvFile([][]string{
		{"system", "accounts", "reviewed_by", "removed", "changed", "leavers_found"},
		{"Identity provider", "142", "Head of Security", "3", "5", "0"},
		{"Cloud console", "18", "VP Engineering", "1", "2", "0"},
		{"Support desk", "24", "Head of Support", "2", "0", "0"},
		{"Source code host", "61", "VP Engineering", "0", "3", "0"},
	})
}

func trainingCompletion() []byte {
	return csvFile([][]string{
		{"course", "assigned", "completed", "completion_rate"},
		{"Security awareness (annual)", "142", "139", "97.9%"},
		{"Secure coding (engineers)", "61", "61", "100%"},
		{"Phishing simulation (quarter)", "142", "136 did not click", "95.8%"},
	})
}

func endpointCompliance() []byte {
	return csvFile([][]string{
		{"platform", "devices", "disk_encrypted", "os_up_to_date", "edr_running", "screen_lock"},
		{"macOS", "118", "118", "115", "118", "118"},
		{"Linux", "21", "21", "21", "21", "21"},
		{"Windows", "6", "6", "6", "6", "6"},
	})
}

func assetInventory() []byte {
	return csvFile([][]string{
		{"asset", "type", "owner", "classification", "location"},
		{"Mailbox store", "data store", "VP Engineering", "confidential", "Cirrus Paris (3 zones)"},
		{"Backups", "data store", "VP Engineering", "confidential", "Cirrus Frankfurt"},
		{"Delivery workers", "service", "VP Engineering", "internal", "Cirrus Paris"},
		{"Customer database", "data store", "VP Engineering", "confidential", "Cirrus Paris"},
		{"Support desk", "SaaS", "Head of Support", "confidential", "Helpdeskly (US)"},
		{"Laptops", "endpoint", "IT", "internal", "staff"},
	})
}

func supplierRegister() []byte {
	return csvFile([][]string{
		{"supplier", "service", "criticality", "certification", "dpa", "last_due_diligence"},
		{"Cirrus Hosting", "hosting", "critical", "ISO/IEC 27001", "signed", "onboarding"},
		{"Relayhaus", "outbound relay", "high", "ISO/IEC 27001", "signed", "onboarding"},
		{"Paystream", "payments", "high", "PCI DSS", "signed", "onboarding"},
		{"Helpdeskly", "support desk", "medium", "SOC 2 Type 2", "signed", "onboarding"},
		{"Stacktrace", "error tracking", "medium", "ISO/IEC 27001", "signed", "onboarding"},
	})
}

func processingRecord() []byte {
	return csvFile([][]string{
		{"activity", "role", "purpose", "lawful_basis", "data_categories", "retention", "recipients"},
		{"Hosting customer mail", "processor", "Provide the e-mail service", "contract (customer's instructions)", "mail content, addresses", "contract + 30 days", "Cirrus Hosting, Relayhaus"},
		{"Billing", "controller", "Invoice customers", "contract, legal obligation", "billing contacts", "10 years (accounting law)", "Paystream"},
		{"Support", "controller", "Answer support requests", "contract", "names, addresses, ticket content", "3 years", "Helpdeskly"},
		{"Data subject requests", "controller", "Answer access and erasure requests", "legal obligation", "identity, request", "3 years", ""},
	})
}

func badgeAccess() []byte {
	return csvFile([][]string{
		{"office", "badge_holders", "visitor_log", "reviewed"},
		{"Paris", "96", "yes", "quarterly"},
		{"Lyon", "31", "yes", "quarterly"},
	})
}

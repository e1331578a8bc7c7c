package demo

import (
	"fmt"
	"sort"

	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
)

// measureSeed is one technical or organisational measure with its French
// title.
type measureSeed struct {
	category, title, titleFR, desc string
	controls                       []string
	private                        bool
}

var measures = []measureSeed{
	{"encryption_in_transit", "TLS 1.2 or newer everywhere, MTA-STS and DANE for mail", "TLS 1.2 ou plus partout, MTA-STS et DANE pour le courrier",
		"Every web, API and SMTP endpoint offers TLS 1.2 or newer; outbound mail requires TLS where the receiving domain publishes MTA-STS or DANE.",
		[]string{"encryption-in-transit", "email-authentication", "data-transfer"}, false},
	{"encryption_at_rest", "AES-256 encryption of mailboxes, indexes and backups", "Chiffrement AES-256 des boîtes, index et sauvegardes",
		"Keys are held in the hosting provider's key management service and rotated yearly.",
		[]string{"encryption-at-rest", "key-management"}, false},
	{"authentication", "Multi-factor authentication for staff and customers", "Authentification multifacteur pour le personnel et les clients",
		"Staff sign in through the identity provider with phishing-resistant MFA; customers can enforce TOTP or passkeys for their users.",
		[]string{"mfa", "single-sign-on", "authentication-secrets"}, false},
	{"authorisation", "Least privilege and quarterly access reviews", "Moindre privilège et revues d'accès trimestrielles",
		"Access is role-based, granted on request and approval, and reviewed every quarter by each system's owner.",
		[]string{"access-policy", "access-provisioning", "access-reviews"}, false},
	{"malware_protection", "Inbound mail scanning and endpoint protection", "Analyse du courrier entrant et protection des postes",
		"Inbound messages and attachments are scanned for malware and phishing; staff laptops run endpoint detection and response.",
		[]string{"malware-protection", "endpoint-management"}, false},
	{"http_security_headers", "Strict HTTP security headers", "En-têtes de sécurité HTTP stricts",
		"CSP, HSTS, frame protection, nosniff and a strict referrer policy on every web application.",
		[]string{"web-security-headers"}, false},
	{"audit_logging", "Tamper-evident audit logs kept 13 months", "Journaux d'audit infalsifiables conservés 13 mois",
		"Administrative actions and access to customer data are logged to write-once storage.",
		[]string{"security-logging", "log-protection"}, false},
	{"backups", "Encrypted backups every 6 hours, restores tested weekly", "Sauvegardes chiffrées toutes les 6 heures, restaurations testées chaque semaine",
		"Backups go to a second EU region; a weekly job restores one and checks it.",
		[]string{"backups", "restore-tests"}, false},
	{"data_deletion", "Deletion within 30 days of the end of the contract", "Suppression sous 30 jours après la fin du contrat",
		"Mailboxes are deleted 30 days after an account closes, backups age out within 35 days more.",
		[]string{"data-retention-deletion", "media-handling"}, false},
	{"logging_monitoring", "Monitoring and on-call around the clock", "Supervision et astreinte 24 h/24",
		"Alerts page the on-call engineer at any hour; availability is checked from outside every 5 minutes.",
		[]string{"log-monitoring", "availability-monitoring"}, false},
	{"network_security", "Segmented networks, default-deny firewalls, DDoS protection", "Réseaux segmentés, pare-feu en refus par défaut, protection DDoS",
		"Edge, application, data and administration zones are separated; only the edge is reachable from the Internet.",
		[]string{"network-security", "network-segmentation", "ddos-protection"}, false},
	{"personnel", "Confidentiality agreements and yearly security training", "Engagements de confidentialité et formation annuelle à la sécurité",
		"Every employee signs a confidentiality agreement and completes security training each year.",
		[]string{"hr-terms", "security-awareness"}, false},
	{"supplier_management", "Due diligence and DPAs with every subprocessor", "Diligence raisonnable et DPA avec chaque sous-traitant",
		"Subprocessors are assessed before use, bound by a data processing agreement, and announced 30 days ahead.",
		[]string{"supplier-due-diligence", "supplier-agreements", "subprocessor-register"}, false},
	{"incident_management", "Breach notification within 24 hours", "Notification des violations sous 24 heures",
		"Customers hear of a personal data breach affecting them within 24 hours of its confirmation.",
		[]string{"incident-response-plan", "privacy-breach-notification"}, false},
	{"business_continuity", "Multi-zone redundancy, RPO 1 hour, RTO 4 hours", "Redondance multi-zones, RPO 1 heure, RTO 4 heures",
		"Mailbox stores replicate across three zones; a region loss is recovered from the second region.",
		[]string{"continuity-plan", "redundancy", "dr-tests"}, false},
	{"physical_security", "Badge access and visitor logs in the offices", "Accès par badge et registre des visiteurs dans les bureaux",
		"The offices hold no customer data; access is by badge and reviewed quarterly.",
		[]string{"physical-perimeter", "secure-areas"}, true},
}

func (s *seeder) measures() error {
	for _, m := range measures {
		ids, err := s.controlIDs(m.controls)
		if err != nil {
			return err
		}
		vis := control.Public
		if m.private {
			vis = control.Private
		}
		created, err := s.a.Measures.Create(s.ctx, s.org.ID, measure.Input{Category: m.category, Title: m.title, Description: m.desc,
			Visibility: vis, ControlIDs: ids})
		if err != nil {
			return fmt.Errorf("measure %q: %w", m.title, err)
		}
		if err := s.a.Translations.Set(s.ctx, s.org.ID, "measure", created.ID, "title", "fr", m.titleFR); err != nil {
			return err
		}
		s.res.Measures++
	}
	return nil
}

// subprocessorSeed is a subprocessor with its French purpose; parent names
// another of the list.
type subprocessorSeed struct {
	subprocessor.Input
	purposeFR string
	parent    string
}

var subprocessors = []subprocessorSeed{
	{Input: subprocessor.Input{Name: "Cirrus Hosting SAS", Purpose: "Hosting of the service: compute, storage and backups in the EU",
		Function: "Hosting", Category: "hosting", DataCategories: []string{"mail content", "account data", "logs"},
		ProcessingCountries: []string{"FR", "DE"}, StorageCountries: []string{"FR", "DE"}, TransferMechanism: "not_applicable",
		DPAStatus: "signed", DPAURL: "https://cirrus-hosting.example/legal/dpa", Website: "https://cirrus-hosting.example"},
		purposeFR: "Hébergement du service : calcul, stockage et sauvegardes dans l'UE"},
	{Input: subprocessor.Input{Name: "Relayhaus GmbH", Purpose: "Overflow relay for outbound delivery during traffic peaks",
		Function: "Mail delivery", Category: "e-mail", DataCategories: []string{"mail content in transit", "e-mail addresses"},
		ProcessingCountries: []string{"DE"}, StorageCountries: []string{"DE"}, TransferMechanism: "not_applicable",
		DPAStatus: "signed", Website: "https://relayhaus.example"},
		purposeFR: "Relais de débordement pour l'envoi sortant lors des pics de trafic"},
	{Input: subprocessor.Input{Name: "Paystream Ltd", Purpose: "Card payments and invoicing of subscriptions",
		Function: "Billing", Category: "payments", DataCategories: []string{"billing contacts", "payment card data (tokenised)"},
		ProcessingCountries: []string{"IE", "US"}, StorageCountries: []string{"IE"}, TransferMechanism: "scc",
		DPAStatus: "signed", Website: "https://paystream.example"},
		purposeFR: "Paiements par carte et facturation des abonnements"},
	{Input: subprocessor.Input{Name: "Helpdeskly Inc.", Purpose: "Customer support tickets and help centre",
		Function: "Support", Category: "support", DataCategories: []string{"names", "e-mail addresses", "ticket content"},
		ProcessingCountries: []string{"US"}, StorageCountries: []string{"US"}, TransferMechanism: "scc",
		DPAStatus: "signed", Website: "https://helpdeskly.example"},
		purposeFR: "Tickets de support client et centre d'aide"},
	{Input: subprocessor.Input{Name: "Northwind Cloud Inc.", Purpose: "Hosting of Helpdeskly's service",
		Function: "Hosting", Category: "hosting", DataCategories: []string{"names", "e-mail addresses", "ticket content"},
		ProcessingCountries: []string{"US"}, StorageCountries: []string{"US"}, TransferMechanism: "scc", DPAStatus: "signed"},
		purposeFR: "Hébergement du service de Helpdeskly", parent: "Helpdeskly Inc."},
	{Input: subprocessor.Input{Name: "Stacktrace Oy", Purpose: "Error tracking of the web and mobile applications",
		Function: "Engineering", Category: "monitoring", DataCategories: []string{"technical identifiers", "IP addresses"},
		ProcessingCountries: []string{"FI"}, StorageCountries: []string{"FI"}, TransferMechanism: "not_applicable",
		DPAStatus: "signed", Website: "https://stacktrace.example"},
		purposeFR: "Suivi des erreurs des applications web et mobiles"},
	{Input: subprocessor.Input{Name: "Ledgerline SAS", Purpose: "Bookkeeping of supplier invoices",
		Function: "Finance", Category: "accounting", DataCategories: []string{"supplier contacts"},
		ProcessingCountries: []string{"FR"}, StorageCountries: []string{"FR"}, TransferMechanism: "not_applicable",
		DPAStatus: "signed", Visibility: "private"},
		purposeFR: "Tenue de la comptabilité fournisseurs"},
}

// newcomer is added last with the notice period: its notice is pending.
var newcomer = subprocessorSeed{Input: subprocessor.Input{Name: "Spamshield BV",
	Purpose:  "Second opinion on inbound spam and malware, for messages the in-house filters cannot classify",
	Function: "Mail filtering", Category: "e-mail", DataCategories: []string{"mail content", "e-mail addresses"},
	ProcessingCountries: []string{"NL"}, StorageCountries: []string{"NL"}, TransferMechanism: "not_applicable",
	DPAStatus: "signed", Website: "https://spamshield.example", Status: "planned"},
	purposeFR: "Second avis sur le spam et les logiciels malveillants entrants, pour les messages que les filtres internes ne savent pas classer"}

// registerPublished is the reason of the notices of the register as it
// stood when the trust center opened: they take effect at once.
const registerPublished = "Publication of the register as it stands: these subprocessors were in place before the trust center opened."

func (s *seeder) subprocessors() error {
	names := map[string]string{}
	today := s.date(0, 0)
	add := func(sp subprocessorSeed, terms subprocessor.Terms) error {
		in := sp.Input
		in.ParentID = names[sp.parent]
		if in.Since == "" && in.Status != "planned" {
			in.Since = s.date(30-len(names)*3, 0)
		}
		created, err := s.a.Subprocessors.Create(s.ctx, s.org.ID, in, terms)
		if err != nil {
			return fmt.Errorf("subprocessor %s: %w", sp.Name, err)
		}
		names[sp.Name] = created.ID
		s.res.Subprocessors++
		return s.a.Translations.Set(s.ctx, s.org.ID, "subprocessor", created.ID, "purpose", "fr", sp.purposeFR)
	}
	for _, sp := range subprocessors {
		if err := add(sp, subprocessor.Terms{EffectiveOn: today, Reason: registerPublished}); err != nil {
			return err
		}
	}
	// The new one, on the organisation's notice period (30 days).
	if err := add(newcomer, subprocessor.Terms{}); err != nil {
		return err
	}
	notices, err := s.a.Subprocessors.Notices(s.ctx, s.org.ID, 100)
	s.res.Notices = len(notices)
	return err
}

var profile = org.Profile{
	HostingProvider: "Cirrus Hosting",
	HostingRegions:  []string{"Paris, France", "Frankfurt, Germany (backups)"},
	Architecture: "Postwell runs in three availability zones of Cirrus Hosting's Paris region, with encrypted backups in Frankfurt. " +
		"Customer mail never leaves the EU except for support tickets a customer chooses to send. " +
		"The edge (load balancers, MX and submission) is the only zone reachable from the Internet.",
	SecurityEmail:       "security@postwell.example",
	SecurityURL:         "https://postwell.example/security",
	DisclosurePolicyURL: "https://postwell.example/security/disclosure",
	AcknowledgementsURL: "https://postwell.example/security/thanks",
	PreferredLanguages:  []string{"en", "fr"},
}

const architectureFR = "Postwell fonctionne dans trois zones de disponibilité de la région de Paris de Cirrus Hosting, avec des sauvegardes chiffrées à Francfort. " +
	"Le courrier des clients ne quitte jamais l'UE, sauf les tickets de support qu'un client choisit d'envoyer. " +
	"La bordure (répartiteurs de charge, MX et soumission) est la seule zone joignable depuis Internet."

var gdpr = map[string]string{
	"15": "Customers' users can export their mailboxes at any time; we answer access requests within one month.",
	"17": "Deleted mail leaves the mailbox at once and the backups within 35 days; closed accounts are deleted 30 days after the end of the contract.",
	"28": "We process mail only on our customers' instructions, under a data processing agreement, with the subprocessors listed here and 30 days' notice of any change.",
	"30": "We keep a record of processing activities as controller and as processor; it is reviewed twice a year.",
	"32": "Encryption in transit and at rest, MFA, least privilege, logging and tested backups: see the measures and their evidence on this page.",
	"33-34": "We notify affected customers within 24 hours of confirming a personal data breach, so they can meet their 72 hours, " +
		"and the CNIL as controller where we are one.",
}

var gdprFR = map[string]string{
	"28": "Nous traitons le courrier uniquement sur instruction de nos clients, dans le cadre d'un accord de traitement des données, avec les sous-traitants listés ici et un préavis de 30 jours pour tout changement.",
	"33-34": "Nous prévenons les clients concernés dans les 24 heures suivant la confirmation d'une violation de données personnelles, pour qu'ils puissent respecter leurs 72 heures, " +
		"et la CNIL lorsque nous sommes responsable de traitement.",
}

func (s *seeder) profile() error {
	if _, err := s.a.Profile.Set(s.ctx, s.org.ID, profile); err != nil {
		return err
	}
	if err := s.a.Translations.Set(s.ctx, s.org.ID, "profile", s.org.ID, "architecture", "fr", architectureFR); err != nil {
		return err
	}
	certs := []struct {
		in     org.CertificationInput
		nameFR string
	}{
		{org.CertificationInput{Kind: org.ISO27001, Name: "ISO/IEC 27001:2022", Public: true,
			IssuedOn: s.date(17, 0), ExpiresOn: s.date(17-36, -1),
			CertificateNumber: "CV-ISMS-2025-0413", CertificationBody: "Certivia Certification SAS",
			Scope:      "The design, development, operation and support of the Postwell hosted e-mail service, from the Paris and Lyon offices, hosted in the EU.",
			SoAVersion: "3.2", RegisterURL: "https://certivia.example/register/CV-ISMS-2025-0413"}, "ISO/IEC 27001:2022"},
		{org.CertificationInput{Kind: org.SOC2, Name: "SOC 2 Type 2 (Security, Availability, Confidentiality)", Public: true,
			IssuedOn: s.date(2, 0), SOC2Type: "2", PeriodStart: s.date(15, 0), PeriodEnd: s.date(3, 1), AuditFirm: "Ledger & Stone LLP",
			Opinion: "unqualified", Exceptions: 0, ReportEvidenceID: s.evidence["soc2-report"],
			CUECs:     "Customers manage their own users, enforce MFA for them, and review their domain's DNS records.",
			CarveOuts: "Cirrus Hosting (hosting) and Helpdeskly (support desk), under their own reports."},
			"SOC 2 Type 2 (sécurité, disponibilité, confidentialité)"},
		{org.CertificationInput{Kind: org.PenTest, Name: "Annual penetration test", Public: true,
			IssuedOn: s.date(3, 0), Firm: "Redline Security Labs", TestedOn: s.date(3, 10),
			Scope:      "Web application, API, mobile back end and mail infrastructure (grey-box).",
			OpenMedium: 1, OpenLow: 3, ReportEvidenceID: s.evidence["pentest-report"]},
			"Test d'intrusion annuel"},
	}
	for _, c := range certs {
		created, err := s.a.Profile.CreateCertification(s.ctx, s.org.ID, c.in)
		if err != nil {
			return fmt.Errorf("certification %s: %w", c.in.Name, err)
		}
		if err := s.a.Translations.Set(s.ctx, s.org.ID, "certification", created.ID, "name", "fr", c.nameFR); err != nil {
			return err
		}
	}
	roadmap := []struct {
		in      org.RoadmapInput
		titleFR string
	}{
		{org.RoadmapInput{Title: "Passkeys for every customer account", Status: "done", Target: s.quarter(-4), Public: true,
			Description: "Customers can require passkeys or TOTP for all their users."}, "Clés d'accès pour tous les comptes clients"},
		{org.RoadmapInput{Title: "Full region failover exercise", Status: "in_progress", Target: s.quarter(1), Public: true,
			Description: "Fail the production service over to the Frankfurt region and measure the RTO."}, "Exercice de bascule complète de région"},
		{org.RoadmapInput{Title: "Data leakage prevention for support tooling", Status: "planned", Target: s.quarter(4), Public: true,
			Description: "Detect and block mail content pasted into support tickets and chats."}, "Prévention des fuites de données dans les outils de support"},
		{org.RoadmapInput{Title: "SOC 2 Privacy criteria", Status: "planned", Target: s.quarter(7), Public: true},
			"Critères de confidentialité des données (Privacy) SOC 2"},
		{org.RoadmapInput{Title: "Customer-managed encryption keys", Status: "planned", Target: s.quarter(9), Public: true},
			"Clés de chiffrement gérées par le client"},
		{org.RoadmapInput{Title: "Replace the office badge system", Status: "planned", Target: s.quarter(5)}, ""},
	}
	for _, r := range roadmap {
		created, err := s.a.Profile.CreateRoadmapItem(s.ctx, s.org.ID, r.in)
		if err != nil {
			return fmt.Errorf("roadmap %s: %w", r.in.Title, err)
		}
		if r.titleFR != "" {
			if err := s.a.Translations.Set(s.ctx, s.org.ID, "roadmap", created.ID, "title", "fr", r.titleFR); err != nil {
				return err
			}
		}
	}
	for _, a := range org.GDPRArticles {
		if err := s.a.Profile.SetGDPR(s.ctx, s.org.ID, a.Article, gdpr[a.Article]); err != nil {
			return fmt.Errorf("GDPR article %s: %w", a.Article, err)
		}
		if fr := gdprFR[a.Article]; fr != "" {
			if err := s.a.Translations.Set(s.ctx, s.org.ID, "gdpr", a.Article, "text", "fr", fr); err != nil {
				return err
			}
		}
	}
	return nil
}

// controlTitlesFR are French titles of public controls the trust center
// shows.
var controlTitlesFR = map[string]string{
	"mfa":                      "Authentification multifacteur",
	"backups":                  "Sauvegardes",
	"restore-tests":            "Tests de restauration des sauvegardes",
	"encryption-in-transit":    "Chiffrement en transit",
	"encryption-at-rest":       "Chiffrement des données au repos",
	"incident-response-plan":   "Plan de réponse aux incidents",
	"availability-monitoring":  "Surveillance de la disponibilité et page d'état",
	"penetration-testing":      "Tests d'intrusion",
	"security-awareness":       "Sensibilisation à la sécurité",
	"web-security-headers":     "En-têtes de sécurité des applications web",
	"vulnerability-disclosure": "Programme de divulgation responsable",
	"security-policy":          "Politique de sécurité de l'information",
	"subprocessor-register":    "Registre des sous-traitants et préavis de changement",
	"dr-tests":                 "Tests de reprise après sinistre",
	"risk-assessment":          "Appréciation des risques",
}

func (s *seeder) translations() error {
	keys := make([]string, 0, len(controlTitlesFR))
	for k := range controlTitlesFR {
		keys = append(keys, k)
	}
	sort.Strings(keys) // one order, so two seedings write the same chain
	for _, key := range keys {
		title := controlTitlesFR[key]
		id, ok := s.byKey[key]
		if !ok {
			return fmt.Errorf("the demo has no control of library practice %q", key)
		}
		if err := s.a.Translations.Set(s.ctx, s.org.ID, "control", id, "title", "fr", title); err != nil {
			return err
		}
	}
	return nil
}

// Package trust is the public read model of one organisation, what a
// visitor of its trust center may see, and the render cache that serves it
// (DESIGN.md, "Performance"). Everything here is built from the services'
// current data at render time; nothing shown is stored, and every private
// item is left out here, in one place, before any template sees it.
package trust

import (
	"time"

	"github.com/evident-isms/evident/internal/control"
)

// SchemaVersion is the version of trust.json's shape; trust.schema.json
// (beside this file, served at /trust.schema.json) describes it.
const SchemaVersion = 1

// Site is an organisation's trust center in one language. trust.json is its
// JSON encoding, so every number on the pages can be recomputed from it.
type Site struct {
	Version     int         `json:"version"`
	Org         Org         `json:"organisation"`
	Lang        string      `json:"lang"`
	GeneratedAt time.Time   `json:"generated_at"`
	ValidUntil  *time.Time  `json:"valid_until,omitempty"`
	Frameworks  []Framework `json:"frameworks"`
	// Controls are the public controls of every framework, each once,
	// with their public evidence; requirements name them by id.
	Controls       []Control       `json:"controls"`
	Certifications []Certification `json:"certifications"`
	Roadmap        []RoadmapItem   `json:"roadmap"`
	Measures       []Measure       `json:"measures"`
	Subprocessors  []Subprocessor  `json:"subprocessors"`
	Notices        []Notice        `json:"notices"`
	NoticeDays     int             `json:"notice_days"`
	Privacy        []Commitment    `json:"privacy"`
	Documents      []Document      `json:"documents"`
	Hosting        *Hosting        `json:"hosting,omitempty"`
	Contact        *Contact        `json:"contact,omitempty"`
}

// Org names the organisation.
type Org struct {
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// Framework is the posture against one adopted framework, counting every
// requirement in scope.
type Framework struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	Baseline     string         `json:"baseline,omitempty"`
	ComputedAt   time.Time      `json:"computed_at"`
	Counts       control.Counts `json:"counts"`
	Shares       control.Shares `json:"shares"`
	Sections     []Section      `json:"sections"`
	Nodes        []Node         `json:"nodes"`
	Requirements []Requirement  `json:"requirements"`
}

// Section is a top-level node of a framework (a CSF function, an ISO 27001
// theme) with the requirements at or below it.
type Section struct {
	Ref    string         `json:"ref"`
	Label  string         `json:"label"`
	Title  string         `json:"title"`
	Counts control.Counts `json:"counts"`
	Shares control.Shares `json:"shares"`
}

// Node is a grouping node of the tree, in document order.
type Node struct {
	Ref    string `json:"ref"`
	Label  string `json:"label"`
	Title  string `json:"title"`
	Parent string `json:"parent_ref,omitempty"`
	Depth  int    `json:"depth"`
}

// Requirement is one requirement in scope with its state.
type Requirement struct {
	Ref           string        `json:"ref"`
	Label         string        `json:"label"`
	Title         string        `json:"title"`
	Parent        string        `json:"parent_ref,omitempty"`
	Section       string        `json:"section"`
	Depth         int           `json:"depth"`
	State         control.State `json:"state"`
	Justification string        `json:"justification,omitempty"`
	ControlIDs    []string      `json:"control_ids" doc:"Its public controls, among the site's controls."`
	// NonPublic says that controls or evidence not shown count in the state.
	NonPublic bool `json:"backed_by_non_public"`
}

// Control is a public control with its public evidence.
type Control struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Status      control.Status `json:"status"`
	State       control.State  `json:"state"`
	Evidence    []Evidence     `json:"evidence"`
	NonPublic   bool           `json:"backed_by_non_public"`
}

// Evidence is a public evidence item.
type Evidence struct {
	ID           string            `json:"id"`
	Kind         string            `json:"kind"`
	Title        string            `json:"title"`
	Description  string            `json:"description,omitempty"`
	Assurance    control.Assurance `json:"assurance"`
	CollectedOn  string            `json:"collected_on"`
	UploadedAt   time.Time         `json:"uploaded_at"`
	ValidUntil   string            `json:"valid_until,omitempty"`
	Current      bool              `json:"current"`
	URL          string            `json:"url,omitempty"`
	Download     string            `json:"download,omitempty"`
	AttestorFirm string            `json:"attestor_firm,omitempty"`
	Check        *Check            `json:"check,omitempty"`
}

// Check is what a visitor needs to repeat a public automated check.
type Check struct {
	Kind         string      `json:"kind"`
	Target       string      `json:"target"`
	Assertions   []string    `json:"assertions"`
	Interval     int         `json:"interval_minutes"`
	State        string      `json:"state"`
	LastRunAt    *time.Time  `json:"last_run_at,omitempty"`
	LastPassedAt *time.Time  `json:"last_passed_at,omitempty"`
	Results      []Assertion `json:"results"`
}

// Assertion is one assertion of a check's latest run.
type Assertion struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Certification is a public certification or report.
type Certification struct {
	ID                string `json:"id"`
	Kind              string `json:"kind"`
	Name              string `json:"name"`
	IssuedOn          string `json:"issued_on,omitempty"`
	ExpiresOn         string `json:"expires_on,omitempty"`
	Expired           bool   `json:"expired"`
	CertificateNumber string `json:"certificate_number,omitempty"`
	CertificationBody string `json:"certification_body,omitempty"`
	AccreditationBody string `json:"accreditation_body,omitempty"`
	Scope             string `json:"scope,omitempty"`
	SoAVersion        string `json:"soa_version,omitempty"`
	RegisterURL       string `json:"register_url,omitempty"`
	SOC2Type          string `json:"soc2_type,omitempty"`
	PeriodStart       string `json:"period_start,omitempty"`
	PeriodEnd         string `json:"period_end,omitempty"`
	AuditFirm         string `json:"audit_firm,omitempty"`
	Opinion           string `json:"opinion,omitempty"`
	Exceptions        int    `json:"exceptions"`
	BridgeLetterUntil string `json:"bridge_letter_until,omitempty"`
	Firm              string `json:"firm,omitempty"`
	TestedOn          string `json:"tested_on,omitempty"`
	OpenCritical      int    `json:"open_critical"`
	OpenHigh          int    `json:"open_high"`
	OpenMedium        int    `json:"open_medium"`
	OpenLow           int    `json:"open_low"`
	// Report is the report's document, listed under documents when it is
	// public or restricted.
	Report string `json:"report_document,omitempty"`
}

// RoadmapItem is a public roadmap item.
type RoadmapItem struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Target      string `json:"target,omitempty"`
	Status      string `json:"status"`
}

// Measure is a public technical or organisational measure.
type Measure struct {
	ID          string    `json:"id"`
	Category    string    `json:"category"`
	Custom      string    `json:"custom_category,omitempty"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Controls    []Control `json:"controls" doc:"Public controls, without their evidence."`
	NonPublic   bool      `json:"backed_by_non_public"`
}

// Subprocessor is a public subprocessor.
type Subprocessor struct {
	ID                  string   `json:"id"`
	Parent              string   `json:"parent_id,omitempty"`
	Depth               int      `json:"depth"`
	Name                string   `json:"name"`
	Purpose             string   `json:"purpose"`
	Function            string   `json:"function,omitempty"`
	DataCategories      []string `json:"data_categories"`
	ProcessingCountries []string `json:"processing_countries"`
	StorageCountries    []string `json:"storage_countries"`
	TransferMechanism   string   `json:"transfer_mechanism"`
	Website             string   `json:"website,omitempty"`
	Status              string   `json:"status"`
	Since               string   `json:"since,omitempty"`
}

// Notice is a change notice of a public subprocessor.
type Notice struct {
	ID           string    `json:"id"`
	Change       string    `json:"change"`
	Subprocessor string    `json:"subprocessor"`
	AnnouncedAt  time.Time `json:"announced_at"`
	EffectiveOn  string    `json:"effective_on"`
	Pending      bool      `json:"pending"`
	NoticeDays   int       `json:"notice_days"`
	ShortReason  string    `json:"short_notice_reason,omitempty"`
	Changes      []Change  `json:"changes"`
}

// Change is a public field of a subprocessor before and after a change.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Commitment is a GDPR commitment.
type Commitment struct {
	Article string `json:"article"`
	Text    string `json:"text"`
}

// Document is a public download or a restricted document a visitor may ask
// for.
type Document struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Access      string `json:"access" enum:"public,on_request"`
	MediaType   string `json:"media_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	CollectedOn string `json:"collected_on"`
	ValidUntil  string `json:"valid_until,omitempty"`
	Current     bool   `json:"current"`
	Download    string `json:"download,omitempty"`
}

// Hosting is where the service runs.
type Hosting struct {
	Provider     string   `json:"provider,omitempty"`
	Regions      []string `json:"regions"`
	Architecture string   `json:"architecture,omitempty"`
}

// Contact is the security contact.
type Contact struct {
	Email              string   `json:"email,omitempty"`
	URL                string   `json:"url,omitempty"`
	OpenPGPKeyURL      string   `json:"openpgp_key_url,omitempty"`
	DisclosurePolicy   string   `json:"disclosure_policy_url,omitempty"`
	Acknowledgements   string   `json:"acknowledgements_url,omitempty"`
	PreferredLanguages []string `json:"preferred_languages"`
}

// Until is ValidUntil as an instant, zero when nothing shown expires.
func (s *Site) Until() time.Time {
	if s.ValidUntil == nil {
		return time.Time{}
	}
	return *s.ValidUntil
}

// Has tells which sections hold data: sections without data are hidden.
func (s *Site) Has(section string) bool {
	switch section {
	case "controls":
		return len(s.Frameworks) > 0
	case "subprocessors":
		return len(s.Subprocessors) > 0 || len(s.Notices) > 0
	case "measures":
		return len(s.Measures) > 0
	case "privacy":
		return len(s.Privacy) > 0
	case "documents":
		return len(s.Documents) > 0
	case "contact":
		return s.Contact != nil
	case "certifications":
		return len(s.Certifications) > 0
	case "roadmap":
		return len(s.Roadmap) > 0
	case "hosting":
		return s.Hosting != nil
	}
	return false
}

// Control returns a public control by id.
func (s *Site) Control(id string) *Control {
	for i := range s.Controls {
		if s.Controls[i].ID == id {
			return &s.Controls[i]
		}
	}
	return nil
}

// Framework returns an adopted framework by id.
func (s *Site) Framework(id string) *Framework {
	for i := range s.Frameworks {
		if s.Frameworks[i].ID == id {
			return &s.Frameworks[i]
		}
	}
	return nil
}

// Document returns a listed document by id.
func (s *Site) Document(id string) *Document {
	for i := range s.Documents {
		if s.Documents[i].ID == id {
			return &s.Documents[i]
		}
	}
	return nil
}

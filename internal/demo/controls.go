package demo

import (
	"fmt"

	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/identity"
)

// person is one of Postwell's people in the console.
type person struct {
	handle, email, name string
	role                identity.Role
}

// people: the admin signs in through the printed link; the others own
// controls. The first is the admin.
var people = []person{
	{"admin", AdminEmail, "Alex Moreau", identity.Admin},
	{"security", "camille.laurent@postwell.example", "Camille Laurent", identity.Manager},
	{"platform", "hugo.bernard@postwell.example", "Hugo Bernard", identity.Manager},
	{"people", "ines.petit@postwell.example", "Inès Petit", identity.Member},
}

// Frameworks are the frameworks the demo adopts from the library, CSF 2.0
// first: CSF 1.1 reaches the library through NIST's transition from it.
var Frameworks = []string{catalog.CSF20, catalog.ISO27001, catalog.CSF11}

// plan is what Postwell says about one library practice; practices not
// listed are implemented, public and owned by the security lead.
type plan struct {
	removed bool // not addressed at all: its requirements are gaps
	status  control.Status
	private bool
	owner   string // a handle of people
}

// plans: the gaps of a real programme. The states themselves are never set:
// they follow from these statuses and the evidence seeded in evidence.go
// (stale: only year-old evidence; unevidenced: only notes or nothing;
// failing: the HTTPS header check).
var plans = map[string]plan{
	// Not addressed at all: their requirements are gaps.
	"ip-rights":           {removed: true},
	"physical-monitoring": {removed: true},
	// Not implemented yet.
	"threat-intelligence":     {status: control.InProgress},
	"project-security":        {status: control.InProgress},
	"privileged-access":       {status: control.InProgress, private: true, owner: "platform"},
	"web-filtering":           {status: control.Planned, owner: "platform"},
	"data-leakage-prevention": {status: control.Planned, private: true},
	"data-classification":     {status: control.InProgress},
	// Private controls.
	"hr-screening":         {private: true, owner: "people"},
	"disciplinary-process": {private: true, owner: "people"},
	"service-accounts":     {private: true, owner: "platform"},
	"secrets-management":   {private: true, owner: "platform"},
	"network-segmentation": {private: true, owner: "platform"},
	"capacity-management":  {private: true, owner: "platform"},
	// Owners other than the security lead.
	"management-review":        {owner: "admin"},
	"board-oversight":          {owner: "admin"},
	"security-objectives":      {owner: "admin"},
	"hr-terms":                 {owner: "people"},
	"security-awareness":       {owner: "people"},
	"offboarding":              {owner: "people"},
	"asset-return":             {owner: "people"},
	"code-of-conduct":          {owner: "people"},
	"asset-inventory":          {owner: "platform"},
	"cloud-services":           {owner: "platform"},
	"equipment-security":       {owner: "platform"},
	"unique-identities":        {owner: "platform"},
	"mfa":                      {owner: "platform"},
	"single-sign-on":           {owner: "platform"},
	"access-provisioning":      {owner: "platform"},
	"source-code-access":       {owner: "platform"},
	"encryption-at-rest":       {owner: "platform"},
	"encryption-in-transit":    {owner: "platform"},
	"key-management":           {owner: "platform"},
	"endpoint-management":      {owner: "platform"},
	"malware-protection":       {owner: "platform"},
	"patch-management":         {owner: "platform"},
	"vulnerability-scanning":   {owner: "platform"},
	"secure-configuration":     {owner: "platform"},
	"change-management":        {owner: "platform"},
	"security-logging":         {owner: "platform"},
	"log-monitoring":           {owner: "platform"},
	"log-protection":           {owner: "platform"},
	"clock-sync":               {owner: "platform"},
	"network-security":         {owner: "platform"},
	"ddos-protection":          {owner: "platform"},
	"web-security-headers":     {owner: "platform"},
	"email-authentication":     {owner: "platform"},
	"secure-development":       {owner: "platform"},
	"secure-coding":            {owner: "platform"},
	"code-review":              {owner: "platform"},
	"security-testing":         {owner: "platform"},
	"dependency-management":    {owner: "platform"},
	"environment-separation":   {owner: "platform"},
	"test-data":                {owner: "platform"},
	"backups":                  {owner: "platform"},
	"restore-tests":            {owner: "platform"},
	"redundancy":               {owner: "platform"},
	"dr-tests":                 {owner: "platform"},
	"availability-monitoring":  {owner: "platform"},
	"outsourced-development":   {owner: "platform"},
	"supporting-utilities":     {owner: "platform"},
	"environmental-protection": {owner: "platform"},
}

// notApplicable are the requirements Postwell marks not applicable, with
// the justification its Statement of Applicability publishes.
var notApplicable = []struct{ framework, ref, why string }{
	{catalog.ISO27001, "A.7.11", "Postwell runs no processing facilities of its own: production is hosted in Cirrus Hosting's data centres, " +
		"whose supporting utilities are covered by the provider's ISO/IEC 27001 certificate, and the offices hold no servers."},
	{catalog.ISO27001, "A.7.12", "No cabling carries Postwell's production data outside the hosting provider's data centres, " +
		"which are covered by the provider's certificate; office networks carry no customer data."},
	{catalog.ISO27001, "A.8.30", "Postwell does not outsource development: every change to the product is written and reviewed by employees. " +
		"The supplier process covers agencies should that change."},
}

func (s *seeder) frameworks() error {
	for _, f := range Frameworks {
		if _, err := s.a.Controls.Adopt(s.ctx, s.org.ID, f, control.AdoptOptions{FromLibrary: true}); err != nil {
			return fmt.Errorf("adopt %s: %w", f, err)
		}
		s.res.Frameworks++
	}
	return nil
}

// controls sets the status, visibility, owner and next review of every
// control the library adoption made.
func (s *seeder) controls() error {
	list, err := s.a.Controls.List(s.ctx, s.org.ID, control.ListFilter{})
	if err != nil {
		return err
	}
	s.byKey = map[string]string{}
	for i, c := range list {
		p := plans[c.LibraryKey]
		if p.removed {
			if err := s.a.Controls.Delete(s.ctx, s.org.ID, c.ID); err != nil {
				return fmt.Errorf("control %s: %w", c.LibraryKey, err)
			}
			continue
		}
		in := control.Input{Title: c.Title, Description: c.Description, Status: control.Implemented, Visibility: control.Public,
			ReviewIntervalDays: c.ReviewIntervalDays, OwnerID: s.users["security"]}
		if p.status != "" {
			in.Status = p.status
		}
		if p.private {
			in.Visibility = control.Private
		}
		if p.owner != "" {
			in.OwnerID = s.users[p.owner]
		}
		if in.Status == control.Implemented {
			in.NextReviewDate = s.date(0, -(15 + i*7%300)) // spread over the coming months
		}
		if _, err := s.a.Controls.Update(s.ctx, s.org.ID, c.ID, in); err != nil {
			return fmt.Errorf("control %s: %w", c.LibraryKey, err)
		}
		s.byKey[c.LibraryKey] = c.ID
	}
	s.res.Controls = len(s.byKey)
	return nil
}

func (s *seeder) applicability() error {
	for _, na := range notApplicable {
		if err := s.a.Controls.SetApplicability(s.ctx, s.org.ID, na.framework, na.ref, false, na.why); err != nil {
			return fmt.Errorf("%s %s: %w", na.framework, na.ref, err)
		}
	}
	return nil
}

package trust

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/translation"
)

// Sources are the services a site is built from.
type Sources struct {
	Controls      *control.Service
	Evidence      *evidence.Service
	Measures      *measure.Service
	Subprocessors *subprocessor.Service
	Profile       *org.ProfileService
	Translations  *translation.Service
}

// NoticesShown bounds the notices a site lists, and its feed.
const NoticesShown = 50

// Build reads an organisation's public data in one language. The result's
// ValidUntil is the first instant at which something it shows stops being
// true by itself (an evidence item expiring, a check's passing run growing
// too old, a notice taking effect, a certificate expiring): a page rendered
// from it must not be served past that instant.
func Build(ctx context.Context, src Sources, o *org.Org, lang string, now time.Time) (*Site, error) {
	loc := o.Location()
	b := &builder{ctx: ctx, src: src, org: o, lang: lang, now: now, loc: loc,
		site: &Site{Version: SchemaVersion, Org: Org{Slug: o.Slug, Name: o.Name, TimeZone: o.TimeZone}, Lang: lang, GeneratedAt: now,
			Frameworks: []Framework{}, Controls: []Control{}, Certifications: []Certification{}, Roadmap: []RoadmapItem{}, Measures: []Measure{},
			Subprocessors: []Subprocessor{}, Notices: []Notice{}, Privacy: []Commitment{}, Documents: []Document{}}}
	steps := []func() error{b.translations, b.evidence, b.frameworks, b.profile, b.measures, b.subprocessors}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if !b.validUntil.IsZero() {
		v := b.validUntil
		b.site.ValidUntil = &v
	}
	return b.site, nil
}

type builder struct {
	ctx        context.Context
	src        Sources
	org        *org.Org
	lang       string
	now        time.Time
	loc        *time.Location
	site       *Site
	tr         map[string]map[string]map[string]string // entity -> id -> field -> text
	items      []evidence.Evidence                     // every live item, whatever its visibility
	byControl  map[string][]*evidence.Evidence         // public items of each control
	hidden     map[string]bool                         // controls with linked items not shown
	controls   map[string]control.Listed               // every live control
	validUntil time.Time
}

// until lowers the site's validity to t when t lies ahead.
func (b *builder) until(t time.Time) {
	if t.After(b.now) && (b.validUntil.IsZero() || t.Before(b.validUntil)) {
		b.validUntil = t
	}
}

// untilDate does it for the end of a calendar day of the organisation.
func (b *builder) untilDate(date string) {
	if date != "" {
		b.until(evidence.ValidUntilInstant(date, b.loc))
	}
}

// pick is a user-written field in the site's language.
func (b *builder) pick(entity, id, field, original string) string {
	return translation.Pick(b.tr[entity], id, field, original)
}

func (b *builder) translations() error {
	b.tr = map[string]map[string]map[string]string{}
	for _, e := range []string{"control", "evidence", "measure", "subprocessor", "certification", "roadmap", "gdpr", "profile"} {
		m, err := b.src.Translations.Lookup(b.ctx, b.org.ID, b.lang, e)
		if err != nil {
			return err
		}
		b.tr[e] = m
	}
	return nil
}

// evidence reads every live item: public ones are shown, restricted files
// are listed as documents on request, and every item's expiry bounds the
// site's validity, since any of them may change a state it shows.
func (b *builder) evidence() error {
	items, err := b.src.Evidence.List(b.ctx, b.org.ID, evidence.Filter{}, evidence.Reader{Restricted: true})
	if err != nil {
		return err
	}
	b.items = items
	b.byControl = map[string][]*evidence.Evidence{}
	b.hidden = map[string]bool{}
	for i := range items {
		it := &items[i]
		quarantined := it.File != nil && it.File.ScanState == evidence.Quarantined
		if it.Check != nil {
			b.until(it.Check.CurrentUntil())
		} else {
			b.untilDate(it.ValidUntil)
		}
		for _, cid := range it.ControlIDs {
			if it.Visibility == evidence.Public && !quarantined {
				b.byControl[cid] = append(b.byControl[cid], it)
			} else if !quarantined {
				b.hidden[cid] = true
			}
		}
		// Documents: public files to download, and restricted items (but
		// checks) to ask for.
		switch {
		case quarantined, it.Visibility == evidence.Private, it.Kind == evidence.Check,
			it.Visibility == evidence.Public && it.Kind != evidence.File:
			continue
		}
		// A restricted document is listed by its title and dates only:
		// what it says is for those it is given to.
		d := Document{ID: it.ID, Title: b.pick("evidence", it.ID, "title", it.Title), CollectedOn: it.CollectedOn,
			ValidUntil: it.ValidUntil, Current: it.Current, Access: "on_request"}
		if it.Visibility == evidence.Public {
			d.Access, d.Download = "public", DownloadPath(it.ID)
			d.Description, d.MediaType, d.Size = b.pick("evidence", it.ID, "description", it.Description), it.File.MediaType, it.File.Size
		}
		b.site.Documents = append(b.site.Documents, d)
	}
	return nil
}

// DownloadPath is where a public file is downloaded, relative to the site.
func DownloadPath(id string) string { return "documents/" + id + "/file" }

// publicEvidence turns a control's public items into what a visitor sees.
func (b *builder) publicEvidence(controlID string) ([]Evidence, error) {
	out := []Evidence{}
	for _, it := range b.byControl[controlID] {
		e := Evidence{ID: it.ID, Kind: string(it.Kind), Title: b.pick("evidence", it.ID, "title", it.Title),
			Description: b.pick("evidence", it.ID, "description", it.Description), Assurance: control.Assurance(it.Assurance),
			CollectedOn: it.CollectedOn, UploadedAt: it.UploadedAt, ValidUntil: it.ValidUntil, Current: it.Current,
			URL: it.URL, AttestorFirm: it.AttestorFirm}
		if it.File != nil {
			e.Download = DownloadPath(it.ID)
		}
		if c := it.Check; c != nil {
			ch := &Check{Kind: c.Kind, Target: c.Target, Assertions: c.Assertions, Interval: c.IntervalMinutes, State: c.State,
				LastRunAt: c.LastRunAt, LastPassedAt: c.LastPassedAt, Results: []Assertion{}}
			if ch.Assertions == nil {
				ch.Assertions = []string{}
			}
			if c.LastRunAt != nil {
				runs, _, err := b.src.Evidence.CheckHistory(b.ctx, b.org.ID, it.ID, evidence.Reader{})
				if err != nil {
					return nil, err
				}
				if len(runs) > 0 {
					for _, a := range runs[0].Assertions {
						ch.Results = append(ch.Results, Assertion{Name: a.Name, Passed: a.Passed, Detail: a.Detail})
					}
				}
			}
			e.Check = ch
		}
		out = append(out, e)
	}
	return out, nil
}

func (b *builder) frameworks() error {
	list, err := b.src.Controls.List(b.ctx, b.org.ID, control.ListFilter{})
	if err != nil {
		return err
	}
	b.controls = make(map[string]control.Listed, len(list))
	for _, c := range list {
		b.controls[c.ID] = c
	}
	postures, err := b.src.Controls.Postures(b.ctx, b.org.ID)
	if err != nil {
		return err
	}
	shown := map[string]*Control{} // public controls, built once
	for _, p := range postures {
		f := Framework{ID: p.FrameworkID, Name: p.Framework, Version: p.Version, Baseline: p.Baseline, ComputedAt: p.At,
			Counts: p.Counts, Shares: p.Shares, Sections: []Section{}, Nodes: []Node{}, Requirements: []Requirement{}}
		section := map[string]string{}
		depth := map[string]int{}
		for _, n := range p.Nodes {
			section[n.Ref] = n.Ref
			if n.Parent != "" {
				if s, ok := section[n.Parent]; ok {
					section[n.Ref] = s
				}
			}
			depth[n.Ref] = n.Depth
			if n.Depth == 0 {
				f.Sections = append(f.Sections, Section{Ref: n.Ref, Label: n.Label, Title: n.Title, Counts: n.Counts, Shares: n.Shares})
			}
		}
		isRequirement := map[string]bool{}
		for _, r := range p.Requirements {
			isRequirement[r.Ref] = true
		}
		for _, n := range p.Nodes {
			if !isRequirement[n.Ref] {
				f.Nodes = append(f.Nodes, Node{Ref: n.Ref, Label: n.Label, Title: n.Title, Parent: n.Parent, Depth: n.Depth})
			}
		}
		parent := map[string]string{}
		for _, n := range p.Nodes {
			parent[n.Ref] = n.Parent
		}
		for _, r := range p.Requirements {
			req := Requirement{Ref: r.Ref, Label: r.Label, Title: r.Title, Parent: parent[r.Ref], Section: section[r.Ref],
				Depth: depth[r.Ref], State: r.State, Justification: r.Justification, ControlIDs: []string{}}
			for _, cb := range r.Controls {
				if cb.Visibility != control.Public {
					req.NonPublic = true
					continue
				}
				c, err := b.control(shown, cb)
				if err != nil {
					return err
				}
				req.NonPublic = req.NonPublic || c.NonPublic
				req.ControlIDs = append(req.ControlIDs, c.ID)
			}
			f.Requirements = append(f.Requirements, req)
		}
		b.site.Frameworks = append(b.site.Frameworks, f)
	}
	for _, c := range shown {
		b.site.Controls = append(b.site.Controls, *c)
	}
	// In a stable order (by title, then id), compared in Go.
	slices.SortFunc(b.site.Controls, func(x, y Control) int {
		if c := strings.Compare(strings.ToLower(x.Title), strings.ToLower(y.Title)); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return nil
}

// control builds a public control once.
func (b *builder) control(shown map[string]*Control, cb control.ControlBrief) (*Control, error) {
	if c, ok := shown[cb.ID]; ok {
		return c, nil
	}
	ev, err := b.publicEvidence(cb.ID)
	if err != nil {
		return nil, err
	}
	c := &Control{ID: cb.ID, Title: b.pick("control", cb.ID, "title", cb.Title),
		Description: b.pick("control", cb.ID, "description", b.controls[cb.ID].Description),
		Status:      cb.Status, State: cb.State, Evidence: ev, NonPublic: b.hidden[cb.ID]}
	shown[cb.ID] = c
	return c, nil
}

func (b *builder) profile() error {
	p, err := b.src.Profile.Get(b.ctx, b.org.ID)
	if err != nil {
		return err
	}
	if p.HostingProvider != "" || len(p.HostingRegions) > 0 || p.Architecture != "" {
		b.site.Hosting = &Hosting{Provider: p.HostingProvider, Regions: p.HostingRegions,
			Architecture: b.pick("profile", b.org.ID, "architecture", p.Architecture)}
	}
	if p.SecurityEmail != "" || p.SecurityURL != "" {
		b.site.Contact = &Contact{Email: p.SecurityEmail, URL: p.SecurityURL, OpenPGPKeyURL: p.OpenPGPKeyURL,
			DisclosurePolicy: p.DisclosurePolicyURL, Acknowledgements: p.AcknowledgementsURL, PreferredLanguages: p.PreferredLanguages}
	}
	certs, err := b.src.Profile.Certifications(b.ctx, b.org.ID)
	if err != nil {
		return err
	}
	today := clock.DateIn(b.now, b.loc)
	for _, c := range certs {
		if !c.Public {
			continue
		}
		b.untilDate(c.ExpiresOn)
		out := Certification{ID: c.ID, Kind: c.Kind, Name: b.pick("certification", c.ID, "name", c.Name), IssuedOn: c.IssuedOn,
			ExpiresOn: c.ExpiresOn, Expired: c.ExpiresOn != "" && c.ExpiresOn < today, CertificateNumber: c.CertificateNumber,
			CertificationBody: c.CertificationBody, AccreditationBody: c.AccreditationBody,
			Scope: b.pick("certification", c.ID, "scope", c.Scope), SoAVersion: c.SoAVersion, RegisterURL: c.RegisterURL,
			SOC2Type: c.SOC2Type, PeriodStart: c.PeriodStart, PeriodEnd: c.PeriodEnd, AuditFirm: c.AuditFirm, Opinion: c.Opinion,
			Exceptions: c.Exceptions, BridgeLetterUntil: c.BridgeLetterUntil, Firm: c.Firm, TestedOn: c.TestedOn,
			OpenCritical: c.OpenCritical, OpenHigh: c.OpenHigh, OpenMedium: c.OpenMedium, OpenLow: c.OpenLow}
		if c.ReportEvidenceID != "" && b.site.Document(c.ReportEvidenceID) != nil {
			out.Report = c.ReportEvidenceID
		}
		b.site.Certifications = append(b.site.Certifications, out)
	}
	roadmap, err := b.src.Profile.Roadmap(b.ctx, b.org.ID)
	if err != nil {
		return err
	}
	for _, r := range roadmap {
		if r.Public {
			b.site.Roadmap = append(b.site.Roadmap, RoadmapItem{ID: r.ID, Title: b.pick("roadmap", r.ID, "title", r.Title),
				Description: b.pick("roadmap", r.ID, "description", r.Description), Target: r.Target, Status: r.Status})
		}
	}
	gdpr, err := b.src.Profile.GDPR(b.ctx, b.org.ID)
	if err != nil {
		return err
	}
	for _, g := range gdpr {
		b.site.Privacy = append(b.site.Privacy, Commitment{Article: g.Article, Text: b.pick("gdpr", g.Article, "text", g.Text)})
	}
	return nil
}

func (b *builder) measures() error {
	list, err := b.src.Measures.List(b.ctx, b.org.ID, true)
	if err != nil {
		return err
	}
	for _, m := range list {
		out := Measure{ID: m.ID, Category: m.Category, Custom: m.Custom, Title: b.pick("measure", m.ID, "title", m.Title),
			Description: b.pick("measure", m.ID, "description", m.Description), Controls: []Control{}}
		for _, cb := range m.Controls {
			if cb.Visibility != control.Public {
				out.NonPublic = true
				continue
			}
			out.Controls = append(out.Controls, Control{ID: cb.ID, Title: b.pick("control", cb.ID, "title", cb.Title),
				Status: cb.Status, State: cb.State, Evidence: []Evidence{}, NonPublic: b.hidden[cb.ID]})
		}
		b.site.Measures = append(b.site.Measures, out)
	}
	return nil
}

func (b *builder) subprocessors() error {
	list, err := b.src.Subprocessors.List(b.ctx, b.org.ID, true)
	if err != nil {
		return err
	}
	// Depth in the chain, counted over public parents only: a private
	// parent is never hinted at.
	depth := map[string]int{}
	for _, sp := range list {
		if sp.Status == "removed" {
			continue
		}
		d := 0
		if p, ok := depth[sp.ParentID]; ok && sp.ParentID != "" {
			d = p + 1
		}
		depth[sp.ID] = d
		parent := sp.ParentID
		if _, ok := depth[parent]; !ok {
			parent = ""
		}
		b.site.Subprocessors = append(b.site.Subprocessors, Subprocessor{ID: sp.ID, Parent: parent, Depth: min(d, 3), Name: sp.Name,
			Purpose: b.pick("subprocessor", sp.ID, "purpose", sp.Purpose), Function: b.pick("subprocessor", sp.ID, "function", sp.Function),
			DataCategories: nonNil(sp.DataCategories), ProcessingCountries: nonNil(sp.ProcessingCountries),
			StorageCountries: nonNil(sp.StorageCountries), TransferMechanism: sp.TransferMechanism, Website: sp.Website,
			Status: sp.Status, Since: sp.Since})
	}
	notices, err := b.src.Subprocessors.Notices(b.ctx, b.org.ID, NoticesShown)
	if err != nil {
		return err
	}
	today := clock.DateIn(b.now, b.loc)
	for _, n := range notices {
		pending := n.EffectiveOn > today
		if pending {
			// The day it takes effect, the list changes by itself.
			b.until(evidence.ValidUntilInstant(today, b.loc))
		}
		out := Notice{ID: n.ID, Change: n.Change, Subprocessor: n.SubprocessorName, AnnouncedAt: n.AnnouncedAt,
			EffectiveOn: n.EffectiveOn, Pending: pending, NoticeDays: n.NoticeDays, ShortReason: n.ShortReason, Changes: []Change{}}
		for _, c := range n.Changes {
			out.Changes = append(out.Changes, Change{Field: c.Field, From: c.From, To: c.To})
		}
		b.site.Notices = append(b.site.Notices, out)
	}
	if b.site.NoticeDays, err = b.src.Subprocessors.NoticeDays(b.ctx, b.org.ID); err != nil {
		return err
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package control

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
)

// Posture computes an organisation's posture against one adopted framework,
// now.
func (s *Service) Posture(ctx context.Context, orgID, frameworkID string) (*Posture, error) {
	a, err := s.Adoption(ctx, orgID, frameworkID)
	if err != nil {
		return nil, err
	}
	in, err := s.postureInput(ctx, orgID, a)
	if err != nil {
		return nil, err
	}
	return compute(in), nil
}

// Postures computes the posture of every adopted framework.
func (s *Service) Postures(ctx context.Context, orgID string) ([]*Posture, error) {
	adoptions, err := s.Adoptions(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := []*Posture{}
	for i := range adoptions {
		in, err := s.postureInput(ctx, orgID, &adoptions[i])
		if err != nil {
			return nil, err
		}
		out = append(out, compute(in))
	}
	return out, nil
}

func (s *Service) postureInput(ctx context.Context, orgID string, a *Adoption) (postureInput, error) {
	f, err := s.catalog.Get(ctx, a.FrameworkID)
	if err != nil {
		return postureInput{}, err
	}
	tree, err := s.catalog.Requirements(ctx, a.FrameworkID)
	if err != nil {
		return postureInput{}, err
	}
	controls, err := liveControls(ctx, s.db.Read, orgID)
	if err != nil {
		return postureInput{}, apperr.Wrap(err, "read controls")
	}
	linksByControl, err := allLinks(ctx, s.db.Read, orgID, a.FrameworkID)
	if err != nil {
		return postureInput{}, apperr.Wrap(err, "read links")
	}
	excluded, err := exclusions(ctx, s.db.Read, orgID, a.FrameworkID)
	if err != nil {
		return postureInput{}, apperr.Wrap(err, "read applicability")
	}
	evidence, err := s.evidence.ControlEvidence(ctx, orgID)
	if err != nil {
		return postureInput{}, apperr.Wrap(err, "read evidence")
	}
	in := postureInput{framework: *f, baseline: a.Baseline, tree: tree, links: map[string][]string{}, excluded: excluded,
		controls: map[string]ControlBrief{}, controlIns: map[string]ControlInput{}, at: s.clock.Now()}
	for id, links := range linksByControl {
		c, ok := controls[id]
		if !ok {
			continue
		}
		in.controls[id] = ControlBrief{ID: id, Title: c.Title, Status: c.Status, Visibility: c.Visibility}
		in.controlIns[id] = ControlInput{Status: c.Status, Evidence: evidence[id]}
		for _, l := range links {
			in.links[l.Ref] = append(in.links[l.Ref], id)
		}
	}
	return in, nil
}

// StatementOfApplicability returns the Statement of Applicability of one
// adopted framework: every requirement in scope, whether it applies and why
// not, its controls and their states. It is the posture's requirement list.
func (s *Service) StatementOfApplicability(ctx context.Context, orgID, frameworkID string) (*Posture, error) {
	return s.Posture(ctx, orgID, frameworkID)
}

// SoACSV writes a Statement of Applicability as CSV, one row per
// requirement. Cells that a spreadsheet would run as a formula are
// neutralised.
func SoACSV(p *Posture) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"framework", "requirement", "title", "applicable", "justification", "state", "controls", "control_states"})
	for _, r := range p.Requirements {
		applicable := "yes"
		if r.State == NotApplicable {
			applicable = "no"
		}
		var titles, states []string
		for _, c := range r.Controls {
			titles = append(titles, c.Title)
			states = append(states, c.Title+": "+string(c.State))
		}
		row := []string{p.FrameworkID, r.Label, r.Title, applicable, r.Justification, string(r.State),
			strings.Join(titles, "; "), strings.Join(states, "; ")}
		for i := range row {
			row[i] = SafeCell(row[i])
		}
		_ = w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

// SafeCell keeps a spreadsheet from running a cell as a formula: a cell
// starting with =, +, - or @ gets a leading apostrophe.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

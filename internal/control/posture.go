package control

import (
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/catalog"
)

// The posture engine (DESIGN.md invariant 2). Every figure is computed here
// from the controls, their links, the organisation's applicability
// decisions and the evidence it is given; nothing is stored.

// State is the state of a control or a requirement.
type State string

// Control states, worst first, then the two states only requirements have.
const (
	Failing        State = "failing"         // a linked automated check's latest run failed
	NotImplemented State = "not_implemented" // status planned or in_progress
	Stale          State = "stale"           // implemented, and all its evidence has expired
	Unevidenced    State = "unevidenced"     // implemented, no current evidence or only self-attested notes
	Evidenced      State = "evidenced"       // implemented, current documented evidence
	Verified       State = "verified"        // implemented, a current passing check or independent attestation
	Gap            State = "gap"             // a requirement no control addresses
	NotApplicable  State = "not_applicable"  // marked not applicable, with a justification
)

// Label is the state in words, the same on every page and in every export
// (DESIGN.md: states read alike everywhere).
func (s State) Label() string {
	return strings.ReplaceAll(string(s), "_", " ")
}

// ControlStates lists the control states, worst first.
var ControlStates = []State{Failing, NotImplemented, Stale, Unevidenced, Evidenced, Verified}

// RequirementStates lists the states a requirement can take, in the order
// they are shown.
var RequirementStates = []State{Gap, Failing, NotImplemented, Stale, Unevidenced, Evidenced, Verified, NotApplicable}

var severity = map[State]int{Failing: 0, NotImplemented: 1, Stale: 2, Unevidenced: 3, Evidenced: 4, Verified: 5}

// Worse tells whether a is a worse control state than b.
func Worse(a, b State) bool { return severity[a] < severity[b] }

// Assurance is how strongly an evidence item supports a claim.
type Assurance string

const (
	SelfAttested Assurance = "self_attested" // a note by someone of the organisation
	Documented   Assurance = "documented"    // a file, a link, a policy version
	Automated    Assurance = "automated"     // an automated check
	Independent  Assurance = "independent"   // an attestation by an independent party
)

// EvidenceItem is what the posture engine needs to know of one evidence
// item linked to a control. The evidence package provides them.
type EvidenceItem struct {
	Assurance  Assurance
	ValidUntil time.Time // the end of its validity; zero: it never was valid
	Failing    bool      // an automated check whose latest run failed
}

// ControlInput is what a control's state depends on.
type ControlInput struct {
	Status   Status
	Evidence []EvidenceItem
}

// ControlState computes the state of a control at an instant.
func ControlState(in ControlInput, at time.Time) State {
	for _, e := range in.Evidence {
		if e.Failing {
			return Failing
		}
	}
	if in.Status != Implemented {
		return NotImplemented
	}
	current := func(e EvidenceItem) bool { return at.Before(e.ValidUntil) }
	best := State("")
	for _, e := range in.Evidence {
		if !current(e) {
			continue
		}
		switch e.Assurance {
		case Automated, Independent:
			return Verified
		case Documented:
			best = Evidenced
		}
	}
	if best != "" {
		return best
	}
	if len(in.Evidence) > 0 {
		anyCurrent := false
		for _, e := range in.Evidence {
			anyCurrent = anyCurrent || current(e)
		}
		if !anyCurrent {
			return Stale
		}
	}
	return Unevidenced
}

// Counts are the numbers of requirements in each state.
type Counts struct {
	Requirements   int `json:"requirements" doc:"Requirements in scope: applicable and not applicable."`
	Applicable     int `json:"applicable"`
	NotApplicable  int `json:"not_applicable"`
	Gap            int `json:"gap"`
	Failing        int `json:"failing"`
	NotImplemented int `json:"not_implemented"`
	Stale          int `json:"stale"`
	Unevidenced    int `json:"unevidenced"`
	Evidenced      int `json:"evidenced"`
	Verified       int `json:"verified"`
}

func (c *Counts) add(s State) {
	c.Requirements++
	if s == NotApplicable {
		c.NotApplicable++
		return
	}
	c.Applicable++
	switch s {
	case Gap:
		c.Gap++
	case Failing:
		c.Failing++
	case NotImplemented:
		c.NotImplemented++
	case Stale:
		c.Stale++
	case Unevidenced:
		c.Unevidenced++
	case Evidenced:
		c.Evidenced++
	case Verified:
		c.Verified++
	}
}

func (c *Counts) merge(o Counts) {
	c.Requirements += o.Requirements
	c.Applicable += o.Applicable
	c.NotApplicable += o.NotApplicable
	c.Gap += o.Gap
	c.Failing += o.Failing
	c.NotImplemented += o.NotImplemented
	c.Stale += o.Stale
	c.Unevidenced += o.Unevidenced
	c.Evidenced += o.Evidenced
	c.Verified += o.Verified
}

// Of returns the count of one state.
func (c Counts) Of(s State) int {
	return map[State]int{Gap: c.Gap, Failing: c.Failing, NotImplemented: c.NotImplemented, Stale: c.Stale,
		Unevidenced: c.Unevidenced, Evidenced: c.Evidenced, Verified: c.Verified, NotApplicable: c.NotApplicable}[s]
}

// Covered is the number of applicable requirements evidenced or verified:
// the numerator of the headline.
func (c Counts) Covered() int { return c.Evidenced + c.Verified }

// Share is part/Applicable in per cent, rounded down to one decimal so that
// 99.96 % never shows as 100 %; 0 when nothing is applicable.
func (c Counts) Share(part int) float64 {
	if c.Applicable == 0 {
		return 0
	}
	return float64(part*1000/c.Applicable) / 10
}

// Shares are the counts as percentages of the applicable requirements
// (not-applicable ones as a share of all in scope), each rounded down to one
// decimal by Counts.Share. Covered is the headline: evidenced + verified.
type Shares struct {
	Covered        float64 `json:"covered" doc:"Evidenced or verified: the headline."`
	Verified       float64 `json:"verified"`
	Evidenced      float64 `json:"evidenced"`
	Unevidenced    float64 `json:"unevidenced"`
	Stale          float64 `json:"stale"`
	NotImplemented float64 `json:"not_implemented"`
	Failing        float64 `json:"failing"`
	Gap            float64 `json:"gap"`
	NotApplicable  float64 `json:"not_applicable" doc:"Of all requirements in scope."`
}

// Shares computes the shares of the counts.
func (c Counts) Shares() Shares {
	na := 0.0
	if c.Requirements > 0 {
		na = float64(c.NotApplicable*1000/c.Requirements) / 10
	}
	return Shares{Covered: c.Share(c.Covered()), Verified: c.Share(c.Verified), Evidenced: c.Share(c.Evidenced),
		Unevidenced: c.Share(c.Unevidenced), Stale: c.Share(c.Stale), NotImplemented: c.Share(c.NotImplemented),
		Failing: c.Share(c.Failing), Gap: c.Share(c.Gap), NotApplicable: na}
}

// Node is the posture of one node of a framework's tree: the requirements
// that count at or below it.
type Node struct {
	Ref    string `json:"ref"`
	Label  string `json:"label"`
	Title  string `json:"title"`
	Kind   string `json:"kind"`
	Parent string `json:"parent_ref,omitempty"`
	Depth  int    `json:"depth"`
	Counts Counts `json:"counts"`
	Shares Shares `json:"shares"`
}

// RequirementPosture is one requirement's state and why.
type RequirementPosture struct {
	Ref           string         `json:"ref"`
	Label         string         `json:"label"`
	Title         string         `json:"title"`
	State         State          `json:"state"`
	Justification string         `json:"justification,omitempty" doc:"Why it is not applicable."`
	Controls      []ControlBrief `json:"controls"`
}

// ControlBrief names a control and its state.
type ControlBrief struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Status     Status     `json:"status"`
	Visibility Visibility `json:"visibility"`
	State      State      `json:"state"`
}

// Posture is an organisation's posture against one adopted framework.
type Posture struct {
	FrameworkID  string               `json:"framework_id"`
	Framework    string               `json:"framework"`
	Version      string               `json:"version"`
	Baseline     string               `json:"baseline,omitempty"`
	At           time.Time            `json:"at"`
	Counts       Counts               `json:"counts"`
	Shares       Shares               `json:"shares"`
	Nodes        []Node               `json:"nodes" doc:"Every node of the tree in document order, with the requirements that count at or below it."`
	Requirements []RequirementPosture `json:"requirements"`
}

// postureInput is everything the engine reads for one framework.
type postureInput struct {
	framework  catalog.Framework
	baseline   string
	tree       []catalog.Requirement
	links      map[string][]string // requirement ref -> control ids
	excluded   map[string]string   // requirement ref -> justification
	controls   map[string]ControlBrief
	controlIns map[string]ControlInput
	at         time.Time
}

// compute is the engine: control states, then requirement states, then
// counts rolled up the tree.
func compute(in postureInput) *Posture {
	p := &Posture{FrameworkID: in.framework.ID, Framework: in.framework.Name, Version: in.framework.Version,
		Baseline: in.baseline, At: in.at}
	states := make(map[string]State, len(in.controls))
	for id, c := range in.controls {
		s := ControlState(in.controlIns[id], in.at)
		states[id] = s
		c.State = s
		in.controls[id] = c
	}
	index := make(map[string]int, len(in.tree))
	depth := make([]int, len(in.tree))
	for i, r := range in.tree {
		index[r.Ref] = i
		if r.ParentRef != "" {
			depth[i] = depth[index[r.ParentRef]] + 1 // parents come first (the catalog checks it)
		}
	}
	counts := make([]Counts, len(in.tree))
	for _, r := range in.tree {
		if !inScope(r, in.baseline) {
			continue
		}
		rp := RequirementPosture{Ref: r.Ref, Label: r.Label, Title: r.Title, Controls: []ControlBrief{}}
		if why, ok := in.excluded[r.Ref]; ok {
			rp.State, rp.Justification = NotApplicable, why
		}
		worst := State("")
		for _, id := range in.links[r.Ref] {
			c, ok := in.controls[id]
			if !ok {
				continue
			}
			rp.Controls = append(rp.Controls, c)
			if worst == "" || Worse(c.State, worst) {
				worst = c.State
			}
		}
		if rp.State == "" {
			rp.State = worst
			if worst == "" {
				rp.State = Gap
			}
		}
		p.Requirements = append(p.Requirements, rp)
		p.Counts.add(rp.State)
		counts[index[r.Ref]].add(rp.State)
	}
	// Roll the counts up: children come after their parents, so walking
	// backwards adds each node's complete counts to its parent once.
	for i := len(in.tree) - 1; i >= 0; i-- {
		if parent := in.tree[i].ParentRef; parent != "" {
			counts[index[parent]].merge(counts[i])
		}
	}
	for i, r := range in.tree {
		if counts[i].Requirements == 0 {
			continue // withdrawn, outside the baseline, or a group with nothing in scope
		}
		p.Nodes = append(p.Nodes, Node{Ref: r.Ref, Label: r.Label, Title: r.Title, Kind: r.Kind, Parent: r.ParentRef,
			Depth: depth[i], Counts: counts[i], Shares: counts[i].Shares()})
	}
	p.Shares = p.Counts.Shares()
	return p
}

// inScope tells whether a requirement counts for an adoption.
func inScope(r catalog.Requirement, baseline string) bool {
	if !r.Assessable || r.Withdrawn {
		return false
	}
	if baseline == "" {
		return true
	}
	for _, b := range r.Baselines {
		if b == baseline {
			return true
		}
	}
	return false
}

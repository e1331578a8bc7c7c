// Package incident will own security incidents. So far it holds the
// regulatory and contractual clocks an incident starts: what must be
// submitted to whom by when, computed from the recorded instants (awareness,
// classification, each submission), never typed in.
package incident

import (
	"time"
)

// Regime is a set of notification duties an organisation may be under.
type Regime string

const (
	GDPR      Regime = "gdpr"      // Art. 33 (authority) and 34 (data subjects)
	NIS2      Regime = "nis2"      // Art. 23
	DORA      Regime = "dora"      // Art. 19 and its technical standards
	Processor Regime = "processor" // GDPR Art. 33(2): a processor warns its controllers (customers)
)

// Kind names one duty of a regime; a submission of that kind stops its clock.
type Kind string

const (
	GDPRAuthority    Kind = "gdpr_authority"     // Art. 33: the supervisory authority, 72 hours from awareness
	GDPRSubjects     Kind = "gdpr_subjects"      // Art. 34: the data subjects, without undue delay, when the risk is high
	NIS2EarlyWarning Kind = "nis2_early_warning" // 24 hours from awareness
	NIS2Notification Kind = "nis2_notification"  // 72 hours from awareness
	NIS2Final        Kind = "nis2_final"         // one month after the notification
	DORAInitial      Kind = "dora_initial"       // 4 hours from classification as major, at most 24 from awareness
	DORAIntermediate Kind = "dora_intermediate"  // 72 hours from the initial notification
	DORAFinal        Kind = "dora_final"         // one month after the last intermediate report
	CustomerNotice   Kind = "customer_notice"    // a processor's notice to one customer, by its contract
)

// Facts are the recorded instants the clocks run from.
type Facts struct {
	AwareAt      time.Time  // when the organisation became aware
	MajorAt      *time.Time // DORA: when it was classified as major; nil: not (yet)
	HighRisk     bool       // GDPR Art. 34: a high risk to the rights and freedoms of people
	PersonalData bool       // a personal data breach: the GDPR duties apply
	Submissions  []Submission
	// Customers are the controllers a processor must warn, each with its
	// contractual deadline from awareness.
	Customers []Customer
}

// Submission is a notification or report sent, as recorded.
type Submission struct {
	Kind     Kind
	At       time.Time
	Customer string // for CustomerNotice: which customer
}

// Customer is a controller a processor notifies, with its deadline.
type Customer struct {
	ID       string
	Name     string
	Deadline time.Duration // from awareness
}

// State of a clock.
type State string

const (
	Running   State = "running"     // due later
	Overdue   State = "overdue"     // due time passed, nothing submitted
	Met       State = "met"         // submitted by the due time
	Late      State = "late"        // submitted after the due time
	Waiting   State = "waiting"     // its start has not happened (the notification a final report follows)
	NoDueTime State = "no_due_time" // "without undue delay": no fixed time; shown until submitted
)

// Clock is one duty's clock.
type Clock struct {
	Regime    Regime
	Kind      Kind
	Customer  string     // for CustomerNotice
	Due       *time.Time // nil while waiting, or with no fixed due time
	Submitted *time.Time // the first submission of its kind (and customer)
	State     State
	Left      time.Duration // until Due, while running; negative once overdue
}

// Clocks computes the clocks of the regimes at an instant. loc is the
// organisation's time zone: "one month" is a calendar month there.
func Clocks(regimes []Regime, f Facts, now time.Time, loc *time.Location) []Clock {
	var out []Clock
	// add appends a clock; a nil due time means "without undue delay",
	// unless the clock waits for the submission it runs from (waits).
	add := func(r Regime, k Kind, customer string, due *time.Time, waits bool) {
		c := Clock{Regime: r, Kind: k, Customer: customer, Due: due, Submitted: f.first(k, customer)}
		c.State = state(due, c.Submitted, now)
		if c.State == NoDueTime && waits {
			c.State = Waiting
		}
		if due != nil && c.Submitted == nil {
			c.Left = due.Sub(now)
		}
		out = append(out, c)
	}
	at := func(t time.Time) *time.Time { return &t }
	month := func(from *time.Time) *time.Time {
		if from == nil {
			return nil
		}
		return at(from.In(loc).AddDate(0, 1, 0))
	}
	for _, r := range regimes {
		switch r {
		case GDPR:
			if !f.PersonalData {
				continue
			}
			add(r, GDPRAuthority, "", at(f.AwareAt.Add(72*time.Hour)), false)
			if f.HighRisk {
				add(r, GDPRSubjects, "", nil, false)
			}
		case NIS2:
			add(r, NIS2EarlyWarning, "", at(f.AwareAt.Add(24*time.Hour)), false)
			add(r, NIS2Notification, "", at(f.AwareAt.Add(72*time.Hour)), false)
			add(r, NIS2Final, "", month(f.first(NIS2Notification, "")), true)
		case DORA:
			if f.MajorAt == nil {
				continue // only major incidents are reported
			}
			initial := f.MajorAt.Add(4 * time.Hour)
			if limit := f.AwareAt.Add(24 * time.Hour); limit.Before(initial) {
				initial = limit
			}
			add(r, DORAInitial, "", at(initial), false)
			var intermediate *time.Time
			if sent := f.first(DORAInitial, ""); sent != nil {
				intermediate = at(sent.Add(72 * time.Hour))
			}
			add(r, DORAIntermediate, "", intermediate, true)
			add(r, DORAFinal, "", month(f.last(DORAIntermediate)), true)
		case Processor:
			if !f.PersonalData {
				continue
			}
			for _, cu := range f.Customers {
				add(r, CustomerNotice, cu.ID, at(f.AwareAt.Add(cu.Deadline)), false)
			}
		}
	}
	return out
}

func state(due, submitted *time.Time, now time.Time) State {
	switch {
	case submitted != nil && (due == nil || !submitted.After(*due)):
		return Met
	case submitted != nil:
		return Late
	case due == nil:
		return NoDueTime
	case now.After(*due):
		return Overdue
	}
	return Running
}

// first is the earliest submission of a kind (and customer), or nil.
func (f Facts) first(k Kind, customer string) *time.Time {
	var out *time.Time
	for i := range f.Submissions {
		s := &f.Submissions[i]
		if s.Kind == k && s.Customer == customer && (out == nil || s.At.Before(*out)) {
			out = &s.At
		}
	}
	return out
}

// last is the latest submission of a kind, or nil.
func (f Facts) last(k Kind) *time.Time {
	var out *time.Time
	for i := range f.Submissions {
		s := &f.Submissions[i]
		if s.Kind == k && (out == nil || s.At.After(*out)) {
			out = &s.At
		}
	}
	return out
}

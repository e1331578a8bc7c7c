package incident

import (
	"testing"
	"time"
)

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// aware is when the organisation became aware in every case: a Friday
// evening in Paris, a month before the end of October's summer time.
var aware = time.Date(2026, 9, 25, 18, 0, 0, 0, paris)

func h(n float64) time.Time      { return aware.Add(time.Duration(n * float64(time.Hour))) }
func ptr(t time.Time) *time.Time { return &t }

// want is one clock as the table states it: its due time (zero: none) and
// its state.
type want struct {
	kind  Kind
	due   time.Time
	state State
}

func TestClocks(t *testing.T) {
	for _, c := range []struct {
		name    string
		regimes []Regime
		facts   Facts
		now     time.Time
		want    []want
	}{
		{"GDPR: 72 hours for the authority, running", []Regime{GDPR}, Facts{AwareAt: aware, PersonalData: true}, h(10),
			[]want{{GDPRAuthority, h(72), Running}}},
		{"GDPR: overdue one minute after", []Regime{GDPR}, Facts{AwareAt: aware, PersonalData: true}, h(72).Add(time.Minute),
			[]want{{GDPRAuthority, h(72), Overdue}}},
		{"GDPR: submitted at the last minute is met, a minute later is late", []Regime{GDPR},
			Facts{AwareAt: aware, PersonalData: true, HighRisk: true, Submissions: []Submission{{Kind: GDPRAuthority, At: h(72)}, {Kind: GDPRSubjects, At: h(80)}}}, h(90),
			[]want{{GDPRAuthority, h(72), Met}, {GDPRSubjects, time.Time{}, Met}}},
		{"GDPR: high risk adds the data subjects, without a fixed time", []Regime{GDPR},
			Facts{AwareAt: aware, PersonalData: true, HighRisk: true, Submissions: []Submission{{Kind: GDPRAuthority, At: h(73)}}}, h(74),
			[]want{{GDPRAuthority, h(72), Late}, {GDPRSubjects, time.Time{}, NoDueTime}}},
		{"GDPR does not apply without personal data", []Regime{GDPR}, Facts{AwareAt: aware}, h(1), nil},
		{"NIS2: early warning, notification, the final report waits", []Regime{NIS2}, Facts{AwareAt: aware}, h(30),
			[]want{{NIS2EarlyWarning, h(24), Overdue}, {NIS2Notification, h(72), Running}, {NIS2Final, time.Time{}, Waiting}}},
		{"NIS2: the final report is due a calendar month after the notification", []Regime{NIS2},
			Facts{AwareAt: aware, Submissions: []Submission{{Kind: NIS2EarlyWarning, At: h(20)}, {Kind: NIS2Notification, At: h(70)}}}, h(100),
			[]want{{NIS2EarlyWarning, h(24), Met}, {NIS2Notification, h(72), Met},
				// h(70) is 2026-09-28 16:00 in Paris (summer time); a month later, 2026-10-28 16:00, is winter time.
				{NIS2Final, time.Date(2026, 10, 28, 16, 0, 0, 0, paris), Running}}},
		{"DORA: nothing before the incident is classified major", []Regime{DORA}, Facts{AwareAt: aware}, h(30), nil},
		{"DORA: 4 hours from classification", []Regime{DORA}, Facts{AwareAt: aware, MajorAt: ptr(h(2))}, h(3),
			[]want{{DORAInitial, h(6), Running}, {DORAIntermediate, time.Time{}, Waiting}, {DORAFinal, time.Time{}, Waiting}}},
		{"DORA: at most 24 hours from awareness", []Regime{DORA}, Facts{AwareAt: aware, MajorAt: ptr(h(22))}, h(23),
			[]want{{DORAInitial, h(24), Running}, {DORAIntermediate, time.Time{}, Waiting}, {DORAFinal, time.Time{}, Waiting}}},
		{"DORA: intermediate 72 hours after the initial, final a month after the last intermediate", []Regime{DORA},
			Facts{AwareAt: aware, MajorAt: ptr(h(1)), Submissions: []Submission{{Kind: DORAInitial, At: h(4)},
				{Kind: DORAIntermediate, At: h(50)}, {Kind: DORAIntermediate, At: h(200)}}}, h(300),
			[]want{{DORAInitial, h(5), Met}, {DORAIntermediate, h(76), Met}, {DORAFinal, h(200).In(paris).AddDate(0, 1, 0), Running}}},
		{"processor: one clock per customer, each by its contract", []Regime{Processor},
			Facts{AwareAt: aware, PersonalData: true, Customers: []Customer{{ID: "a", Deadline: 24 * time.Hour}, {ID: "b", Deadline: 48 * time.Hour}},
				Submissions: []Submission{{Kind: CustomerNotice, Customer: "b", At: h(30)}}}, h(36),
			[]want{{CustomerNotice, h(24), Overdue}, {CustomerNotice, h(48), Met}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Clocks(c.regimes, c.facts, c.now, paris)
			if len(got) != len(c.want) {
				t.Fatalf("%d clocks, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				g := got[i]
				if g.Kind != w.kind || g.State != w.state {
					t.Errorf("clock %d: %s %s, want %s %s", i, g.Kind, g.State, w.kind, w.state)
				}
				switch {
				case w.due.IsZero() && g.Due != nil:
					t.Errorf("%s: due %v, want none", g.Kind, g.Due)
				case !w.due.IsZero() && (g.Due == nil || !g.Due.Equal(w.due)):
					t.Errorf("%s: due %v, want %v", g.Kind, g.Due, w.due)
				}
				if g.State == Running && g.Left != g.Due.Sub(c.now) {
					t.Errorf("%s: %v left, want %v", g.Kind, g.Left, g.Due.Sub(c.now))
				}
			}
		})
	}
}

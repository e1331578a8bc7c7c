// Package clock is the one source of the current time. Nothing else calls
// time.Now: services take a Clock so tests can set and advance time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now returns the current time in UTC.
func (System) Now() time.Time { return time.Now().UTC() }

// Settable is a clock for tests: it stands still until set or advanced.
type Settable struct {
	mu  sync.Mutex
	now time.Time
}

// NewSettable returns a clock standing at t.
func NewSettable(t time.Time) *Settable { return &Settable{now: t.UTC()} }

// Now returns the time the clock stands at.
func (c *Settable) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Settable) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
}

// Advance moves the clock forward by d.
func (c *Settable) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Micros is how instants are stored: microseconds since the Unix epoch, UTC.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros turns a stored instant back into a UTC time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// DateLayout is how calendar dates are stored: text YYYY-MM-DD, read in the
// organisation's time zone.
const DateLayout = "2006-01-02"

// DateIn returns the calendar date of t in loc, as stored.
func DateIn(t time.Time, loc *time.Location) string { return t.In(loc).Format(DateLayout) }

// ParseDate reads a stored or typed calendar date; the result is midnight of
// that date in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation(DateLayout, s, loc)
}

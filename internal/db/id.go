package db

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// idSeq is the counter of ids made in the same millisecond.
var idSeq struct {
	sync.Mutex
	ms      uint64
	counter uint16
}

// NewID returns a UUIDv7 (RFC 9562) for a row created at now: its first 48
// bits are the millisecond timestamp, so ids sort by creation time and index
// well, and the rest is random. The time comes from the injected clock.
//
// Within one millisecond, the 12 bits after the version count up (RFC 9562,
// section 6.2, method 1), so rows made in the same millisecond by this
// process still sort in the order they were made: lists ordered by time
// then id (notices, say) stay in creation order under a fixed test clock.
func NewID(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	idSeq.Lock()
	if ms == idSeq.ms && idSeq.counter < 0xfff {
		idSeq.counter++
	} else {
		// A new millisecond (or an exhausted counter: the order is then
		// random, as without a counter) starts from a random point in the
		// lower half, leaving room to count up.
		idSeq.ms, idSeq.counter = ms, uint16(b[6]&0x07)<<8|uint16(b[7])
	}
	counter := idSeq.counter
	idSeq.Unlock()
	b[6], b[7] = byte(counter>>8), byte(counter)
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // variant 10
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

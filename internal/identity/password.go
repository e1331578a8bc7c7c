package identity

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/evident-isms/evident/internal/apperr"
)

// Argon2id parameters (OWASP's minimum): 19 MiB, 2 passes, 1 lane.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16

	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 12
	maxPasswordLength = 1024
)

// hashSlots bounds concurrent hashes to the number of CPUs, so a burst of
// sign-ins queues instead of exhausting memory (19 MiB each).
var hashSlots = make(chan struct{}, runtime.NumCPU())

//go:embed data/common-passwords-top-10000.txt
var commonPasswordList []byte

var commonPasswords = func() map[string]bool {
	m := make(map[string]bool, 10000)
	s := bufio.NewScanner(bytes.NewReader(commonPasswordList))
	for s.Scan() {
		if w := strings.TrimSpace(s.Text()); w != "" {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// CheckPassword applies the password rules: 12 to 1024 characters, not
// among the 10,000 most common passwords.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		return apperr.Field("password", "the password must be at least %d characters long", MinPasswordLength)
	case n > maxPasswordLength:
		return apperr.Field("password", "the password must be at most %d characters long", maxPasswordLength)
	case commonPasswords[strings.ToLower(pw)]:
		return apperr.Field("password", "this password is among the 10,000 most common ones: choose another")
	}
	return nil
}

// HashPassword returns the argon2id hash of pw in PHC string format.
func HashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	key := argonKey([]byte(pw), salt, argonMemoryKiB, argonTime, argonThreads)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func argonKey(pw, salt []byte, m, t uint32, p uint8) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, t, m, p, argonKeyLen)
}

// VerifyPassword tells whether pw matches hash, in time independent of
// where they differ.
func VerifyPassword(hash, pw string) bool {
	var version int
	var m, t uint32
	var p uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != argonKeyLen {
		return false
	}
	return subtle.ConstantTimeCompare(argonKey([]byte(pw), salt, m, t, p), want) == 1
}

// dummyHash is verified against when an account does not exist, so that
// answering takes as long as for an account that does. Made on first use:
// commands that never sign anyone in do not pay for it.
var dummyHash = sync.OnceValue(func() string { return HashPassword("not a real password, only here to spend the same time") })

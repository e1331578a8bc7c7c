package audit

import (
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The canonical encoding (docs/audit-chain.md) is JSON with object keys
// sorted by code point, no insignificant white space, no HTML escaping, and
// only these escapes in strings: \" \\ \b \f \n \r \t, and \u00XX (lower-case
// hex) for the other control characters below U+0020. Everything else,
// non-ASCII included, is written as UTF-8. That is exactly what Python's
// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
// writes, which keeps an independent verifier a few lines long. Values are
// limited to what the log needs: strings, integers, booleans, null, lists
// and objects; no floating point, whose printing differs between languages.

// appendCanonical appends the canonical encoding of v.
func appendCanonical(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case map[string]string:
		return appendObject(b, v, func(b []byte, s string) ([]byte, error) { return appendString(b, s), nil })
	case map[string]any:
		return appendObject(b, v, appendCanonical)
	default:
		return nil, fmt.Errorf("audit: a %T cannot go into an audit entry", v)
	}
}

// appendObject appends m with its keys in code point order (the byte order
// of UTF-8), each value written by appendValue.
func appendObject[V any](b []byte, m map[string]V, appendValue func([]byte, V) ([]byte, error)) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a canonical JSON string. Invalid UTF-8 never
// gets here: Record replaces it first, so what is stored is what is hashed.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// clean makes a value fit for the chain: valid UTF-8 strings, and the
// integer kinds Go code passes turned into int64.
func clean(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, int64:
		return v, nil
	case string:
		return validUTF8(v), nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = validUTF8(s)
		}
		return out, nil
	case fmt.Stringer:
		return validUTF8(v.String()), nil
	default:
		return nil, fmt.Errorf("audit: a %T cannot go into an audit entry", v)
	}
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s)) // replaces each invalid byte with U+FFFD
}

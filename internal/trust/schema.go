package trust

import _ "embed"

// Schema is the JSON Schema of trust.json, served at /trust.schema.json and
// checked against Build's output by the tests.
//
//go:embed trust.schema.json
var Schema []byte

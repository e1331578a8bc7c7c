#!/usr/bin/env python3
"""Verify an Evident audit export (JSON Lines from `evident audit export`)
without Evident: the algorithm of docs/audit-chain.md in the standard
library. Exit 0 with the number of entries verified, 1 naming the first bad
entry, 2 for a file that cannot be read."""
import hashlib
import json
import sys

EXTRA = ("hash", "prev_hash", "personal_values")
GENESIS = "0" * 64


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verify(lines):
    prev_hash, prev_seq, count = None, None, 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise SystemExit(f"line {number}: not JSON: {e}")
        seq = record.get("seq")
        if prev_seq is None:
            if seq == 1 and record["prev_hash"] != GENESIS:
                return f"entry {seq}: the first entry must follow the genesis hash"
        else:
            if seq != prev_seq + 1:
                return f"entry {prev_seq + 1}: the entry is missing (the next one in the file is {seq})"
            if record["prev_hash"] != prev_hash:
                return f"entry {seq}: prev_hash is not the hash of entry {prev_seq}"
        entry = {k: v for k, v in record.items() if k not in EXTRA}
        digest = hashlib.sha256(bytes.fromhex(record["prev_hash"]) + canonical(entry)).hexdigest()
        if digest != record["hash"]:
            return f"entry {seq}: its contents do not match its hash"
        for name, kept in record.get("personal_values", {}).items():
            commitment = hashlib.sha256(bytes.fromhex(kept["salt"]) + kept["value"].encode("utf-8")).hexdigest()
            if entry["personal"].get(name) != commitment:
                return f"entry {seq}: personal value {name!r} does not match its commitment"
        prev_hash, prev_seq, count = record["hash"], seq, count + 1
    return count


def main():
    if len(sys.argv) != 2:
        print("usage: verify-audit-export.py EXPORT.jsonl (- for standard input)", file=sys.stderr)
        return 2
    try:
        f = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1], encoding="utf-8")
    except OSError as e:
        print(f"verify-audit-export: {e}", file=sys.stderr)
        return 2
    with f:
        result = verify(f)
    if isinstance(result, str):
        print(f"verify-audit-export: {result}", file=sys.stderr)
        return 1
    print(f"{result} entries verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Public overview vs nginx: throughput of the public trust center's overview
# page, served by Evident from its render cache, against nginx serving the
# very same gzip bytes from a static file, in the same run on the same
# machine. Target (DESIGN.md, "Performance"): Evident's requests a second at
# least 0.6 times nginx's.
#
# What it does: builds ./cmd/evident and bench/netfloor, starts `evident
# serve --demo` on a fresh SQLite data directory, fetches the overview once
# (gzip) and saves its bytes, then starts two baselines serving those bytes
# with Evident's Content-Type, Content-Encoding, ETag, Cache-Control, Vary and
# security headers: nginx from a file (the target's baseline) and
# bench/netfloor, Go's net/http from memory (the floor of any Go server). wrk
# runs against each with the same settings, the order alternating round by
# round, and each server's best round is kept. Evident is measured at / (where
# --public-org and the demo publish the overview) and at /t/{slug}/. The
# result replaces the section between the markers in docs/benchmarks.md
# (appended the first time).
#
# Fairness: every server logs each request to a file, unbuffered (Evident and
# the floor one JSON line, nginx its combined access log); all keep their
# connections open for the whole run (nginx keepalive_requests raised); nginx
# runs its default number of workers for the machine (worker_processes auto),
# the Go servers their default GOMAXPROCS. wrk runs on the same machine and
# shares its cores with the server it measures.
#
# Run from anywhere in the repository, on a machine otherwise idle:
#   bench/public-overview.sh
# Settings (environment): THREADS (2), CONNECTIONS (64), DURATION (15s),
# WARMUP (3s), ROUNDS (2), NO_DOCS=1 to print the section without writing it.
# Needs: go, curl, wrk, nginx (apt-get install -y wrk nginx-light).
set -euo pipefail

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
ROUNDS=${ROUNDS:-2}
NO_DOCS=${NO_DOCS:-}

cd "$(dirname "$0")/.."
docs=docs/benchmarks.md
begin_marker='<!-- bench/public-overview.sh: begin (re-runs replace this section) -->'
end_marker='<!-- bench/public-overview.sh: end -->'

missing=()
for tool in go curl wrk nginx; do
	command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || missing+=("$tool")
done
if ((${#missing[@]})); then
	echo "public-overview: missing: ${missing[*]}" >&2
	echo "install them with: sudo apt-get update && sudo apt-get install -y wrk nginx-light curl" >&2
	echo "(and Go $(sed -n 's/^go //p' go.mod) or later from https://go.dev/dl/)" >&2
	exit 1
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback port nothing listens on.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "public-overview: no free port found" >&2
	return 1
}

# wait_200 URL SECONDS waits until URL answers 200.
wait_200() {
	local deadline=$((SECONDS + $2))
	until [[ $(curl -s -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]]; do
		if ((SECONDS >= deadline)); then
			echo "public-overview: $1 did not answer 200 within $2 s" >&2
			return 1
		fi
		sleep 0.2
	done
}

echo "Building evident and netfloor…"
go build -o "$tmp/evident" ./cmd/evident
go build -o "$tmp/netfloor" ./bench/netfloor

evident_port=$(free_port)
evident_url=http://127.0.0.1:$evident_port
"$tmp/evident" serve --demo --data "$tmp/data" --addr "127.0.0.1:$evident_port" --log-format json \
	>"$tmp/evident.out" 2>"$tmp/evident.log" &
pids+=($!)
if ! wait_200 "$evident_url/readyz" 60 || ! wait_200 "$evident_url/" 30; then
	echo "--- evident output:" >&2
	cat "$tmp/evident.out" >&2
	tail -n 20 "$tmp/evident.log" >&2
	exit 1
fi
# The demo prints its trust center's address: /t/{slug}/, or / when it is
# published there (then the slug is the demo's, internal/demo.Slug).
slug=$(sed -n 's|^Trust center: .*/t/\([^/]*\)/$|\1|p' "$tmp/evident.out")
slug=${slug:-${SLUG:-postwell}}
wait_200 "$evident_url/t/$slug/" 10

# The bytes to serve: the gzip encoding of the overview, exactly as Evident
# sends it.
curl -s -H 'Accept-Encoding: gzip' -D "$tmp/headers" -o "$tmp/overview.gz" "$evident_url/"
header() { grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }
status=$(head -n 1 "$tmp/headers" | tr -d '\r')
if [[ $status != *" 200"* || $(header Content-Encoding) != gzip || -z $(header ETag) ]]; then
	echo "public-overview: the overview should answer 200, gzip, with an ETag; got:" >&2
	cat "$tmp/headers" >&2
	exit 1
fi
gzip_bytes=$(wc -c <"$tmp/overview.gz")
identity_bytes=$(gzip -dc "$tmp/overview.gz" | wc -c)
evident_header_bytes=$(wc -c <"$tmp/headers")

# nginx serving the saved file at / with the headers Evident sends.
nginx_port=$(free_port)
nginx_url=http://127.0.0.1:$nginx_port
mkdir -p "$tmp/www" "$tmp/nginx"
cp "$tmp/overview.gz" "$tmp/www/overview"
# Started by root, nginx's workers run as an unprivileged user: let them in.
chmod 711 "$tmp"
chmod 755 "$tmp/www"
chmod 644 "$tmp/www/overview"
add_headers=
for name in Cache-Control Vary Content-Language ETag Content-Security-Policy X-Frame-Options \
	X-Content-Type-Options Referrer-Policy Permissions-Policy; do
	value=$(header "$name")
	[[ -n $value ]] && add_headers+="      add_header $name '${value//\'/\\\'}' always;"$'\n'
done
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $tmp/nginx/access.log combined;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server_tokens off;
  etag off;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
    location = / {
      rewrite ^ /overview break;
      types { }
      default_type '$(header Content-Type)';
      add_header Content-Encoding gzip always;
$add_headers    }
  }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx/stderr" &
pids+=($!)
if ! wait_200 "$nginx_url/" 10; then
	tail -n 5 "$tmp/nginx/stderr" "$tmp/nginx/error.log" >&2 || true
	exit 1
fi
curl -s -H 'Accept-Encoding: gzip' -D "$tmp/nginx-headers" -o "$tmp/nginx.gz" "$nginx_url/"
if ! cmp -s "$tmp/overview.gz" "$tmp/nginx.gz"; then
	echo "public-overview: nginx does not serve the same bytes" >&2
	exit 1
fi
nginx_header_bytes=$(wc -c <"$tmp/nginx-headers")

# The Go floor: net/http answering with the same bytes and headers from
# memory, one JSON log line a request, nothing else.
floor_port=$(free_port)
floor_url=http://127.0.0.1:$floor_port
"$tmp/netfloor" -addr "127.0.0.1:$floor_port" -body "$tmp/overview.gz" -headers "$tmp/headers" \
	-log "$tmp/netfloor.log" 2>"$tmp/netfloor.stderr" &
pids+=($!)
if ! wait_200 "$floor_url/" 10; then
	cat "$tmp/netfloor.stderr" >&2
	exit 1
fi
curl -s -H 'Accept-Encoding: gzip' -o "$tmp/floor.gz" "$floor_url/"
cmp -s "$tmp/overview.gz" "$tmp/floor.gz" || { echo "public-overview: netfloor does not serve the same bytes" >&2; exit 1; }

# to_ms VALUE converts wrk's 812.00us / 4.03ms / 1.20s to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
		else { sub(/s$/, "", v); printf "%.2f", v * 1000 } }'
}

# run NAME URL: one measured wrk run after a warm-up; keeps NAME's best.
declare -A best_rps best_p50 best_p99
run() {
	local name=$1 url=$2 out rps p50 p99
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H 'Accept-Encoding: gzip' "$url" >/dev/null
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H 'Accept-Encoding: gzip' "$url")
	if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
		echo "public-overview: errors while measuring $name:" >&2
		echo "$out" >&2
		exit 1
	fi
	rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
	printf '  %-22s %8d req/s   p50 %7s ms   p99 %7s ms\n' "$name" "$rps" "$p50" "$p99"
	if ((rps > ${best_rps[$name]:-0})); then
		best_rps[$name]=$rps best_p50[$name]=$p50 best_p99[$name]=$p99
	fi
}

targets=("nginx|$nginx_url/" "net/http floor|$floor_url/" "evident /|$evident_url/" "evident /t/$slug/|$evident_url/t/$slug/")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load_before%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	echo "public-overview: warning: load average $load_before on $(nproc) cores: the machine is busy, the numbers will be noisy" >&2
fi
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H 'Accept-Encoding: gzip', best of $ROUNDS rounds"
for ((round = 1; round <= ROUNDS; round++)); do
	echo "round $round"
	if ((round % 2)); then order=(0 1 2 3); else order=(3 2 1 0); fi
	for i in "${order[@]}"; do
		run "${targets[$i]%%|*}" "${targets[$i]#*|}"
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ratio_root=$(ratio "${best_rps[evident /]}" "${best_rps[nginx]}")
ratio_t=$(ratio "${best_rps[evident /t/$slug/]}" "${best_rps[nginx]}")
ratio_floor=$(ratio "${best_rps[net/http floor]}" "${best_rps[nginx]}")
ratio_root_floor=$(ratio "${best_rps[evident /]}" "${best_rps[net/http floor]}")
ratio_t_floor=$(ratio "${best_rps[evident /t/$slug/]}" "${best_rps[net/http floor]}")
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.6 ? "met" : "not met") }'; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release && echo "${PRETTY_NAME:-$ID}")
go_version=$(go env GOVERSION)
nginx_version=$("$nginx_bin" -v 2>&1 | sed 's|.*nginx/||')
wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }' || true)
today=$(date -u +%Y-%m-%d)
fmt() { awk -v n="$1" 'BEGIN { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'; }

section=$(cat <<EOF
$begin_marker
## Public overview vs nginx

Target (DESIGN.md): the public pages served from the render cache at 0.6 or more of the
throughput of nginx serving the same bytes as a static file, same machine, same run.

Measured $today with \`bench/public-overview.sh\` on a $cores-core $cpu machine, $mem_gib GiB,
$os, $go_version, nginx $nginx_version, wrk $wrk_version on the same machine, load average
$load_before before the measurements. The page is the overview of the
demo organisation (\`evident serve --demo\`, SQLite): $(fmt "$identity_bytes") bytes of HTML,
$(fmt "$gzip_bytes") bytes gzip, after $(fmt "$evident_header_bytes") bytes of response headers from Evident and
$(fmt "$nginx_header_bytes") from nginx. nginx (\`worker_processes auto\`, \`sendfile\`, keep-alive
for the whole run) serves the gzip bytes Evident sent from a file, with Evident's
Content-Type, ETag, Cache-Control, Vary and security headers. The net/http floor
(\`bench/netfloor\`) serves the same bytes and headers from memory with Go's net/http and
nothing else: what any Go server can reach here. All three log every request to a file
(Evident and the floor one JSON line, nginx its combined access log).
\`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -H 'Accept-Encoding: gzip'\` after a $WARMUP
warm-up of each, $ROUNDS rounds in alternating order, the best round of each kept.

| server | path | requests a second | p50 | p99 | ratio to nginx | ratio to the floor |
|---|---|---|---|---|---|---|
| nginx (baseline) | \`/\` (static file) | $(fmt "${best_rps[nginx]}") | ${best_p50[nginx]} ms | ${best_p99[nginx]} ms | 1 | |
| net/http floor | \`/\` (from memory) | $(fmt "${best_rps[net/http floor]}") | ${best_p50[net/http floor]} ms | ${best_p99[net/http floor]} ms | $ratio_floor | 1 |
| Evident | \`/\` (\`--public-org\`) | $(fmt "${best_rps[evident /]}") | ${best_p50[evident /]} ms | ${best_p99[evident /]} ms | **$ratio_root** | $ratio_root_floor |
| Evident | \`/t/$slug/\` | $(fmt "${best_rps[evident /t/$slug/]}") | ${best_p50[evident /t/$slug/]} ms | ${best_p99[evident /t/$slug/]} ms | **$ratio_t** | $ratio_t_floor |

Verdict: Evident serves the overview at $ratio_root of nginx's throughput at \`/\` and $ratio_t at
\`/t/$slug/\`: the target (0.6) is $(verdict "$ratio_root") at \`/\` and $(verdict "$ratio_t") at \`/t/$slug/\`.
Go's net/http alone reaches $ratio_floor of nginx on this machine.
$end_marker
EOF
)

echo
echo "$section"

if [[ -z $NO_DOCS ]]; then
	if grep -qF "$begin_marker" "$docs"; then
		printf '%s\n' "$section" >"$tmp/section"
		awk -v b="$begin_marker" -v e="$end_marker" -v f="$tmp/section" '
			$0 == b { while ((getline line < f) > 0) print line; skip = 1; next }
			$0 == e { skip = 0; next }
			!skip' "$docs" >"$tmp/docs"
	else
		{ cat "$docs"; printf '\n%s\n' "$section"; } >"$tmp/docs"
	fi
	cat "$tmp/docs" >"$docs"
	echo
	echo "Written to $docs."
fi

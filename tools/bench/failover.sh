#!/usr/bin/env bash
# Failover under load (issue 11's closing measurement): 3 gourmet-origin
# processes behind gourmet with 2 workers, wrk for DURATION seconds; one
# origin is killed (SIGKILL, by pid) at KILL_AT s and started again on the
# same port at RESTART_AT s. Two runs: `retries: {attempts: 1}` (the
# default) and `retries: {attempts: 0}`. For each it prints total requests,
# non-2xx responses, socket errors, errors from one second after the kill
# on, and how long after its restart the origin answered a request again
# (read from the X-Origin header each origin sets, in 10 ms buckets).
#
#   tools/bench/failover.sh [BUILD_DIR] [--duration 20] [--kill-at 5]
#                           [--restart-at 12] [--connections 50] [--threads 2]
#                           [--no-health-check] [--keep-logs]
#
# BUILD_DIR (default build/) must hold proxy/gourmet and tools/gourmet-origin
# (`make build`). Everything listens on 127.0.0.1 on ports the kernel picks
# (port 0, read back from each process's "listening on" line); every process
# is stopped by its pid, also on Ctrl-C. Takes about 2 x DURATION seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

build_dir=build
duration=20
kill_at=5
restart_at=12
connections=50
threads=2
health_check=1
keep_logs=0

# The comment at the top of this file, up to its first other line.
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --duration) duration=$2; shift 2 ;;
    --kill-at) kill_at=$2; shift 2 ;;
    --restart-at) restart_at=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-health-check) health_check=0; shift ;;
    --keep-logs) keep_logs=1; shift ;;
    -*) echo "failover: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
  esac
done

for n in "$duration" "$kill_at" "$restart_at" "$connections" "$threads"; do
  if ! [[ $n =~ ^[0-9]+$ ]]; then
    echo "failover: '$n' is not a whole number of seconds / connections / threads" >&2
    exit 2
  fi
done
if ((kill_at + 1 >= restart_at || restart_at >= duration)); then
  echo "failover: need kill-at + 1 < restart-at < duration (got $kill_at, $restart_at," \
    "$duration)" >&2
  exit 2
fi

proxy_bin=$build_dir/proxy/gourmet
origin_bin=$build_dir/tools/gourmet-origin
for bin in "$proxy_bin" "$origin_bin"; do
  if [[ ! -x $bin ]]; then
    echo "failover: $bin not found; build first (make build, or ninja -C $build_dir" \
      "proxy/gourmet tools/gourmet-origin)" >&2
    exit 1
  fi
done
if ! command -v wrk >/dev/null 2>&1; then
  echo "failover: wrk not found (apt-get install wrk)" >&2
  exit 1
fi

tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317  # reached through the traps
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((keep_logs)); then echo "failover: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { date +%s%3N; }

# Sleeps until $2 seconds after the time $1 (ms). In the background and
# waited for, so that a signal's trap runs at once, not after the sleep.
sleep_until() {
  local seconds
  seconds=$(awk -v t="$1" -v now="$(now_ms)" -v at="$2" \
    'BEGIN { d = (t + at * 1000 - now) / 1000; print (d > 0 ? d : 0) }')
  sleep "$seconds" &
  pids+=($!)
  wait $!
}

# Waits up to 5 s for "listening on ADDRESS:PORT" in log $2 of process $1
# and prints PORT.
listening_port() {
  local pid=$1 log=$2 line
  for _ in $(seq 100); do
    line=$(grep -m1 -o 'listening on [0-9.]*:[0-9]*' "$log" 2>/dev/null || true)
    if [[ -n $line ]]; then
      echo "${line##*:}"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "failover: process $pid exited during start-up:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "failover: process $pid did not listen within 5 s" >&2
  return 1
}

# Starts origin NAME on PORT (0: any); sets started_pid and started_port.
start_origin() {
  local name=$1 port=$2 log=$3
  "$origin_bin" --address 127.0.0.1 --port "$port" --name "$name" >>"$log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  started_port=$(listening_port "$started_pid" "$log")
}

# wrk's script: counts per 10 ms bucket (wall clock, as `date +%s%3N`),
# status and answering origin (X-Origin, "-" for gourmet's own pages), per
# thread in a table; done() prints them with the summary. One clock read and
# one table increment per response.
cat >"$tmp/failover.lua" <<'EOF'
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } failover_timespec;
int clock_gettime(int clock, failover_timespec *tp);
]]
local ts = ffi.new("failover_timespec")
local threads = {}
counts = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME
  local bucket = tonumber(ts.tv_sec) * 100 + math.floor(tonumber(ts.tv_nsec) / 10000000)
  local key = bucket .. " " .. status .. " " .. (headers["X-Origin"] or "-")
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("summary requests %d connect %d read %d write %d timeout %d\n",
    summary.requests, e.connect, e.read, e.write, e.timeout))
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      io.write("bucket ", key, " ", n, "\n")
    end
  end
end
EOF

# One run: fresh origins and gourmet, wrk, the kill and the restart; prints
# the run's figures.
run() {
  local attempts=$1
  local dir=$tmp/attempts-$attempts
  mkdir -p "$dir"
  local -a origin_pids origin_ports
  local i
  for i in 1 2 3; do
    start_origin "origin-$i" 0 "$dir/origin-$i.log"
    origin_pids[i]=$started_pid
    origin_ports[i]=$started_port
  done

  local check=""
  if ((health_check)); then
    check="    health_check: {path: /healthz, interval: 2s, timeout: 1s, healthy: 2, unhealthy: 3}"
  fi
  cat >"$dir/gourmet.yaml" <<EOF
server:
  address: 127.0.0.1
  port: 0
  workers: 2
  locations:
    - path: "^/"
      upstream: web
upstreams:
  web:
    balancer: round_robin
    servers:
      - address: 127.0.0.1:${origin_ports[1]}
      - address: 127.0.0.1:${origin_ports[2]}
      - address: 127.0.0.1:${origin_ports[3]}
    connect_timeout: 1s
    response_timeout: 5s
    outlier_detection: {consecutive_failures: 5, base_ejection_time: 30s, max_ejection_percent: 50}
    retries: {attempts: $attempts}
$check
EOF
  "$proxy_bin" -c "$dir/gourmet.yaml" >"$dir/gourmet.log" 2>&1 &
  local proxy_pid=$!
  pids+=("$proxy_pid")
  local proxy_port
  proxy_port=$(listening_port "$proxy_pid" "$dir/gourmet.log")

  local victim=2
  local start_ms kill_ms restart_ms
  start_ms=$(now_ms)
  wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 2s -s "$tmp/failover.lua" \
    "http://127.0.0.1:$proxy_port/" >"$dir/wrk.out" 2>&1 &
  local wrk_pid=$!
  pids+=("$wrk_pid")

  # The schedule itself is what is measured, so plain sleeps to reach it.
  sleep_until "$start_ms" "$kill_at"
  kill_ms=$(now_ms)
  kill -KILL "${origin_pids[victim]}"
  wait "${origin_pids[victim]}" 2>/dev/null || true

  sleep_until "$start_ms" "$restart_at"
  restart_ms=$(now_ms)
  start_origin "origin-$victim" "${origin_ports[victim]}" "$dir/origin-$victim.restart.log"
  local listen_ms
  listen_ms=$(now_ms)

  wait "$wrk_pid" || {
    echo "failover: wrk failed:" >&2
    cat "$dir/wrk.out" >&2
    return 1
  }
  kill "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" 2>/dev/null || true
  for i in 1 2 3; do kill "${origin_pids[i]}" 2>/dev/null || true; done
  kill "$started_pid" 2>/dev/null || true

  echo "== retries: {attempts: $attempts}; origin-$victim (127.0.0.1:${origin_ports[victim]})" \
    "killed at $((kill_ms - start_ms)) ms, restarted at $((restart_ms - start_ms)) ms" \
    "(listening after $((listen_ms - restart_ms)) ms)"
  awk -v start="$start_ms" -v kill_ms="$kill_ms" -v restart="$restart_ms" \
    -v victim="origin-$victim" -v duration="$duration" '
    $1 == "summary" { requests = $3; connect = $5; read = $7; write = $9; timeout = $11 }
    $1 == "bucket" {
      bucket = $2; status = $3; origin = $4; n = $5
      second = int((bucket * 10 - start) / 1000)
      if (second < 0) second = 0
      if (second >= duration) second = duration - 1
      if (status >= 200 && status < 300) ok[second] += n
      else {
        bad[second] += n; non2xx += n
        if (bucket * 10 >= kill_ms + 1000) late += n
        else if (bucket * 10 + 9 >= kill_ms) first += n
      }
      if (origin == victim) {
        victim_at[second] += n
        if (bucket * 10 + 9 >= restart && (back == "" || bucket < back)) back = bucket
      }
    }
    END {
      printf "  second:      "; for (s = 0; s < duration; s++) printf "%6d", s; printf "\n"
      printf "  2xx:         "; for (s = 0; s < duration; s++) printf "%6d", ok[s]; printf "\n"
      printf "  non-2xx:     "; for (s = 0; s < duration; s++) printf "%6d", bad[s]; printf "\n"
      printf "  %-12s ", victim ":"; for (s = 0; s < duration; s++) printf "%6d", victim_at[s]
      printf "\n"
      printf "  total requests:                 %d\n", requests
      printf "  non-2xx responses:              %d\n", non2xx
      printf "  socket errors:                  %d (connect %d, read %d, write %d, timeout %d)\n",
        connect + read + write + timeout, connect, read, write, timeout
      printf "  non-2xx in the second after the kill: %d\n", first
      printf "  non-2xx from kill + 1 s on:     %d (socket errors are not timed)\n", late
      if (back == "")
        printf "  %s back after restart:   not within the run (%d ms of it left)\n", victim,
          start + duration * 1000 - restart
      else {
        wait_ms = back * 10 - restart
        if (wait_ms < 0) wait_ms = 0
        printf "  %s back after restart:   %d ms (to the first 10 ms bucket with its responses)\n",
          victim, wait_ms
      }
    }' "$dir/wrk.out"
  grep -E 'Requests/sec|^ +Latency|^unable|error' "$dir/wrk.out" | sed 's/^ */  wrk: /' || true
}

echo "failover: 3 origins, gourmet 2 workers (round_robin, outlier_detection" \
  "consecutive_failures 5$( ((health_check)) && echo ", health_check 2s rise 2 fall 3")), wrk" \
  "-t$threads -c$connections for ${duration}s; origin-2 killed at ${kill_at}s, restarted at" \
  "${restart_at}s"
run 1
run 0

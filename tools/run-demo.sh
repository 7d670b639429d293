#!/usr/bin/env bash
# The `make run` demo: three origins on 127.0.0.1:9001-9003 (origin-1..3)
# behind the proxy on 127.0.0.1:8080 with configs/demo.yaml. Ctrl-C stops
# everything this script started, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
origin_bin=$build_dir/tools/gourmet-origin
proxy_bin=$build_dir/proxy/gourmet
config=configs/demo.yaml
proxy_port=8080
origin_ports=(9001 9002 9003)

for bin in "$origin_bin" "$proxy_bin"; do
  if [[ ! -x $bin ]]; then
    echo "run-demo: $bin not found; build first with 'make build'" >&2
    exit 1
  fi
done

# True when something already accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for port in "${origin_ports[@]}" "$proxy_port"; do
  if port_busy "$port"; then
    echo "run-demo: port $port on 127.0.0.1 is already in use; stop whatever listens" \
      "there (e.g. 'ss -ltnp sport = :$port') and try again" >&2
    exit 1
  fi
done

pids=()
logs=$(mktemp -d)
# shellcheck disable=SC2317  # reached through the traps below
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT
# Ctrl-C is how the demo ends, not a failure: exit 0 (through the EXIT trap,
# which stops by pid what this script started), so `make run` does not
# report an error. The terminal's SIGINT reaches gourmet and the origins
# too; they drain and exit on their own, and the trap reaps them.
trap 'exit 0' INT
trap 'exit 143' TERM

# Waits up to 5 s for `check` to succeed while process $1 is alive.
wait_until() {
  local pid=$1 what=$2
  shift 2
  for _ in $(seq 100); do
    if "$@"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-demo: $what exited during start-up" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "run-demo: $what did not start within 5 s" >&2
  return 1
}

for i in "${!origin_ports[@]}"; do
  name=origin-$((i + 1))
  port=${origin_ports[$i]}
  "$origin_bin" --address 127.0.0.1 --port "$port" --name "$name" >"$logs/$name.log" 2>&1 &
  pids+=($!)
  if ! wait_until "$!" "$name" grep -q '^listening on' "$logs/$name.log"; then
    cat "$logs/$name.log" >&2
    exit 1
  fi
  echo "run-demo: $name listening on 127.0.0.1:$port (pid $!)"
done

"$proxy_bin" -c "$config" &
proxy_pid=$!
pids+=("$proxy_pid")
wait_until "$proxy_pid" "gourmet" port_busy "$proxy_port"

cat <<EOT

gourmet is listening on 127.0.0.1:$proxy_port (pid $proxy_pid), config $config. Try:

  curl -s "http://127.0.0.1:$proxy_port/[1-7]"      # 7 requests, one connection: origin-1 x5, origin-2, origin-3
  curl -i http://127.0.0.1:$proxy_port/api/hello   # upstream "api", forwarded as /hello

The seven requests share one keep-alive connection, so one worker serves
them with its own round robin: any 7 picks in a row are 5:1:1. Seven
separate curls would be seven connections spread over the workers, each
worker with its own rotation, so their mix is 5:1:1 only over many requests.

Press Ctrl-C to stop the proxy and the origins.
EOT

# Returns when the proxy exits or a signal arrives; either way the EXIT trap
# stops everything left.
status=0
wait "$proxy_pid" || status=$?
exit "$status"

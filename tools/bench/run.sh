#!/usr/bin/env bash
# `make bench`: gourmet against nginx and HAProxy (and the origin direct), and
# gourmet's accept_balance modes across 2 workers (--modes balance), on
# 127.0.0.1. Installs what it needs from Debian when missing (nginx, haproxy,
# wrk, gnuplot-nox, valgrind), then runs tools/bench/bench.py, which prints
# the plan, measures in interleaved rounds, prints the table and writes
# bench/results/<timestamp>/{results.md,chart.png,raw.json}.
#
#   tools/bench/run.sh [--workers N] [--rounds N] [--duration S] [--warmup S]
#                      [--modes small,4k,64k,close,c500,idle,balance,routes]
#                      [--targets direct,nginx,haproxy,gourmet]
#                      [--no-callgrind] [--workers-sweep] [--build-dir DIR]
#                      [--routes-baseline DIR]
#   make bench BENCH_ARGS='--duration 2 --rounds 1'
#
# Uses the release build in build/ (BUILD_DIR or --build-dir to change).
# Every process it starts has its config in a temp dir and is stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/../.."

want_callgrind=1
for arg in "$@"; do
  case $arg in
    -h | --help) exec python3 tools/bench/bench.py --help ;;
    --no-callgrind) want_callgrind=0 ;;
  esac
done

# command -> Debian package; installed only when the command is missing.
declare -A package_of=([nginx]=nginx [haproxy]=haproxy [wrk]=wrk [gnuplot]=gnuplot-nox)
if [[ $want_callgrind -eq 1 ]]; then
  package_of[valgrind]=valgrind
  package_of[callgrind_control]=valgrind
fi

missing=()
for command in "${!package_of[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$command ]]; then
    package=${package_of[$command]}
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  fi
done

if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "bench: missing ${missing[*]}, and not root without sudo" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "bench: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The cost of the one counter all workers share, beside the figures below.
counter_bin=${BUILD_DIR:-build}/tools/shared_counter
if [[ -x $counter_bin ]]; then "$counter_bin"; fi
# What 1,000 regex locations cost to build, adopt and route, without the network.
route_bin=${BUILD_DIR:-build}/tools/route_compile
if [[ -x $route_bin ]]; then "$route_bin"; fi

exec python3 tools/bench/bench.py "$@"

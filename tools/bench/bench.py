#!/usr/bin/env python3
"""gourmet against nginx and HAProxy, and the origin direct: interleaved
rounds of wrk runs, idle-connection memory, gourmet's accept_balance modes
across 2 workers, instructions per request under callgrind, and an optional
workers sweep. Run through tools/bench/run.sh (which installs nginx,
haproxy, wrk, gnuplot-nox and valgrind if missing)."""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import balance
import callgrind
import load
import report
import routes
import servers
from procs import ProcSet

TARGETS = ("direct", "nginx", "haproxy", "gourmet", "baseline")
ALL_MODES = [m.key for m in load.MODES] + [load.IDLE_KEY, balance.KEY, routes.KEY]
RUN_OVERHEAD = 1.2   # seconds per wrk run beyond warm-up + duration
IDLE_SECONDS = 4.0   # per target per round
CALLGRIND_SECONDS = 60


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=1, help="workers of every target (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--duration", type=int, default=5, help="seconds per measured run (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--modes", default=",".join(ALL_MODES),
                   help=f"comma-separated subset of {','.join(ALL_MODES)}")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help=f"comma-separated subset of {','.join(TARGETS)}")
    p.add_argument("--idle-conns", type=int, default=2000, help="connections in the idle mode")
    p.add_argument("--no-callgrind", action="store_true", help="skip instructions per request")
    p.add_argument("--callgrind-requests", type=int, default=2000)
    p.add_argument("--workers-sweep", action="store_true",
                   help="also small keep-alive with 1 and 2 workers (gourmet; nginx for reference)")
    p.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", "build"))
    p.add_argument("--baseline", metavar="DIR",
                   help="a release build of another commit: target 'baseline' runs its "
                        "gourmet in the same rounds (before/after a change, same noise)")
    p.add_argument("--routes-baseline", metavar="DIR",
                   help="routes mode: also run the gourmet of this build dir, as gourmet-base")
    p.add_argument("--results", default="bench/results", help="where reports go")
    args = p.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    args.targets = [t for t in args.targets.split(",") if t]
    for m in args.modes:
        if m not in ALL_MODES:
            p.error(f"unknown mode {m!r}")
    if args.baseline and "baseline" not in args.targets:
        args.targets.append("baseline")
    for t in args.targets:
        if t not in TARGETS:
            p.error(f"unknown target {t!r}")
    if "baseline" in args.targets and not args.baseline:
        p.error("target 'baseline' needs --baseline DIR")
    if args.rounds < 1 or args.duration < 1 or args.workers < 1:
        p.error("--rounds, --duration and --workers must be at least 1")
    return args


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": f"Linux {platform.release()}",
            "commit": commit, "load_average": os.getloadavg()[0]}


def print_plan(args, meta):
    load_modes = [load.MODE_BY_KEY[k] for k in args.modes if k in load.MODE_BY_KEY]
    per_run = args.warmup + args.duration + RUN_OVERHEAD
    seconds = args.rounds * len(args.targets) * (
        len(load_modes) * per_run + (IDLE_SECONDS if load.IDLE_KEY in args.modes else 0))
    if balance.KEY in args.modes:
        seconds += balance.seconds(args.rounds, args.duration)
    if routes.KEY in args.modes:
        proxies = 3 + (1 if args.routes_baseline else 0)
        seconds += args.rounds * proxies * len(routes.COUNTS) * (per_run + 0.5)
    if args.workers_sweep:
        seconds += args.rounds * 4 * per_run
    if not args.no_callgrind:
        seconds += CALLGRIND_SECONDS
    print("bench: plan")
    if needs_targets(args):
        print(f"  targets, in this order each round: {', '.join(args.targets)}"
              f" ({args.workers} worker(s) each; origin = nginx with {args.workers} worker(s))")
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    print(f"  {args.rounds} round(s); per mode and target: {args.warmup} s warm-up + "
          f"{args.duration} s measured")
    for mode in load_modes:
        print(f"    {mode.key:6} {mode.title:34} "
              + " ".join(load.wrk_argv("PORT", mode, args.duration, args.threads)))
    if load.IDLE_KEY in args.modes:
        print(f"    idle   RSS growth per connection with {args.idle_conns} idle keep-alive "
              "connections")
    if balance.KEY in args.modes:
        print(f"    {balance.KEY} gourmet with {balance.WORKERS} workers, accept_balance "
              f"{' vs '.join(balance.BALANCES)}, a fresh process per run, no warm-up:")
        for s in balance.SCENARIOS:
            print(f"      {s.key:4} {s.title}: "
                  + " ".join(load.wrk_argv("PORT", s, args.duration, args.threads)))
    if routes.KEY in args.modes:
        print(f"    {routes.KEY} nginx, haproxy, gourmet"
              + (f", gourmet-base ({args.routes_baseline})" if args.routes_baseline else "")
              + f" with {' and '.join(map(str, routes.COUNTS))} regex locations: "
              + " ".join(load.wrk_argv("PORT", routes.MODE, args.duration, args.threads)))
    if args.workers_sweep:
        print("  workers sweep: small keep-alive, gourmet and nginx with 1 and 2 workers")
    if not args.no_callgrind:
        print(f"  callgrind: {args.callgrind_requests} keep-alive requests, gourmet vs nginx")
    print(f"  estimated time: {seconds / 60:.1f} min")
    if meta["load_average"] > 0.5:
        print(f"  warning: load average {meta['load_average']:.1f} on {meta['cores']} cores: "
              "other work is running, the figures will be noisy")
    print(flush=True)


@dataclass
class Env:
    procs: ProcSet
    tmp: str
    gourmet_bin: str
    baseline_bin: str = None
    origin: servers.Target = None
    balance_origin: servers.Target = None  # with balance.WORKERS workers
    routed: list = None  # [(target, proxy, count)] of the routes mode


def needs_targets(args):
    """The modes that measure every target (not only gourmet's balance or
    the routes mode's own proxies)."""
    return any(m not in (balance.KEY, routes.KEY) for m in args.modes)


def start_target(env, name, workers, instance=None):
    """The target `name`; with `instance`, a fresh process of its own (for
    the idle mode and the sweep), also for `direct` instead of the origin."""
    instance = instance or name
    port = env.origin.port
    if name == "direct":
        if instance == name:
            return env.origin
        target = servers.start_origin(env.procs, env.tmp, workers, instance)
    elif name == "nginx":
        target = servers.start_nginx(env.procs, env.tmp, workers, port, instance)
    elif name == "haproxy":
        target = servers.start_haproxy(env.procs, env.tmp, workers, port, instance)
    else:
        binary = env.baseline_bin if name == "baseline" else env.gourmet_bin
        target = servers.start_gourmet(env.procs, env.tmp, workers, port, binary, instance)
    target.name = name
    return target


def sanity_check(target):
    for path, size in servers.BODY_SIZES.items():
        try:
            sizes = load.keepalive_requests(target.port, 3, path)
        except OSError as e:
            raise RuntimeError(f"{target.name} {path}: {e}; log:\n{target.proc.log_tail()}")
        if sizes != {size}:
            raise RuntimeError(f"{target.name} {path}: body sizes {sizes}, expected {size}")


def one_load_run(target, mode, args, origin, tag):
    row = {"mode": mode.key, "target": target.name}
    if not target.proc.alive():
        print(f"{tag} {mode.key:6} {target.name:8} skipped: process exited "
              f"({target.proc.popen.returncode})")
        if not getattr(target, "death_reported", False):
            print(target.proc.log_tail(10))
            target.death_reported = True
        return {**row, "failed": "exited"}
    try:
        result = load.measure_load(target, mode, args.duration, args.warmup, args.threads,
                                   origin)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"{tag} {mode.key:6} {target.name:8} FAILED: {e}")
        return {**row, "failed": str(e)}
    flag = "  (errors: %d)" % result["errors"] if result["errors"] else ""
    print(f"{tag} {mode.key:6} {target.name:8} {result['rps']:>10,.0f} req/s  "
          f"p50 {result['p50_ms']:7.3f} ms  p99 {result['p99_ms']:7.3f} ms  "
          f"{result['cpu_us']:6.1f} µs/req{flag}", flush=True)
    return {**row, **result}


def one_idle_run(name, args, env, tag, round_number):
    """A fresh instance of the target, so that the memory freed after the
    load modes (500 connections) does not hide the idle connections' cost."""
    row = {"target": name}
    target = None
    try:
        target = start_target(env, name, args.workers, instance=f"idle-{name}-{round_number}")
        row.update(load.measure_idle(target, args.idle_conns))
        print(f"{tag} idle   {name:8} {row['idle_kib_per_conn']:6.2f} KiB/conn after a "
              f"request, {row['fresh_kib_per_conn']:6.2f} fresh"
              + (f"  ({row['closed']} closed by the server)" if row["closed"] else ""),
              flush=True)
    except (OSError, RuntimeError) as e:
        print(f"{tag} idle   {name:8} FAILED: {e}")
        row["failed"] = str(e)
    finally:
        if target:
            env.procs.stop(target.proc)
    return row


def start_balance_origin(env, workers):
    """The origin has as many workers as the proxy in front of it: the
    shared one when --workers matches gourmet's 2 in the balance mode."""
    if workers == balance.WORKERS:
        return env.origin
    origin = servers.start_origin(env.procs, env.tmp, balance.WORKERS, "origin-balance")
    sanity_check(origin)
    return origin


def routes_round(args, env, r, tag):
    rows = []
    for count in routes.COUNTS:
        for target, proxy, n in env.routed:
            if n == count:
                row = one_load_run(target, routes.MODE, args, env.origin, tag)
                rows.append({**row, "round": r, "proxy": proxy, "count": count})
                time.sleep(0.5)
    return rows


def run_rounds(args, targets, env):
    rows, idle_rows, balance_rows, route_rows = [], [], [], []
    load_modes = [load.MODE_BY_KEY[k] for k in args.modes if k in load.MODE_BY_KEY]
    for r in range(1, args.rounds + 1):
        tag = f"[round {r}/{args.rounds}]"
        for mode in load_modes:
            for target in targets:
                rows.append({"round": r, **one_load_run(target, mode, args, env.origin, tag)})
                time.sleep(0.5)
        if load.IDLE_KEY in args.modes:
            for target in targets:
                idle_rows.append({"round": r, **one_idle_run(target.name, args, env, tag, r)})
        if balance.KEY in args.modes:
            balance_rows += balance.one_round(env.procs, env.tmp, env.gourmet_bin,
                                              env.balance_origin, args.duration, args.threads,
                                              r, tag)
        if routes.KEY in args.modes:
            route_rows += routes_round(args, env, r, tag)
    return rows, idle_rows, balance_rows, route_rows


def run_sweep(args, env):
    mode = load.MODE_BY_KEY["small"]
    targets = [(start_target(env, name, workers, instance=f"{name}-w{workers}"), name, workers)
               for workers in (1, 2) for name in ("gourmet", "nginx")]
    rows = []
    for r in range(1, args.rounds + 1):
        for target, name, workers in targets:
            row = one_load_run(target, mode, args, env.origin,
                               f"[sweep {r}/{args.rounds}, {workers} worker(s)]")
            rows.append({**row, "round": r, "target": name, "workers": workers})
            time.sleep(0.5)
    return rows


ARTIFACTS = (".conf", ".cfg", ".yaml", ".log")


def save_artifacts(tmp, folder):
    """Configs, logs and callgrind dumps (for callgrind_annotate) of the run."""
    for root, dirs, files in os.walk(tmp):
        dirs[:] = [d for d in dirs if d not in ("www", "temp")]
        for name in files:
            if name.endswith(ARTIFACTS) or name.startswith("callgrind."):
                src = os.path.join(root, name)
                dst = os.path.join(folder, "artifacts", os.path.relpath(src, tmp))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(src, dst)


def measure_all(args, env, raw):
    env.origin = servers.start_origin(env.procs, env.tmp, args.workers)
    targets = []
    if needs_targets(args):
        targets = [start_target(env, name, args.workers) for name in args.targets]
    for target in targets:
        sanity_check(target)
    if balance.KEY in args.modes:
        env.balance_origin = start_balance_origin(env, args.workers)
    if routes.KEY in args.modes:
        baseline = None
        if args.routes_baseline:
            baseline = os.path.abspath(os.path.join(args.routes_baseline, "proxy", "gourmet"))
        proxies = [p for p in routes.PROXIES if p.split("-")[0] in args.targets]
        env.routed = routes.start(env.procs, env.tmp, args.workers, env.origin.port,
                                  env.gourmet_bin, baseline, proxies)
    shown = [(t.name, t) for t in targets or [env.origin]]
    if env.balance_origin not in (None, env.origin):
        shown.append(("origin for balance", env.balance_origin))
    print("bench: " + ", ".join(f"{name} on :{t.port} (pid {t.pid})" for name, t in shown)
          + "\n", flush=True)
    raw["load"], raw["idle"], raw["balance"], raw["routes"] = run_rounds(args, targets, env)
    if args.workers_sweep:
        raw["sweep"] = run_sweep(args, env)
    if not args.no_callgrind:
        print("bench: callgrind (gourmet, then nginx) ...", flush=True)
        try:
            raw["callgrind"] = callgrind.measure(env.procs, env.tmp, env.origin.port,
                                                 env.gourmet_bin, args.callgrind_requests)
            cg = raw["callgrind"]
            print(f"bench: Ir/request gourmet {cg['gourmet_ir']:,.0f}, nginx "
                  f"{cg['nginx_ir']:,.0f}: {cg['ratio']:.2f} x nginx", flush=True)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            print(f"bench: callgrind FAILED: {e}")


def write_report(args, raw, folder, started):
    summary, failed = report.summarize_load(raw["load"])
    idle = report.summarize_idle(raw["idle"])
    sweep = report.summarize_sweep(raw["sweep"])
    balanced = report.summarize_balance(raw["balance"])
    text = report.markdown(raw, summary, failed, idle, sweep, balanced)
    text += routes.markdown(raw["routes"])
    png = report.chart(folder, summary, idle, f"gourmet vs nginx vs HAProxy, "
                                              f"{raw['meta']['date']}, {args.workers} worker(s)")
    if png:
        text += "\n![chart](chart.png)\n"
    with open(os.path.join(folder, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(folder, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    print("\n" + text)
    print(f"bench: done in {elapsed / 60:.1f} min; {folder}/results.md"
          + (f", {png}" if png else "") + f", {folder}/raw.json, {folder}/artifacts/")


def main():
    args = parse_args()
    gourmet_bin = os.path.join(args.build_dir, "proxy", "gourmet")
    if not os.access(gourmet_bin, os.X_OK):
        sys.exit(f"bench: {gourmet_bin} not found; build first (make build)")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 3 * args.idle_conns:
        print(f"bench: warning: open files limit {hard} is low for {args.idle_conns} connections")

    started = datetime.datetime.now()
    meta = {**machine(), "date": started.strftime("%Y-%m-%d %H:%M"),
            "versions": servers.versions(gourmet_bin),
            **{k: getattr(args, k) for k in ("workers", "rounds", "duration", "warmup",
                                             "threads", "idle_conns")}}
    print_plan(args, meta)
    folder = os.path.join(args.results, started.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(folder, exist_ok=True)

    # SIGINT/SIGTERM/SIGHUP unwind, so the finally block stops everything
    # (SIGINT too, even when started in the background with it ignored).
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    raw = {"meta": meta, "load": [], "idle": [], "balance": [], "sweep": [],
           "routes": [], "callgrind": None}
    env = Env(ProcSet(), tempfile.mkdtemp(prefix="gourmet-bench."), os.path.abspath(gourmet_bin))
    if args.baseline:
        env.baseline_bin = os.path.abspath(os.path.join(args.baseline, "proxy", "gourmet"))
        if not os.access(env.baseline_bin, os.X_OK):
            sys.exit(f"bench: {env.baseline_bin} not found; build that commit first")
    os.chmod(env.tmp, 0o755)  # nginx workers may run as nobody
    try:
        measure_all(args, env, raw)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # let the clean-up finish
        env.procs.stop_all()
        save_artifacts(env.tmp, folder)
        shutil.rmtree(env.tmp, ignore_errors=True)
    write_report(args, raw, folder, started)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        sys.exit(f"bench: interrupted ({e or 'Ctrl-C'}); everything started was stopped")
    except RuntimeError as e:
        sys.exit(f"bench: {e}")

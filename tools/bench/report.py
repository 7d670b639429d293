"""Medians over rounds, the Markdown report, the issue's targets checked,
the balance mode's tables, and the gnuplot chart."""

import os
import shutil
import subprocess
from statistics import median

import balance
from load import MODES

PEERS = ("nginx", "haproxy")
ORDER = ("direct", "nginx", "haproxy", "baseline", "gourmet")
COLOR = {"direct": "#999999", "nginx": "#009e73", "haproxy": "#56b4e9", "baseline": "#cc79a7",
         "gourmet": "#e69f00"}


def _med(values):
    values = [v for v in values if v is not None]
    return median(values) if values else None


def _by_round(rows):
    """{(round, mode): {target: row}} for rows that produced numbers."""
    out = {}
    for row in rows:
        if "rps" in row:
            out.setdefault((row["round"], row["mode"]), {})[row["target"]] = row
    return out


def _ratio(a, b):
    return a / b if a is not None and b else None


def summarize_load(rows):
    """{mode: {target: medians and same-round ratios}}."""
    per_round = {}
    for (_, mode), targets in _by_round(rows).items():
        peers = [targets[p] for p in PEERS if p in targets]
        best_rps = max((p["rps"] for p in peers), default=None)
        best_p99 = min((p["p99_ms"] for p in peers), default=None)
        for name, row in targets.items():
            nginx, direct = targets.get("nginx"), targets.get("direct")
            per_round.setdefault(mode, {}).setdefault(name, []).append({
                **row,
                "x_nginx": _ratio(row["rps"], nginx and nginx["rps"]),
                "x_direct": _ratio(row["rps"], direct and direct["rps"]),
                "cpu_x_nginx": _ratio(row["cpu_us"], nginx and nginx["cpu_us"]),
                "x_best_peer": _ratio(row["rps"], best_rps),
                "p99_x_best_peer": _ratio(row["p99_ms"], best_p99),
            })
    summary = {}
    for mode, targets in per_round.items():
        for name, runs in targets.items():
            keys = ("rps", "p50_ms", "p99_ms", "cpu_us", "origin_cpu_us", "x_nginx",
                    "x_direct", "cpu_x_nginx", "x_best_peer", "p99_x_best_peer")
            entry = {k: _med([r.get(k) for r in runs]) for k in keys}
            entry["errors"] = sum(r["errors"] for r in runs)
            entry["requests"] = sum(r["requests"] for r in runs)
            entry["rounds"] = len(runs)
            summary.setdefault(mode, {})[name] = entry
    failed = {(r["mode"], r["target"]) for r in rows if "failed" in r}
    return summary, failed


def summarize_idle(rows):
    out = {}
    for name in ORDER:
        runs = [r for r in rows if r["target"] == name and "idle_kib_per_conn" in r]
        if runs:
            out[name] = {k: _med([r[k] for r in runs])
                         for k in ("fresh_kib_per_conn", "idle_kib_per_conn")}
            out[name]["closed"] = sum(r["closed"] for r in runs)
    nginx = out.get("nginx")
    for entry in out.values():
        entry["x_nginx"] = _ratio(entry["idle_kib_per_conn"], nginx and nginx["idle_kib_per_conn"])
    return out


def summarize_sweep(rows):
    out = {}
    for row in rows:
        if "rps" in row:
            out.setdefault((row["target"], row["workers"]), []).append(row)
    return {key: {k: _med([r[k] for r in runs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")}
            for key, runs in sorted(out.items())}


def _per_worker(runs, key):
    """Median per worker index over runs: [worker 0's, worker 1's]."""
    return [_med([r["workers"][i][key] for r in runs]) for i in range(balance.WORKERS)]


def _p99_verdict(runs):
    """least_loaded / kernel client p99 within each round, then the median."""
    by_round = {}
    for r in runs:
        by_round.setdefault(r["round"], {})[r["balance"]] = r
    ratios = [_ratio(pair["least_loaded"]["p99_ms"], pair["kernel"]["p99_ms"])
              for pair in by_round.values() if len(pair) == 2]
    ratios = [x for x in ratios if x is not None]
    return (median(ratios) if ratios else None), ratios


def summarize_balance(rows):
    """{scenario: {"modes": {balance: medians}, "ratio": p99 ll/kernel, "pairs": rounds
    with both, "ll_lower": rounds least_loaded had the lower p99}}."""
    out = {}
    for scenario in balance.SCENARIOS:
        runs = [r for r in rows if r["scenario"] == scenario.key and "rps" in r]
        failed = sorted({r["balance"] for r in rows
                         if r["scenario"] == scenario.key and "failed" in r})
        if not runs and not failed:
            continue
        modes = {}
        for mode in balance.BALANCES:
            mine = [r for r in runs if r["balance"] == mode]
            if not mine:
                continue
            entry = {k: _med([r[k] for r in mine]) for k in ("rps", "p50_ms", "p99_ms")}
            entry.update({k: _per_worker(mine, k) for k in ("connections", "requests", "open")})
            entry["server_p99_ms"] = _per_worker(mine, "p99_ms")
            entry["handed"] = _med([sum(w["handed_out"] for w in r["workers"]) for r in mine])
            entry["errors"] = sum(r["errors"] for r in mine)
            entry["rounds"] = len(mine)
            hogs = [r["hog"] for r in mine if "hog" in r]
            if hogs:
                entry["hog"] = {k: _med([h.get(k) for h in hogs])
                                for k in ("pinned", "attempts", "requests")}
                entry["hog"]["exited_early"] = sum("exited_early" in h for h in hogs)
            modes[mode] = entry
        ratio, ratios = _p99_verdict(runs)
        out[scenario.key] = {"modes": modes, "failed": failed, "ratio": ratio,
                             "pairs": len(ratios), "ll_lower": sum(x < 1 for x in ratios)}
    return out


def _f(value, digits=2, suffix=""):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def _load_table(summary, failed):
    lines = ["| mode | target | req/s | × nginx | × direct | p50 ms | p99 ms "
             "| CPU µs/req | CPU × nginx | errors |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for mode in MODES:
        if mode.key not in summary and not any(m == mode.key for m, _ in failed):
            continue
        for name in ORDER:
            entry = summary.get(mode.key, {}).get(name)
            if entry is None:
                if (mode.key, name) in failed:
                    lines.append(f"| {mode.title} | {name} | failed | | | | | | | |")
                continue
            lines.append(
                f"| {mode.title} | {name} | {_f(entry['rps'], 0)} | {_f(entry['x_nginx'])} "
                f"| {_f(entry['x_direct'])} | {_f(entry['p50_ms'], 3)} | {_f(entry['p99_ms'], 3)} "
                f"| {_f(entry['cpu_us'], 1)} | {_f(entry['cpu_x_nginx'])} | {entry['errors']} |")
    return lines


def _idle_table(idle, count):
    lines = [f"| target | KiB per idle conn (after 1 request) | KiB per fresh conn (nothing sent) "
             f"| × nginx | closed by server |",
             "|---|--:|--:|--:|--:|"]
    for name, e in idle.items():
        lines.append(f"| {name} | {_f(e['idle_kib_per_conn'])} | {_f(e['fresh_kib_per_conn'])} "
                     f"| {_f(e['x_nginx'])} | {e['closed']} |")
    return lines


def _pair(values, digits):
    return " / ".join(_f(v, digits) for v in values)


def _verdict(key, entry):
    ratio, pairs = entry["ratio"], entry["pairs"]
    if ratio is None:
        return f"**{key}**: no round with both modes, no verdict."
    if ratio < 1:
        who = "least_loaded had the lower client p99"
    elif ratio > 1:
        who = "kernel had the lower client p99"
    else:
        who = "both had the same client p99"
    return (f"**{key}**: {who}: least_loaded / kernel = {ratio:.2f} (median of {pairs} "
            f"per-round ratio(s); least_loaded lower in {entry['ll_lower']} of {pairs}).")


def _hog(hog):
    if not hog:
        return "–"
    early = f" (exited early in {hog['exited_early']} run(s))" if hog["exited_early"] else ""
    return (f"{_f(hog['pinned'], 0)} pinned in {_f(hog['attempts'], 0)}, "
            f"{_f(hog['requests'], 0)} req{early}")


def _balance_table(scenario, entry):
    busy = scenario.key == "busy"
    lines = [f"### {scenario.key}: {scenario.title}", "",
             "| accept_balance | req/s | p50 ms | p99 ms | wrk conns w0 / w1 | requests w0 / w1 "
             "| server p99 ms w0 / w1 | handed over | errors |"
             + (" hog on w0 |" if busy else ""),
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|" + ("--:|" if busy else "")]
    for mode in balance.BALANCES:
        e = entry["modes"].get(mode)
        if e is None:
            if mode in entry["failed"]:
                lines.append(f"| {mode} | failed | | | | | | | |" + (" |" if busy else ""))
            continue
        lines.append(f"| {mode} | {_f(e['rps'], 0)} | {_f(e['p50_ms'], 3)} "
                     f"| {_f(e['p99_ms'], 3)} | {_pair(e['connections'], 0)} "
                     f"| {_pair(e['requests'], 0)} | {_pair(e['server_p99_ms'], 2)} "
                     f"| {_f(e['handed'], 0)} | {e['errors']} |"
                     + (f" {_hog(e.get('hog'))} |" if busy else ""))
    return lines + ["", _verdict(scenario.key, entry), ""]


def balance_section(balanced, meta):
    """The balance mode: a table and a verdict per scenario."""
    lines = [f"## Balance across workers (gourmet, {balance.WORKERS} workers, "
             "`server.accept_balance`)", "",
             f"A fresh gourmet per run and {meta['duration']} s of `wrk -t{meta['threads']} "
             "--latency` without warm-up; kernel and least_loaded alternate within each round; "
             f"origin with {balance.WORKERS} workers. req/s and p50/p99 are wrk's (client "
             "side), medians over rounds. Per worker (w0 / w1, each a median over rounds; "
             "from SIGUSR2 just before and just after the wrk run): the connections (wrk's, "
             "plus the one it opens to probe the address) and requests served during the run, "
             "and the server-side p99 (head received to response end) as logged, cumulative "
             "since the process started. Handed over = connections one worker accepted and "
             "passed to the other during the run. In `busy`, worker 0's requests and p99 "
             "include the hog's: "
             f"{balance.HOG_CONNS} keep-alive connections pinned on worker 0 stream "
             f"{balance.HOG_PATH} from a separate process during the run (\"pinned in\" = "
             "connection attempts it took). The verdict's ratio is least_loaded / kernel "
             "client p99 within a round, median over rounds.", ""]
    for scenario in balance.SCENARIOS:
        if scenario.key in balanced:
            lines += _balance_table(scenario, balanced[scenario.key])
    return lines


def checks(summary, idle, sweep):
    """The targets of issue 6, each (what, measured, met)."""
    out = []
    g = {mode: t.get("gourmet") for mode, t in summary.items()}

    def add(what, value, goal, better_low):
        if value is not None:
            out.append((what, value, value <= goal if better_low else value >= goal))

    if g.get("small"):
        add("small keep-alive: CPU/req ≤ 0.75 × nginx", g["small"]["cpu_x_nginx"], 0.75, True)
        add("small keep-alive: req/s ≥ 1.25 × nginx", g["small"]["x_nginx"], 1.25, False)
    for key in ("4k", "64k", "close", "c500"):
        if g.get(key):
            add(f"{key}: req/s ≥ 1.0 × better of nginx/HAProxy", g[key]["x_best_peer"], 1.0, False)
    for key, entry in g.items():
        if entry:
            add(f"{key}: p99 ≤ 1.0 × better peer's", entry["p99_x_best_peer"], 1.0, True)
    if "gourmet" in idle:
        add("idle keep-alive connection ≤ 0.5 KiB", idle["gourmet"]["idle_kib_per_conn"], 0.5, True)
    one, two = sweep.get(("gourmet", 1)), sweep.get(("gourmet", 2))
    if one and two:
        add("2 workers ≥ 1 worker (req/s, small keep-alive)", two["rps"] / one["rps"], 1.0, False)
    return out


def markdown(raw, summary, failed, idle, sweep, balanced=None):
    meta = raw["meta"]
    lines = [f"# gourmet benchmark, {meta['date']}", "",
             f"Machine: {meta['cpu']}, {meta['cores']} cores shared by wrk, origin and proxy; "
             f"{meta['kernel']}; load average {meta['load_average']:.1f} at the start. Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
             + f". Commit {meta['commit']}.", "",
             f"Workers: {meta['workers']} for every target and for the origin (nginx). "
             f"{meta['rounds']} interleaved rounds; each run {meta['duration']} s after a "
             f"{meta['warmup']} s warm-up, `wrk -t{meta['threads']} --latency`. Figures are medians "
             "over rounds; ratios are taken within a round, then the median. CPU µs/req = "
             "user+sys of the target's process tree (/proc/PID/stat, 10 ms ticks) / requests; "
             "for `direct` it is the origin's own cost. Loopback on a shared 2-core machine: "
             "expect a few % of noise between runs.", ""]
    if summary or failed:
        lines += ["## Throughput, latency and CPU", ""] + _load_table(summary, failed) + [""]
    if idle:
        lines += [f"## Idle memory: RSS growth with {meta['idle_conns']} idle keep-alive "
                  "connections, per connection", ""] + _idle_table(idle, meta["idle_conns"]) + [""]
    cg = raw.get("callgrind")
    if cg:
        lines += [f"## Instructions per request (callgrind, {cg['requests']} sequential keep-alive "
                  "requests, 5 B body, 1 worker)", "",
                  "| target | Ir/request | × nginx |", "|---|--:|--:|",
                  f"| nginx (master_process off) | {_f(cg['nginx_ir'], 0)} | 1.00 |",
                  f"| gourmet | {_f(cg['gourmet_ir'], 0)} | {_f(cg['ratio'])} |", ""]
    if sweep:
        lines += ["## Workers sweep (keep-alive, 50 conns, 5 B; origin at "
                  f"{meta['workers']} worker(s))", "",
                  "| target | workers | req/s | p50 ms | p99 ms | CPU µs/req |",
                  "|---|--:|--:|--:|--:|--:|"]
        for (name, workers), e in sweep.items():
            lines.append(f"| {name} | {workers} | {_f(e['rps'], 0)} | {_f(e['p50_ms'], 3)} "
                         f"| {_f(e['p99_ms'], 3)} | {_f(e['cpu_us'], 1)} |")
        lines.append("")
    if balanced:
        lines += balance_section(balanced, meta)
    results = checks(summary, idle, sweep)
    if results:
        lines += ["## Targets of issue 6 (gourmet)", "", "| target | measured | met |",
                  "|---|--:|---|"]
        lines += [f"| {what} | {_f(value, 3)} | {'yes' if met else '**no**'} |"
                  for what, value, met in results]
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- chart

def _columns(summary, key, targets):
    """{target: {mode label: value}} for the targets that have any value."""
    out = {}
    for t in targets:
        values = {m.short: summary[m.key][t][key] for m in MODES
                  if t in summary.get(m.key, {}) and summary[m.key][t][key] is not None}
        if values:
            out[t] = values
    return out


def _panel(folder, name, title, columns, extra=""):
    """Clustered bars: a cluster per label, a bar per target; None if no data."""
    if not columns:
        return None
    targets = list(columns)
    labels = list(dict.fromkeys(label for c in columns.values() for label in c))
    with open(os.path.join(folder, f"{name}.dat"), "w") as f:
        f.write("label " + " ".join(targets) + "\n")
        for label in labels:
            row = [columns[t].get(label) for t in targets]
            f.write(f'"{label}" ' + " ".join("NaN" if v is None else f"{v:.4f}" for v in row)
                    + "\n")
    plots = [f"'{name}.dat' using {2 + i}{':xtic(1)' if i == 0 else ''} title columnhead "
             f"lc rgb '{COLOR[t]}'" for i, t in enumerate(targets)]
    return (f"set title '{title}'\nset yrange [0:*]\n{extra}plot " + ", ".join(plots)
            + "\nunset logscale y")


def _terminal():
    out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" if "pngcairo" in out.stdout + out.stderr else "png"


def chart(folder, summary, idle, title):
    """chart.png: req/s relative to direct, CPU µs/req, p99, idle KiB/conn."""
    if not shutil.which("gnuplot"):
        return None
    proxies = ("nginx", "haproxy", "gourmet")
    idle_columns = {t: {"after one request": e["idle_kib_per_conn"],
                        "fresh": e["fresh_kib_per_conn"]} for t, e in idle.items()}
    panels = [p for p in (
        _panel(folder, "x_direct", "req/s relative to the origin direct (1.0)",
               _columns(summary, "x_direct", proxies)),
        _panel(folder, "cpu", "CPU µs per request (proxy processes)",
               _columns(summary, "cpu_us", proxies)),
        _panel(folder, "p99", "p99 latency, ms (log)", _columns(summary, "p99_ms", ORDER),
               "set logscale y\nset yrange [*:*]\n"),
        _panel(folder, "idle", "RSS per idle keep-alive connection, KiB", idle_columns),
    ) if p]
    if not panels:
        return None
    rows = (len(panels) + 1) // 2
    script = f"""set terminal {_terminal()} size 1400,{500 * rows} font ',10'
set output 'chart.png'
set datafile missing 'NaN'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top left
set grid ytics
set offsets 0, 0, graph 0.08, 0
set multiplot layout {rows},2 title "{title}"
""" + "\n".join(panels) + "\nunset multiplot\n"
    with open(os.path.join(folder, "chart.gp"), "w") as f:
        f.write(script)
    out = subprocess.run(["gnuplot", "chart.gp"], cwd=folder, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"bench: gnuplot failed: {out.stderr.strip()}")
        return None
    return os.path.join(folder, "chart.png")

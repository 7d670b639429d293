"""The routes mode: what 1,000 regex locations cost when the request matches
only the last one, against a single location, on the same origin.

Each proxy runs twice, with 1 location (`^/`) and with 1,000
(`^/r0000/` .. `^/r0999/`, tried in config order: nginx `location ~`, HAProxy
`use_backend ... if { path_reg ... }`, gourmet `locations`), and wrk asks for
`/r0999/small`, which only the last of the 1,000 matches (the origin answers
every /r... path with the 5 bytes of /small). nginx has `pcre_jit on`.

With --routes-baseline DIR a second gourmet build (say, the commit before a
router change) runs beside the first as `gourmet-base`.

The table: per proxy, req/s, p99 and CPU µs per request with 1 and with
1,000 locations (medians over rounds), and the ratio 1,000 / 1 taken within
each round (then the median), so drift of the machine between rounds
cancels out.
"""

import statistics

import load
import servers

KEY = "routes"
COUNTS = (1, 1000)
PATH = "/r0999/small"
MODE = load.Mode(KEY, "keep-alive, 50 conns, 5 B, routed", "routes", path=PATH)
PROXIES = ("nginx", "haproxy", "gourmet", "gourmet-base")


def regexes(count):
    if count == 1:
        return ["^/"]
    return [f"^/r{i:04d}/" for i in range(count)]


def start(procs, tmp, workers, origin_port, gourmet_bin, baseline_bin, proxies):
    """[(target, proxy, count)] for every proxy of `proxies` and count."""
    started = []
    for proxy in proxies:
        if proxy == "gourmet-base" and not baseline_bin:
            continue
        for count in COUNTS:
            name = f"{proxy}-{count}"
            if proxy == "nginx":
                target = servers.start_nginx(procs, tmp, workers, origin_port, name,
                                             regexes=regexes(count))
            elif proxy == "haproxy":
                target = servers.start_haproxy(procs, tmp, workers, origin_port, name,
                                               regexes=regexes(count))
            else:
                binary = gourmet_bin if proxy == "gourmet" else baseline_bin
                target = servers.start_gourmet(procs, tmp, workers, origin_port, binary, name,
                                               regexes=regexes(count))
            target.name = name
            sizes = load.keepalive_requests(target.port, 3, PATH)
            if sizes != {5}:
                raise RuntimeError(f"{name} {PATH}: body sizes {sizes}, expected {{5}}")
            started.append((target, proxy, count))
    return started


def summarize(rows):
    """{proxy: {count: {rps, p99_ms}, "ratio_rps", "ratio_p99"}} from the
    rows of every round (row: round, proxy, count, rps, p99_ms)."""
    by_round = {}
    for row in rows:
        if "rps" in row:
            by_round.setdefault((row["round"], row["proxy"]), {})[row["count"]] = row
    out = {}
    for (_, proxy), counts in sorted(by_round.items()):
        entry = out.setdefault(proxy, {"runs": {c: [] for c in COUNTS}, "rps_ratio": [],
                                       "p99_ratio": []})
        for count, row in counts.items():
            entry["runs"][count].append(row)
        if all(c in counts for c in COUNTS):
            one, many = counts[COUNTS[0]], counts[COUNTS[1]]
            entry["rps_ratio"].append(many["rps"] / one["rps"])
            entry["p99_ratio"].append(many["p99_ms"] / one["p99_ms"])
    summary = {}
    for proxy, entry in out.items():
        item = {}
        for count, runs in entry["runs"].items():
            if runs:
                item[count] = {"rps": statistics.median(r["rps"] for r in runs),
                               "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                               "cpu_us": statistics.median(r["cpu_us"] for r in runs),
                               "spread": (min(r["rps"] for r in runs),
                                          max(r["rps"] for r in runs))}
        if entry["rps_ratio"]:
            item["rps_ratio"] = statistics.median(entry["rps_ratio"])
            item["p99_ratio"] = statistics.median(entry["p99_ratio"])
        summary[proxy] = item
    return summary


def markdown(rows):
    summary = summarize(rows)
    if not summary:
        return ""
    lines = [
        "", f"## Routes: 1 location vs {COUNTS[1]:,}, the matching one last (`{PATH}`)", "",
        f"| proxy | req/s, 1 | p99, 1 | req/s, {COUNTS[1]:,} | p99, {COUNTS[1]:,} "
        f"| req/s {COUNTS[1]:,} / 1 | p99 {COUNTS[1]:,} / 1 | req/s {COUNTS[1]:,} × nginx "
        f"| CPU µs/req, 1 | CPU µs/req, {COUNTS[1]:,} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    nginx_many = summary.get("nginx", {}).get(COUNTS[1], {}).get("rps")
    for proxy in PROXIES:
        item = summary.get(proxy)
        if not item:
            continue

        def cell(count, key, fmt):
            value = item.get(count, {}).get(key)
            return fmt.format(value) if value is not None else "–"

        many = item.get(COUNTS[1], {}).get("rps")
        x_nginx = f"{many / nginx_many:.2f}" if many and nginx_many else "–"
        lines.append(
            f"| {proxy} | {cell(COUNTS[0], 'rps', '{:,.0f}')} | "
            f"{cell(COUNTS[0], 'p99_ms', '{:.3f} ms')} | {cell(COUNTS[1], 'rps', '{:,.0f}')} | "
            f"{cell(COUNTS[1], 'p99_ms', '{:.3f} ms')} | "
            + (f"{item['rps_ratio']:.2f} | {item['p99_ratio']:.2f}" if "rps_ratio" in item
               else "– | –")
            + f" | {x_nginx} | {cell(COUNTS[0], 'cpu_us', '{:.1f}')} "
            f"| {cell(COUNTS[1], 'cpu_us', '{:.1f}')} |")
    lines.append("")
    lines.append("CPU µs/req is the proxy's own (user+sys of its process tree) per request: "
                 "on a loaded machine it moves less than req/s. "
                 "Ratios are taken within each round, then the median; req/s spread "
                 "(min–max over rounds): "
                 + "; ".join(f"{proxy} {count}: {item[count]['spread'][0]:,.0f}–"
                             f"{item[count]['spread'][1]:,.0f}"
                             for proxy, item in summary.items() for count in COUNTS
                             if count in item))
    return "\n".join(lines) + "\n"

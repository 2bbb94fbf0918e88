#!/usr/bin/env python3
"""Summarises a perf/bench.sh run: medians per cell and library, the side-by-side table
(printed, and written as table.txt, table.md and summary.csv) and, if matplotlib is there,
the charts throughput_by_size.png and latency_by_size.png.

    bench_report.py RESULTS_DIR [--no-charts]

Reads RESULTS_DIR/raw.csv (one row per run, written by bench.sh). Standard library only,
matplotlib optional.
"""

import csv
import os
import statistics
import sys

KIND_ORDER = ["thr", "lat", "proxy", "instr", "syscalls"]
PATTERN_NAMES = {
    "pushpull": "PUSH/PULL",
    "pubsub": "PUB/SUB",
    "reqrep": "REQ/REP",
    "xpubxsub": "XPUB/XSUB",
}
PIN_ORDER = ["free", "same", "split"]
PATTERN_ORDER = ["pushpull", "pubsub", "reqrep", "xpubxsub"]
HIGHER_IS_BETTER = {"thr", "proxy"}


def size_label(size):
    size = int(size)
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return "%dMiB" % (size >> 20)
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return "%dKiB" % (size >> 10)
    return "%dB" % size


def fmt_value(kind, value):
    if value is None:
        return "-"
    if kind in ("thr", "proxy"):
        return "{:,.0f}".format(value)
    if kind == "lat":
        return "%.1f" % value
    if kind == "instr":
        return "{:,.0f}".format(value)
    return "%.2f" % value


def cell_label(kind, pattern, transport, pin, size):
    pat = PATTERN_NAMES.get(pattern, pattern)
    if kind == "thr":
        what = "thr %s %s" % (pat, transport)
    elif kind == "lat":
        what = "lat %s %s" % (pat, transport)
    elif kind == "proxy":
        what = "proxy %s" % pat
    elif kind == "instr":
        what = "instr/%s %s %s" % ("rt" if pattern == "reqrep" else "msg", pat, transport)
    else:
        what = "syscalls/%s %s %s" % ("rt" if pattern == "reqrep" else "msg", pat, transport)
    label = "%s %s" % (what, size_label(size))
    if pin != "free":
        label += " [%s]" % ("1 core" if pin == "same" else "2 cores")
    return label


def unit_of(kind):
    return {"thr": "msg/s", "proxy": "msg/s", "lat": "us", "instr": "Ir", "syscalls": "calls"}[kind]


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def summarise(rows):
    """{cell key: {lib: {"median", "rss_mb", "n", "status"}}} in a stable order."""
    cells = {}
    for r in rows:
        key = (r["kind"], r["pattern"], r["transport"], r["pin"], int(r["size"]))
        lib = r["lib"]
        entry = cells.setdefault(key, {}).setdefault(
            lib, {"values": [], "rss": [], "rtt": [], "fail": None, "runs": 0, "hung": 0})
        entry["runs"] += 1
        if "hung at exit" in (r.get("detail") or ""):
            entry["hung"] += 1
        if r["status"] == "ok" and r["value"] not in ("", None):
            entry["values"].append(float(r["value"]))
            for field, into, scale in (("rss_kb", "rss", 1024.0), ("line_rtt_ns", "rtt", 1.0)):
                if r.get(field):
                    try:
                        entry[into].append(float(r[field]) / scale)
                    except ValueError:
                        pass
        elif entry["fail"] is None:
            detail = (r.get("detail") or "").strip()
            entry["fail"] = r["status"] + (": " + detail if detail else "")
    out = {}
    for key, libs in cells.items():
        out[key] = {}
        for lib, e in libs.items():
            out[key][lib] = {
                "median": statistics.median(e["values"]) if e["values"] else None,
                "rss_mb": statistics.median(e["rss"]) if e["rss"] else None,
                "rtt": e["rtt"],
                "values": sorted(e["values"]),
                "n": len(e["values"]),
                "runs": e["runs"],
                "status": "ok" if e["values"] else (e["fail"] or "failed"),
                "hung": e["hung"],
                "fail": e["fail"],
            }

    def order(key):
        kind, pattern, transport, pin, size = key
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else 99,
                PIN_ORDER.index(pin) if pin in PIN_ORDER else 9,
                PATTERN_ORDER.index(pattern) if pattern in PATTERN_ORDER else 9, ["tcp", "ipc", "inproc"].index(transport)
                if transport in ("tcp", "ipc", "inproc") else 9, size)

    return [(k, out[k]) for k in sorted(out, key=order)]


def shown(entry, kind):
    if entry is None:
        return "-"
    if entry["median"] is None:
        st = entry["status"]
        if st.startswith("skipped"):
            return "skipped"
        if st.startswith("timeout"):
            return "TIMEOUT"
        if st.startswith("crash"):
            return "CRASH"
        return "FAILED"
    text = fmt_value(kind, entry["median"])
    if entry.get("hung"):
        text += " *"
    if entry["n"] < entry["runs"]:
        text += " (%d/%d ok)" % (entry["n"], entry["runs"])
    return text


def build_table(summary):
    header = ["cell", "unit", "ours", "libzmq", "ratio", "plain socket", "ours/plain",
              "RSS ours MB", "RSS libzmq MB"]
    table = []
    for (kind, pattern, transport, pin, size), libs in summary:
        ours, ref, plain = libs.get("ours"), libs.get("libzmq"), libs.get("plain")
        ratio = vs_plain = "-"
        if ours and ref and ours["median"] is not None and ref["median"]:
            ratio = "%.2f" % (ours["median"] / ref["median"])
        if ours and plain and ours["median"] is not None and plain["median"]:
            vs_plain = "%.2f" % (ours["median"] / plain["median"])

        def rss(e):
            return "%.0f" % e["rss_mb"] if e and e["rss_mb"] is not None else "-"

        table.append([
            cell_label(kind, pattern, transport, pin, size), unit_of(kind), shown(ours, kind),
            shown(ref, kind), ratio, shown(plain, kind) if plain else "-", vs_plain, rss(ours),
            rss(ref),
        ])
    return header, table


def off_target(summary):
    """The cells that miss the performance issue's targets, as (cell, target, runs):
    throughput at least libzmq's, 1.5x libzmq's for 1-64 B; latency at most libzmq's; peak
    RSS at most libzmq's; instructions per tcp 1 B message at most 0.6x; tcp 1 MiB at least
    0.9x the plain socket pair. Medians, as in the table; the runs show whether a cell is
    bimodal. A cell where none of our runs finished misses every target."""
    misses = []
    for key, libs in summary:
        kind, pattern, transport, pin, size = key
        ours, ref, plain = libs.get("ours"), libs.get("libzmq"), libs.get("plain")
        label = cell_label(*key)
        if not ours or ours["median"] is None:
            if ours:
                misses.append((label, "no finished run of ours (%s)" % ours["status"], ""))
            continue

        def runs():
            def one(lib, e):
                return "%s %s" % (lib, ", ".join(fmt_value(kind, v) for v in e["values"]))
            return "; ".join(one(lib, e) for lib, e in (("ours", ours), ("libzmq", ref))
                             if e and e["values"])

        if ref and ref["median"]:
            ratio = ours["median"] / ref["median"]
            if kind in HIGHER_IS_BETTER:
                want = 1.5 if size <= 64 else 1.0
                if ratio < want:
                    misses.append((label, "%.2fx, target %.1fx" % (ratio, want), runs()))
            elif kind == "lat" and ratio > 1.0:
                misses.append((label, "%.2fx, target at most 1x" % ratio, runs()))
            elif (kind, pattern, transport, size) == ("instr", "pushpull", "tcp", 1) \
                    and ratio > 0.6:
                misses.append((label, "%.2fx, target at most 0.6x" % ratio, ""))
            if ref.get("rss_mb") is not None and ours.get("rss_mb") is not None \
                    and ours["rss_mb"] > ref["rss_mb"]:
                misses.append((label, "peak RSS %.0f MB, libzmq %.0f MB"
                               % (ours["rss_mb"], ref["rss_mb"]), ""))
        if plain and plain["median"] and (kind, transport, size) == ("thr", "tcp", 1 << 20):
            if ours["median"] / plain["median"] < 0.9:
                misses.append((label, "%.2fx the plain socket, target 0.9x"
                               % (ours["median"] / plain["median"]), ""))
    return misses


def not_compared(summary):
    """The cells with a result of ours but none of libzmq's, as (cell, why): the report
    cannot say whether they are on target, and must not count them as such."""
    return [(cell_label(*key), libs["libzmq"]["status"]) for key, libs in summary
            if libs.get("ours") and libs["ours"]["median"] is not None
            and libs.get("libzmq") and libs["libzmq"]["median"] is None]


def render_text(header, table):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table)]
    lines = []
    for i, row in enumerate([header] + table):
        cells = []
        for j, (c, w) in enumerate(zip(row, widths)):
            cells.append(str(c).ljust(w) if j in (0, 1) else str(c).rjust(w))
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(header, table):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    for row in table:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def write_summary_csv(path, summary):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "pattern", "transport", "pin", "size", "lib", "median", "unit",
                    "ok_runs", "runs", "rss_mb", "line_rtt_ns", "status"])
        for (kind, pattern, transport, pin, size), libs in summary:
            for lib in sorted(libs):
                e = libs[lib]
                w.writerow([kind, pattern, transport, pin, size, lib,
                            "" if e["median"] is None else "%.6g" % e["median"], unit_of(kind),
                            e["n"], e["runs"],
                            "" if e["rss_mb"] is None else "%.1f" % e["rss_mb"],
                            "%.0f" % statistics.median(e["rtt"]) if e["rtt"] else "",
                            e["status"]])


def rtt_note(summary):
    """How far apart the VM's CPUs were during the free-running runs (perf/line_rtt.c)."""
    by_lib = {}
    for _, libs in summary:
        for lib, e in libs.items():
            by_lib.setdefault(lib, []).extend(e["rtt"])
    every = sorted(v for vals in by_lib.values() for v in vals)
    if not every:
        return
    print("cache line roundtrip between the CPUs before each free-running run: median %.0f ns, "
          "%.0f-%.0f ns (median of the runs of %s). Small-message throughput between threads "
          "follows it (docs/performance.md)."
          % (statistics.median(every), every[0], every[-1],
             ", ".join("%s: %.0f ns" % (lib, statistics.median(v))
                       for lib, v in sorted(by_lib.items()) if v)))
    print()


def charts(outdir, summary):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except Exception as exc:  # noqa: BLE001 - any import problem means no charts
        print("charts skipped: matplotlib not available (%s)" % exc)
        return []
    styles = {"ours": ("tab:red", "o", "ours"), "libzmq": ("tab:blue", "s", "libzmq"),
              "plain": ("tab:gray", "^", "plain socket")}
    made = []

    def series(kind, pattern, transport, lib):
        pts = []
        for (k, p, t, pin, size), libs in summary:
            if (k, p, t, pin) == (kind, pattern, transport, "free") and lib in libs:
                m = libs[lib]["median"]
                if m is not None:
                    pts.append((size, m))
        return sorted(pts)

    def present(kind):
        return [t for t in ("tcp", "ipc", "inproc")
                if any(k[0] == kind and k[2] == t and k[3] == "free" for k, _ in summary)]

    def size_axis(ax, kind):
        sizes = sorted({k[4] for k, _ in summary if k[0] == kind and k[3] == "free"})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        if sizes:
            ax.set_xticks(sizes)
            ax.set_xticklabels([size_label(x) for x in sizes])
            ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: "%g" % v))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("message size")
        ax.grid(True, which="major", alpha=0.3)

    transports = present("thr")
    thr_patterns = [p for p in ("pushpull", "pubsub")
                    if any(k[0] == "thr" and k[1] == p for k, _ in summary)]
    if thr_patterns and transports:
        fig, axes = plt.subplots(len(thr_patterns), len(transports), squeeze=False,
                                 figsize=(5 * len(transports), 4 * len(thr_patterns)))
        for i, pattern in enumerate(thr_patterns):
            for j, transport in enumerate(transports):
                ax = axes[i][j]
                for lib, (color, marker, label) in styles.items():
                    pts = series("thr", pattern, transport, lib)
                    if pts:
                        ax.plot([s for s, _ in pts], [v * s * 8 / 1e6 for s, v in pts],
                                color=color, marker=marker, label=label)
                size_axis(ax, "thr")
                ax.set_title("%s over %s" % (PATTERN_NAMES[pattern], transport))
                ax.set_ylabel("throughput [Mb/s]")
                if ax.lines:
                    ax.legend()
        fig.suptitle("Throughput by message size (median of runs, higher is better)")
        fig.tight_layout()
        path = os.path.join(outdir, "throughput_by_size.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(path)

    transports = present("lat")
    if transports:
        fig, axes = plt.subplots(1, len(transports), squeeze=False,
                                 figsize=(5 * len(transports), 4))
        for j, transport in enumerate(transports):
            ax = axes[0][j]
            for lib, (color, marker, label) in styles.items():
                pts = series("lat", "reqrep", transport, lib)
                if pts:
                    ax.plot([s for s, _ in pts], [v for _, v in pts], color=color,
                            marker=marker, label=label)
            size_axis(ax, "lat")
            ax.set_title("REQ/REP over %s" % transport)
            ax.set_ylabel("one-way latency [us]")
            if ax.lines:
                ax.legend()
        fig.suptitle("Latency by message size (median of runs, lower is better)")
        fig.tight_layout()
        path = os.path.join(outdir, "latency_by_size.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(path)
    return made


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    outdir = argv[1]
    rows = load(os.path.join(outdir, "raw.csv"))
    if not rows:
        print("no results in %s" % outdir)
        return 1
    summary = summarise(rows)
    header, table = build_table(summary)
    text = render_text(header, table)
    with open(os.path.join(outdir, "table.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write(render_markdown(header, table) + "\n")
    write_summary_csv(os.path.join(outdir, "summary.csv"), summary)
    print(text)
    print()
    if any(e.get("hung") for _, libs in summary for e in libs.values()):
        print("* the tool printed its result but then hung at exit (zmq_close/zmq_ctx_term) "
              "and was killed: the measurement stands, the hang is a bug.")
    failed = [(cell_label(*k), lib, e["fail"]) for k, libs in summary
              for lib, e in sorted(libs.items()) if e["n"] < e["runs"]]
    if failed:
        print("runs that failed:")
        for label, lib, status in failed:
            print("  %s, %s: %s" % (label, lib, status))
        print()
    misses = off_target(summary)
    print("off the issue's targets (medians): %s" % (len(misses) or "none"))
    for label, what, runs in misses:
        print("  %s: %s%s" % (label, what, " (runs: %s)" % runs if runs else ""))
    unmatched = not_compared(summary)
    if unmatched:
        print("not compared, libzmq finished no run: %d" % len(unmatched))
        for label, why in unmatched:
            print("  %s: %s" % (label, why))
    print()
    rtt_note(summary)
    print("ratio = ours / libzmq: above 1 is better for msg/s, below 1 is better for us, Ir, "
          "calls and RSS. Ir and calls are per message (per roundtrip for REQ/REP), user "
          "space and both ends.")
    if "--no-charts" not in argv:
        for path in charts(outdir, summary):
            print("chart: %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

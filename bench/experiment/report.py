"""The report of an experiment: results.csv, README.md (what was done, the table) and plots.

write() takes the job rows an experiment collected (or that load() read back from a results
folder, for --report-only: the ratios are recomputed from the raw byte columns) and writes
everything in the results folder. Plots need gnuplot; without it they are skipped with a note
in README.md and on stderr, and the rest of the report is written all the same.
"""
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys

from .common import ALL_JOBS, EXP
from .modes import ALL_MODES, BY_NAME

# results.csv: one row per job instance (variant, job, mode, run = round of the job sequence).
CSV_COLUMNS = [
    "variant", "job", "mode", "run", "iops", "bw_mib_s", "lat_p50_us", "lat_p99_us",
    "host_cache_mean_mib", "host_cache_end_mib", "cache_reduction_x",
    "host_hit_ratio", "host_hit_ratio_x", "host_hit_ratio_rchar", "system_hit_ratio",
    "system_hit_ratio_x", "throughput_x", "scrub_cpu_pct", "freed_mib", "fio_read_mib",
    "fio_write_mib", "guest_disk_read_mib", "qemu_read_syscall_mib", "device_read_mib",
    "device_write_mib", "scrub_cpu_s", "wall_s",
    "double_cached_share_start", "double_cached_share_end", "double_cached_mib_end",
    "device_read_ios", "device_read_kib_per_io", "guest_disk_write_mib", "guest_flush_ms",
    "cgroup_dirty_max_mib", "cgroup_writeback_max_mib", "limit_hits",
    "guest_mib", "host_budget_mib", "device_read_per_fio_read", "cache_run_kib_start",
    "round_seed", "fio_ios_per_guest"]
# What summary.csv and the table aggregate over the runs: median, min and max of each.
SUMMARY_METRICS = [
    "iops", "lat_p50_us", "lat_p99_us", "host_cache_mean_mib", "host_hit_ratio",
    "system_hit_ratio", "device_read_mib", "device_write_mib", "double_cached_share_end",
    "scrub_cpu_pct", "freed_mib", "device_read_kib_per_io", "guest_flush_ms",
    "cgroup_dirty_max_mib", "limit_hits", "device_read_per_fio_read", "cache_run_kib_start"]
# Ratios of medians to mode writeback of the same variant and job (summary.csv, the table).
RATIOS = {"iops_x": "iops", "device_read_x": "device_read_per_fio_read",
          "host_hit_x": "host_hit_ratio", "system_hit_x": "system_hit_ratio"}
# The table of README.md: (heading, summary column, how to show it). "spread": median with
# min-max of the runs; "plain": the value as is.
TABLE = [
    ("variant", "variant", "plain"), ("job", "job", "plain"), ("mode", "mode", "plain"),
    ("runs", "runs", "plain"),
    ("IOPS", "iops", "spread"), ("IOPS x", "iops_x", "plain"),
    ("device read MiB", "device_read_mib", "spread"),
    ("dev. read per fio byte x", "device_read_x", "plain"),
    ("host hit", "host_hit_ratio", "spread"), ("system hit", "system_hit_ratio", "spread"),
    ("p99 ms", "lat_p99_ms", "spread"),
    ("double-cached % (job end)", "double_cached_pct_end", "spread"),
    ("host cache MiB (mean)", "host_cache_mean_mib", "spread"),
    ("singleton CPU %", "scrub_cpu_pct", "spread")]
# Columns derived for the table from the summary (scaled copies).
SCALED = {"lat_p99_ms": ("lat_p99_us", 1e-3), "double_cached_pct_end": ("double_cached_share_end", 100)}


def fmt(v):
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v == float("inf"):
            return "inf"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def short(v):
    """A table cell: 3 significant digits or so (the CSVs have the full values)."""
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v == float("inf"):
            return "inf"
        a = abs(v)
        return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"
    return str(v)


def with_ratios(results):
    """The rows, each with its ratios to mode writeback of the same variant, job and run."""
    rows = []
    base = {(r["variant"], r["job"], r.get("run", 1)): r for r in results
            if r["mode"] == "writeback"}
    for r in results:
        b = base.get((r["variant"], r["job"], r.get("run", 1)))
        r = dict(r)
        if b:
            r["cache_reduction_x"] = (b["host_cache_mean_mib"] / r["host_cache_mean_mib"]
                                      if r["host_cache_mean_mib"] > 0.5 else float("inf"))
            r["host_hit_ratio_x"] = (r["host_hit_ratio"] / b["host_hit_ratio"]
                                     if b["host_hit_ratio"] else float("nan"))
            r["system_hit_ratio_x"] = (r["system_hit_ratio"] / b["system_hit_ratio"]
                                       if b["system_hit_ratio"] else float("nan"))
            r["throughput_x"] = r["iops"] / b["iops"] if b["iops"] else float("nan")
        rows.append(r)
    return rows


def _numbers(rows, col):
    vals = []
    for r in rows:
        v = r.get(col)
        if isinstance(v, (int, float)) and v == v:
            vals.append(float(v))
    return vals


def summarize(results, modes=None):
    """One row per variant, job and mode, in the order of the variants as run, the jobs and
    the modes (ALL_MODES unless given): `runs`, and per SUMMARY_METRICS column its median
    (same name) and its `_min`, `_max` over the runs (nan when no run has it); the RATIOS
    against writeback's medians; and the SCALED columns."""
    modes = modes or ALL_MODES
    groups = {}
    for r in results:
        groups.setdefault((r["variant"], r["job"], r["mode"]), []).append(r)
    variants = list(dict.fromkeys(r["variant"] for r in results))
    order = lambda k: (variants.index(k[0]),
                       ALL_JOBS.index(k[1]) if k[1] in ALL_JOBS else len(ALL_JOBS),
                       modes.index(k[2]) if k[2] in modes else len(modes))
    out = []
    for key in sorted(groups, key=order):
        rows = groups[key]
        s = {"variant": key[0], "job": key[1], "mode": key[2], "runs": len(rows)}
        for col in SUMMARY_METRICS:
            vals = _numbers(rows, col)
            s[col] = statistics.median(vals) if vals else float("nan")
            s[col + "_min"] = min(vals) if vals else float("nan")
            s[col + "_max"] = max(vals) if vals else float("nan")
        out.append(s)
    base = {(s["variant"], s["job"]): s for s in out if s["mode"] == "writeback"}
    for s in out:
        b = base.get((s["variant"], s["job"]))
        for name, col in RATIOS.items():
            s[name] = (s[col] / b[col] if b and b[col] and b[col] == b[col]
                       else float("nan"))
        for name, (col, k) in SCALED.items():
            for suffix in ("", "_min", "_max"):
                s[name + suffix] = s[col + suffix] * k
    return out


def summary_columns():
    cols = ["variant", "job", "mode", "runs"]
    for c in SUMMARY_METRICS:
        cols += [c, c + "_min", c + "_max"]
    return cols + list(RATIOS)


# Columns a folder from before them lacks: a rebuilt report leaves them out rather than empty.
NEWER_COLUMNS = {"round_seed", "fio_ios_per_guest"}


def write_csv(path, rows, columns=None):
    columns = columns or [c for c in CSV_COLUMNS
                          if c not in NEWER_COLUMNS or any(c in r for r in rows)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow([fmt(r.get(c, "")) for c in columns])


def cell(s, col, how):
    v = s.get(col, "")
    if how == "plain" or s["runs"] < 2 or not isinstance(v, float) or v != v:
        return short(v)
    return f"{short(v)} ({short(s[col + '_min'])}-{short(s[col + '_max'])})"


def table(summary):
    md = [" | ".join(h for h, _, _ in TABLE), "|".join(["---"] * len(TABLE))]
    for s in summary:
        md.append(" | ".join(cell(s, c, how) for _, c, how in TABLE))
    return "\n".join(md)


def goals(summary):
    """The issue's goals, met or not, one line each, from the summary rows."""
    lines = []
    by = {(s["variant"], s["job"], s["mode"]): s for s in summary}
    singleton_modes = [m for m in ("scrub", "watch", "watch-pressure")
                       if any(s["mode"] == m for s in summary)]
    variants = list(dict.fromkeys(s["variant"] for s in summary))
    jobs = lambda v: [s["job"] for s in summary if s["variant"] == v and s["mode"] == "writeback"]
    wb_dup = [s["double_cached_share_end"] for s in summary if s["mode"] == "writeback"
              and s["double_cached_share_end"] == s["double_cached_share_end"]]
    if wb_dup:
        lines.append(f"- Inclusive cache (writeback): {100 * min(wb_dup):.0f}-"
                     f"{100 * max(wb_dup):.0f}% of the images' host cache is double-cached at "
                     "job ends (median per job).")
    for m in singleton_modes:
        dup = [(v, j, by[(v, j, m)]) for v in variants for j in jobs(v) if (v, j, m) in by]
        if not dup:
            continue
        shares = [x["double_cached_share_end"] for _, _, x in dup
                  if x["double_cached_share_end"] == x["double_cached_share_end"]]
        worst = max(shares) if shares else float("nan")
        lines.append(f"- {m}: double-cached share of the host cache at job ends <= 5%: "
                     + ("met" if shares and worst <= 0.05 else "NOT met" if shares else "n/a")
                     + (f" (medians {100 * min(shares):.1f}-{100 * worst:.1f}%)" if shares else ""))
        low = [f"{v}/{j} {x['iops_x']:.2f}x" for v, j, x in dup if not x["iops_x"] >= 1.0]
        lines.append(f"- {m}: IOPS >= 1.0x writeback on every job: "
                     + ("met" if not low else "NOT met (" + ", ".join(low) + ")"))
        more = [f"{v}/{j} {x['device_read_x']:.2f}x" for v, j, x in dup
                if not x["device_read_x"] <= 1.0]
        lines.append(f"- {m}: device reads per byte fio read <= writeback's: "
                     + ("met" if not more else "NOT met (" + ", ".join(more) + ")"))
        vs = []
        for v, j, x in dup:
            nb = by.get((v, j, "none-bigger-guests"))
            if nb and nb["iops"]:
                vs.append(f"{v}/{j} {x['iops'] / nb['iops']:.2f}x")
        if vs:
            lines.append(f"- {m} vs none-bigger-guests (IOPS, medians): " + ", ".join(vs))
    return lines


def throttling_notes(exp):
    """What was throttled and how, in the words of the cgroup hierarchy the run used."""
    a = exp.args
    if exp.cgroup_version == "v2":
        return [
            f"- io.max (cgroup v2) on the image device {exp.device}, for all QEMU processes of "
            f"a run together (one shared disk): reads {a.read_iops} IOPS and {a.read_mibps} "
            f"MiB/s, writes {a.write_iops} IOPS and {a.write_mibps} MiB/s. cgroup v2 charges "
            "buffered writeback to the cgroup that dirtied the pages (memory and io "
            "controllers together, on ext4/xfs/btrfs): writes are throttled in every mode.",
            f"- memory (cgroup v2) on the same processes: after the warm-up, memory.high = "
            f"(their memory that is not page cache) + {a.host_cache_mib} MiB (shared variant: "
            f"{a.shared_host_cache_mib} MiB) + {a.cache_slack_mib} MiB slack, re-set every "
            f"{a.sample_interval} s because QEMU's anonymous memory (guest RAM, TCG code "
            "buffers, huge pages) moves by tens of MiB; memory.high reclaims and throttles a "
            "QEMU above it instead of killing it (memory.max stays max). There is no swap, so "
            "reclaim takes page cache only: the host page cache of the images stays within "
            "about that budget (its measured size is in the table and plots).",
        ]
    writes = (f"writes {a.write_iops} IOPS and {a.write_mibps} MiB/s"
              if a.write_iops or a.write_mibps else "writes not throttled")
    return [
        f"- blkio (cgroup v1) on the image device {exp.device}, for all QEMU processes of a "
        f"run together (one shared disk): reads {a.read_iops} IOPS and {a.read_mibps} MiB/s, "
        f"{writes}. cgroup v1 throttles only the writes QEMU submits itself (O_DIRECT with "
        "cache=none, and the writeback its fdatasync starts), never the kernel flusher's "
        "writeback of buffered writes: throttled writes would make a mode's write cost depend "
        "on who writes its dirty pages back (bench/README.md, the randrw regression), so by "
        "default v1 runs do not throttle writes.",
        f"- memory (cgroup v1) on the same processes: after the warm-up, limit = (their "
        f"memory that is not page cache) + {a.host_cache_mib} MiB (shared variant: "
        f"{a.shared_host_cache_mib} MiB) + {a.cache_slack_mib} MiB slack, re-set every "
        f"{a.sample_interval} s because QEMU's anonymous memory (guest RAM, TCG code buffers, "
        "huge pages) moves by tens of MiB; `memory.oom_control` = 1 so a QEMU that hits the "
        "limit waits for the next re-set instead of being killed. There is no swap, so "
        "reclaim takes page cache only: the host page cache of the images stays within about "
        "that budget (its measured size is in the table and plots)."
        + (f" Background reclaim: when the cache is within {a.reclaim_ahead_mib} MiB of the "
           f"limit, the sampler writes the limit {a.reclaim_ahead_mib} MiB lower and back "
           "(the kernel reclaims in the sampler's thread, as kswapd would on a host), so QEMU "
           "does not reclaim page by page at the limit in its I/O path."
           if getattr(a, "reclaim_ahead_mib", 0) else ""),
    ]


def memory_notes(exp):
    """Where the memory goes in each mode: the same total (guests' RAM + host cache budget)."""
    a = exp.args
    lines = []
    modes = [m for m in a.modes.split(",") if m in BY_NAME]
    for v in a.variants.split(","):
        budget = (a.host_cache_mib if v == "own" else a.shared_host_cache_mib)
        parts = []
        for m in modes:
            g, h = BY_NAME[m].memory(a.guests, a.guest_mem, budget)
            parts.append(f"{m} {a.guests} x {g} + {h}")
        lines.append(f"- {v}: {a.guests * a.guest_mem + budget} MiB in every mode (guests x RAM "
                     f"+ host cache budget, MiB): " + "; ".join(parts) + ".")
    return lines


def write(exp):
    """results.csv, summary.csv, README.md and the plots of `exp` (its results, runs, args)
    in exp.out."""
    rows = with_ratios(exp.results)
    write_csv(os.path.join(exp.out, "results.csv"), rows)
    modes = [m for m in ALL_MODES if any(r["mode"] == m for r in rows)]
    summary = summarize(rows, modes)
    exp.summary = summary
    write_csv(os.path.join(exp.out, "summary.csv"), summary, summary_columns())
    exp.table = table(summary)
    a = exp.args
    gnuplot = shutil.which("gnuplot")
    runs = max((r.get("run", 1) for r in rows), default=1)
    runs = int(runs) if runs == runs else 1
    notes = [
        f"# fio experiment {exp.stamp}", "",
        f"Command: `{exp.command}`" + (" (table rebuilt from results.csv by `--report-only`)"
                                       if exp.rereported else ""), "",
        f"Host: {os.uname().release}, {os.cpu_count()} CPUs; guests: {a.guests} x "
        f"{a.guest_mem} MiB RAM, kernel line {a.kernel}, accelerator "
        f"{open(os.path.join(exp.kit, 'accel')).read().strip()}; data set per guest "
        f"{a.data_mib} MiB (one file of random bytes on an ext4 image, 4 KiB blocks).", "",
        "Same total memory in every mode:",
        *memory_notes(exp), "",
        f"Runs: {runs} per mode: the guests boot once per variant x mode, warm up, then run the "
        f"job sequence {runs} times in a row (round N of a job is `rN-JOB` in runs/); each "
        "cell of the table is the median of the rounds with their min-max in brackets. "
        "Rounds within one boot, not separate boots: a boot and warm-up cost as much as a "
        "round here, and the rounds after the first start from the state the jobs leave "
        "(the steady state a long-running VM is in)."
        + (" `--quick`: shorter jobs and fewer rounds than the default, for development; "
           "its numbers are noisier." if getattr(a, "quick", False) else ""), "",
        "What was throttled and how:",
        *throttling_notes(exp),
        "- The kit's tools disk (fio) and the guests' script/result disks live on tmpfs: "
        "the device counters see the data images only. The warm-up is not throttled (it is "
        "not measured); the throttle is set with the memory limit before the first job.", "",
        "Ratios (`x`) are medians against mode writeback's medians of the same variant and "
        "job (results.csv also has per-round ratios against writeback's same round). `dev. "
        "read per fio byte x` compares device bytes per byte fio read (the jobs are "
        "time-based: a faster mode reads more bytes in all). Host hit "
        "= 1 - device read bytes / bytes QEMU read from the images (the guests' data-disk read "
        "counters; with cache=none the two are equal to the byte; `host_hit_ratio_rchar` in "
        "results.csv uses QEMU's read-syscall bytes, /proc/PID/io rchar, instead, which also "
        "count reads of the tools disk); system hit = 1 - "
        "device read bytes / bytes fio read in the guests (both clamped at 0: host readahead "
        "can read more than was asked). p99: read completion latency, mean over guests. "
        "Double-cached %: `singleton scan` (a dry run) at the end of the job, while the guests "
        "wait at the barrier: double-cached pages / cached pages of the images (and the "
        "shared backing file); not measured for cache=none. singleton CPU %: CPU time of the "
        "scrub passes (mode scrub) or of the `singleton watch` process (modes watch, "
        "watch-pressure) / wall time of the job (100 = one core).",
        "",
        exp.table, "",
        "Goals (from the medians above):",
        *goals(summary), "",
    ]
    for v, m, why in exp.skipped:
        notes.append(f"- mode {m} ({v}): not run: {why}")
    notes += ["", "Files: results.csv (every round of every job, all columns), summary.csv "
              "(median, min and max per variant, job and mode), runs/<variant>-<mode>/ (fio "
              "JSON per guest and job instance, timeseries.csv, scans.csv, scrub.jsonl, "
              "watch.log, guest consoles), *.png (plots)."]
    if not gnuplot:
        notes.append("Plots skipped: gnuplot is not installed (`--report-only` draws them "
                     "once it is).")
    with open(os.path.join(exp.out, "README.md"), "w") as f:
        f.write("\n".join(notes) + "\n")
    if gnuplot:
        plots(exp, summary)
    else:
        print("fio-experiment: gnuplot not installed: plots skipped", file=sys.stderr)


def plots(exp, summary):
    gp = os.path.join(EXP, "plots.gp")
    for variant in exp.args.variants.split(","):
        series = [(r.mode, os.path.join(r.dir, "timeseries.csv")) for r in exp.runs
                  if r.variant == variant and os.path.exists(os.path.join(r.dir, "timeseries.csv"))]
        if not series:
            continue
        scans = [(r.mode, os.path.join(r.dir, "scans.csv")) for r in exp.runs
                 if r.variant == variant and os.path.exists(os.path.join(r.dir, "scans.csv"))
                 and os.path.getsize(os.path.join(r.dir, "scans.csv")) > 200]
        rows = [s for s in summary if s["variant"] == variant]
        bars = os.path.join(exp.out, f"bars-{variant}.dat")
        jobs = list(dict.fromkeys(s["job"] for s in rows))
        modes = list(dict.fromkeys(s["mode"] for s in rows))
        with open(bars, "w") as f:
            f.write("job " + " ".join(f"{m}_iops {m}_min {m}_max {m}_host {m}_system"
                                      for m in modes) + "\n")
            for j in jobs:
                vals = []
                for m in modes:
                    s = next((x for x in rows if x["mode"] == m and x["job"] == j), None)
                    vals += ([f"{s['iops']:.1f}", f"{s['iops_min']:.1f}", f"{s['iops_max']:.1f}",
                              f"{s['host_hit_ratio']:.3f}", f"{s['system_hit_ratio']:.3f}"]
                             if s else ["0"] * 5)
                f.write(j + " " + " ".join(vals) + "\n")
        cmd = ["gnuplot", "-e", f"outdir='{exp.out}'; variant='{variant}'; "
               f"series='{' '.join(f'{m}={p}' for m, p in series)}'; "
               f"scans='{' '.join(f'{m}={p}' for m, p in scans)}'; "
               f"bars='{bars}'; nmodes={len(modes)}", gp]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"fio-experiment: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)


class SavedRun:
    """A finished run as write() needs it: variant, mode and its folder."""

    def __init__(self, variant, mode, d):
        self.variant, self.mode, self.dir = variant, mode, d


def load(exp, out):
    """Reads a results folder back into `exp` (results, runs, command, device, cgroup
    version) for --report-only. The parameters must be given as in the run."""
    exp.out = out
    exp.kit = exp.kit_src
    exp.summary = []
    exp.skipped = []
    exp.device = "(see the run's README)"
    exp.cgroup_version = "v1"  # reports written before cgroup v2 support say nothing
    with open(os.path.join(out, "README.md")) as f:
        for line in f:
            if line.startswith("Command: `"):
                exp.command = line.strip()[len("Command: `"):].split("`", 1)[0]
                exp.rereported = True
            if "on the image device " in line:
                exp.device = line.split("on the image device ", 1)[1].split(",", 1)[0]
            if "(cgroup v2)" in line:
                exp.cgroup_version = "v2"
            # The write throttle as the run had it, unless given.
            w = re.search(r"writes (\d+) IOPS and (\d+) MiB/s", line)
            if w and exp.args.write_iops is None and exp.args.write_mibps is None:
                exp.args.write_iops, exp.args.write_mibps = int(w.group(1)), int(w.group(2))
            if "writes not throttled" in line and exp.args.write_iops is None:
                exp.args.write_iops = exp.args.write_mibps = 0
            # Runs from before background reclaim had none.
            if line.startswith("- memory (cgroup") and "Background reclaim" not in line:
                exp.args.reclaim_ahead_mib = 0
            if "Background reclaim: when the cache is within " in line:
                exp.args.reclaim_ahead_mib = int(line.split(
                    "Background reclaim: when the cache is within ", 1)[1].split()[0])
    exp.resolve_throttle()
    numeric = lambda v: float(v) if v not in ("", "n/a", "inf") else float("nan")
    with open(os.path.join(out, "results.csv")) as f:
        for row in csv.DictReader(f):
            r = {k: (v if k in ("variant", "job", "mode", "fio_ios_per_guest") else numeric(v))
                 for k, v in row.items()}
            # Reports from before --runs have one round and no `run` column.
            r["run"] = int(r["run"]) if r.get("run") == r.get("run") and "run" in r else 1
            if "round_seed" in r and r["round_seed"] == r["round_seed"]:  # present, not NaN
                r["round_seed"] = int(r["round_seed"])
            dev, guest = r["device_read_mib"], r["guest_disk_read_mib"]
            rchar, fio_read = r["qemu_read_syscall_mib"], r["fio_read_mib"]
            r["host_hit_ratio"] = max(0.0, 1 - dev / guest) if guest else 0.0
            r["host_hit_ratio_rchar"] = max(0.0, 1 - dev / rchar) if rchar else 0.0
            r["system_hit_ratio"] = max(0.0, 1 - dev / fio_read) if fio_read else 0.0
            r["device_read_per_fio_read"] = dev / fio_read if fio_read else float("nan")
            for k in ("cache_reduction_x", "host_hit_ratio_x", "system_hit_ratio_x", "throughput_x"):
                r.pop(k, None)
            exp.results.append(r)
    seen = []
    for r in exp.results:
        if (r["variant"], r["mode"]) not in seen:
            seen.append((r["variant"], r["mode"]))
    exp.runs = [SavedRun(v, m, os.path.join(out, "runs", f"{v}-{m}")) for v, m in seen]
    exp.args.variants = ",".join(dict.fromkeys(v for v, _ in seen))

"""The report of an experiment: results.csv, README.md (what was done, the table) and plots.

write() takes the job rows an experiment collected (or that load() read back from a results
folder, for --report-only: the ratios are recomputed from the raw byte columns) and writes
everything in the results folder. Plots need gnuplot; without it they are skipped with a note
in README.md and on stderr, and the rest of the report is written all the same.
"""
import csv
import os
import shutil
import subprocess
import sys

from .common import ALL_JOBS, EXP
from .modes import ALL_MODES

CSV_COLUMNS = [
    "variant", "job", "mode", "iops", "bw_mib_s", "lat_p50_us", "lat_p99_us",
    "host_cache_mean_mib", "host_cache_end_mib", "cache_reduction_x",
    "host_hit_ratio", "host_hit_ratio_x", "host_hit_ratio_rchar", "system_hit_ratio",
    "system_hit_ratio_x", "throughput_x", "scrub_cpu_pct", "freed_mib", "fio_read_mib",
    "fio_write_mib", "guest_disk_read_mib", "qemu_read_syscall_mib", "device_read_mib",
    "device_write_mib", "scrub_cpu_s", "wall_s"]
# The table of README.md: (heading, column).
TABLE = [
    ("variant", "variant"), ("job", "job"), ("mode", "mode"), ("IOPS", "iops"),
    ("MiB/s", "bw_mib_s"), ("p50 µs", "lat_p50_us"), ("p99 µs", "lat_p99_us"),
    ("host cache MiB (mean)", "host_cache_mean_mib"), ("cache reduction x", "cache_reduction_x"),
    ("host hit", "host_hit_ratio"), ("host hit x", "host_hit_ratio_x"),
    ("system hit", "system_hit_ratio"), ("system hit x", "system_hit_ratio_x"),
    ("throughput x", "throughput_x"), ("singleton CPU %", "scrub_cpu_pct"),
    ("freed MiB", "freed_mib")]


def fmt(v):
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v == float("inf"):
            return "inf"
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def with_ratios(results):
    """The rows, each with its ratios to mode writeback of the same variant and job."""
    rows = []
    base = {(r["variant"], r["job"]): r for r in results if r["mode"] == "writeback"}
    for r in results:
        b = base.get((r["variant"], r["job"]))
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


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([fmt(r.get(c, "")) for c in CSV_COLUMNS])


def table(rows):
    md = [" | ".join(h for h, _ in TABLE), "|".join(["---"] * len(TABLE))]
    for r in rows:
        md.append(" | ".join(fmt(r.get(c, "")) for _, c in TABLE))
    return "\n".join(md)


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
    return [
        f"- blkio (cgroup v1) on the image device {exp.device}, for all QEMU processes of a "
        f"run together (one shared disk): reads {a.read_iops} IOPS and {a.read_mibps} MiB/s, "
        f"writes {a.write_iops} IOPS and {a.write_mibps} MiB/s. Buffered writes are written "
        "back by kernel flusher threads, which cgroup v1 does not charge to the cgroup: only "
        "reads and O_DIRECT writes (cache=none) are throttled.",
        f"- memory (cgroup v1) on the same processes: after the warm-up, limit = (their "
        f"memory that is not page cache) + {a.host_cache_mib} MiB (shared variant: "
        f"{a.shared_host_cache_mib} MiB) + {a.cache_slack_mib} MiB slack, re-set every "
        f"{a.sample_interval} s because QEMU's anonymous memory (guest RAM, TCG code buffers, "
        "huge pages) moves by tens of MiB; `memory.oom_control` = 1 so a QEMU that hits the "
        "limit waits for the next re-set instead of being killed. There is no swap, so "
        "reclaim takes page cache only: the host page cache of the images stays within about "
        "that budget (its measured size is in the table and plots).",
    ]


def write(exp):
    """results.csv, README.md and the plots of `exp` (its results, runs, args) in exp.out."""
    rows = with_ratios(exp.results)
    write_csv(os.path.join(exp.out, "results.csv"), rows)
    exp.table = table(rows)
    a = exp.args
    gnuplot = shutil.which("gnuplot")
    notes = [
        f"# fio experiment {exp.stamp}", "",
        f"Command: `{exp.command}`" + (" (table rebuilt from results.csv by `--report-only`)"
                                       if exp.rereported else ""), "",
        f"Host: {os.uname().release}, {os.cpu_count()} CPUs; guests: {a.guests} x "
        f"{a.guest_mem} MiB RAM, kernel line {a.kernel}, accelerator "
        f"{open(os.path.join(exp.kit, 'accel')).read().strip()}; data set per guest "
        f"{a.data_mib} MiB (one file of random bytes on an ext4 image, 4 KiB blocks).", "",
        "What was throttled and how:",
        *throttling_notes(exp),
        "- The kit's tools disk (fio) and the guests' script/result disks live on tmpfs: "
        "the device counters see the data images only.", "",
        "Ratios (`x`) are against mode writeback of the same variant and job. Host hit = 1 - "
        "device read bytes / bytes QEMU read from the images (the guests' data-disk read "
        "counters; with cache=none the two are equal to the byte; `host_hit_ratio_rchar` in "
        "results.csv uses QEMU's read-syscall bytes, /proc/PID/io rchar, instead, which also "
        "count reads of the tools disk); system hit = 1 - "
        "device read bytes / bytes fio read in the guests (both clamped at 0: host readahead "
        "can read more than was asked). p50/p99: read completion latency, mean over guests. "
        "singleton CPU %: CPU time of the scrub passes (mode scrub) or of the `singleton watch` process (mode watch) / wall time of the job (100 = one core).",
        "",
        exp.table, "",
    ]
    for v, m, why in exp.skipped:
        notes.append(f"- mode {m} ({v}): not run: {why}")
    notes += ["", "Files: results.csv (all columns), runs/<variant>-<mode>/ (fio JSON per guest "
              "and job, timeseries.csv, scrub.jsonl, guest consoles), *.png (plots)."]
    if not gnuplot:
        notes.append("Plots skipped: gnuplot is not installed (`--report-only` draws them "
                     "once it is).")
    with open(os.path.join(exp.out, "README.md"), "w") as f:
        f.write("\n".join(notes) + "\n")
    if gnuplot:
        plots(exp)
    else:
        print("fio-experiment: gnuplot not installed: plots skipped", file=sys.stderr)


def plots(exp):
    gp = os.path.join(EXP, "plots.gp")
    for variant in exp.args.variants.split(","):
        series = [(r.mode, os.path.join(r.dir, "timeseries.csv")) for r in exp.runs
                  if r.variant == variant and os.path.exists(os.path.join(r.dir, "timeseries.csv"))]
        if not series:
            continue
        bars = os.path.join(exp.out, f"bars-{variant}.dat")
        jobs = sorted({r["job"] for r in exp.results if r["variant"] == variant},
                      key=lambda j: ALL_JOBS.index(j))
        modes = [m for m in ALL_MODES if any(r["mode"] == m and r["variant"] == variant
                                             for r in exp.results)]
        with open(bars, "w") as f:
            f.write("job " + " ".join(f"{m}_iops {m}_host {m}_system" for m in modes) + "\n")
            for j in jobs:
                vals = []
                for m in modes:
                    r = next((x for x in exp.results if x["variant"] == variant
                              and x["mode"] == m and x["job"] == j), None)
                    vals += [f"{r['iops']:.1f}", f"{r['host_hit_ratio']:.3f}",
                             f"{r['system_hit_ratio']:.3f}"] if r else ["0", "0", "0"]
                f.write(j + " " + " ".join(vals) + "\n")
        cmd = ["gnuplot", "-e", f"outdir='{exp.out}'; variant='{variant}'; "
               f"series='{' '.join(f'{m}={p}' for m, p in series)}'; "
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
    numeric = lambda v: float(v) if v not in ("", "n/a", "inf") else float("nan")
    with open(os.path.join(out, "results.csv")) as f:
        for row in csv.DictReader(f):
            r = {k: (v if k in ("variant", "job", "mode") else numeric(v)) for k, v in row.items()}
            dev, guest = r["device_read_mib"], r["guest_disk_read_mib"]
            rchar, fio_read = r["qemu_read_syscall_mib"], r["fio_read_mib"]
            r["host_hit_ratio"] = max(0.0, 1 - dev / guest) if guest else 0.0
            r["host_hit_ratio_rchar"] = max(0.0, 1 - dev / rchar) if rchar else 0.0
            r["system_hit_ratio"] = max(0.0, 1 - dev / fio_read) if fio_read else 0.0
            for k in ("cache_reduction_x", "host_hit_ratio_x", "system_hit_ratio_x", "throughput_x"):
                r.pop(k, None)
            exp.results.append(r)
    seen = []
    for r in exp.results:
        if (r["variant"], r["mode"]) not in seen:
            seen.append((r["variant"], r["mode"]))
    exp.runs = [SavedRun(v, m, os.path.join(out, "runs", f"{v}-{m}")) for v, m in seen]
    exp.args.variants = ",".join(dict.fromkeys(v for v, _ in seen))

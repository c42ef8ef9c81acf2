"""Host counters of a run and what they mean per job.

read_counters() takes one sample (device bytes and I/Os from the cgroup, the cgroup's memory
with its dirty and writeback pages and how often it hit its limit, QEMU's read-syscall bytes,
the images' page cache, singleton's CPU and evicted pages); a run takes one at each job
boundary (its marks) and one every --sample-interval s (timeseries.csv).
scan_duplicates() runs `singleton scan --json` (a dry run) over the run's guests: how many of
the images' cached pages the guests hold too. It costs about a second of CPU under TCG, so it
runs at the job boundaries only, while the guests wait at the barrier (scans.csv).
job_result() turns the marks around one job, the samples within it and the guests' fio JSON
into the row of that job in results.csv.
"""
import csv
import json
import os
import subprocess
import time

from .cachestat import cached_bytes, cached_runs
from .common import MIB, PAGE


def read_kv_colon(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, v = line.split(":")
            out[k.strip()] = int(v)
    return out


def proc_io(pid):
    try:
        return read_kv_colon(f"/proc/{pid}/io")
    except OSError:
        return None


def proc_cpu_seconds(pid):
    """user+system CPU seconds of a live process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_counters(run):
    """One sample of the run's counters (bytes; `evicted` in pages)."""
    t = time.time() - run.t0
    dev = run.cg.device_io()
    mem = run.cg.memory()
    rchar = wchar = 0
    for g in run.guests.guests:
        io = proc_io(g["qemu_pid"]) if g["qemu_pid"] else None
        if io:
            rchar += io["rchar"]
            wchar += io["wchar"]
    caches = {os.path.basename(f): cached_bytes(f) for f in run.guests.images()}
    ev = run.cg.pressure_events()
    h = run.helper
    return {"t": t, "dev_read": dev[0], "dev_write": dev[1], "dev_read_ios": dev[2],
            "dev_write_ios": dev[3], "rchar": rchar, "wchar": wchar,
            "image_cache": sum(caches.values()), "caches": caches,
            "cg_cache": mem["cache"], "cg_rss": mem["rss"], "cg_dirty": mem.get("dirty", 0),
            "cg_writeback": mem.get("writeback", 0), "limit_hits": ev["limit_hits"],
            "limit_waiting": ev["waiting"],
            "scrub_cpu": h.cpu_seconds() if h else 0.0,
            "evicted": h.evicted_pages() if h else 0}


def cache_layout(run):
    """Cached pages and runs of contiguous cached pages over the run's images (at the job
    boundaries: a mincore(2) pass over every image)."""
    pages = runs = 0
    for f in run.guests.images():
        p, r = cached_runs(f)
        pages += p
        runs += r
    return {"pages": pages, "runs": runs}


def scan_summary(report):
    """The totals of a `singleton scan --json` report that say how much is double-cached."""
    t = report["totals"]
    return {"cached_pages": t["cached_pages_before"],
            "double_cached_pages": t["double_cached_pages"],
            "partial_folio_pages": t.get("partial_folio_pages", 0),
            "skipped_pages": t.get("skipped_pages", 0),
            "dirty_pages": t.get("skipped_by_reason", {}).get("dirty", 0),
            "writeback_pages": t.get("skipped_by_reason", {}).get("writeback", 0)}


def scan_duplicates(run, job):
    """`singleton scan --json` over the run's guests (dry run: adds and evicts nothing) with
    its own lock file (SINGLETON_LOCK_FILE), so it neither waits for nor blocks the mode's
    scrub/watch passes. The summary (scan_summary), with the time and wall time of the scan;
    on failure only those and `error`."""
    from .modes import singleton_cmd  # modes imports this module
    start = time.time()
    env = dict(os.environ, SINGLETON_LOCK_FILE=os.path.join(run.exp.scan_lock_dir, "pass.lock"))
    rec = {"t": start - run.t0, "job": job}
    try:
        p = subprocess.run(singleton_cmd(run, "scan"), capture_output=True, text=True,
                           env=env, timeout=120)
        rec.update(scan_summary(json.loads(p.stdout)))
        if p.returncode != 0:
            rec["error"] = f"rc {p.returncode}: {p.stderr.strip()[-300:]}"
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as e:
        rec["error"] = str(e)[-300:]
    rec["wall_s"] = time.time() - start
    return rec


SCAN_COLUMNS = ["t_s", "job", "cached_mib", "double_cached_mib", "double_cached_share",
                "partial_folio_mib", "dirty_mib", "writeback_mib", "scan_wall_s", "error"]


def write_scans(path, scans):
    """scans.csv: one `singleton scan` per job boundary; `job` is the job about to start."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SCAN_COLUMNS)
        for s in scans:
            c = s.get("cached_pages")
            mib = lambda k: f"{s[k] * PAGE / MIB:.1f}" if k in s else ""
            w.writerow([f"{s['t']:.1f}", s["job"], mib("cached_pages"),
                        mib("double_cached_pages"),
                        f"{s['double_cached_pages'] / c:.3f}" if c else "",
                        mib("partial_folio_pages"), mib("dirty_pages"), mib("writeback_pages"),
                        f"{s['wall_s']:.2f}", s.get("error", "")])


TIMESERIES_COLUMNS = ["t_s", "job", "image_cache_mib", "cgroup_cache_mib", "cgroup_rss_mib",
                      "device_read_mib", "qemu_read_syscall_mib", "scrub_cpu_s", "evicted_mib",
                      "cgroup_dirty_mib", "cgroup_writeback_mib", "device_write_mib",
                      "limit_hits", "limit_waiting"]


def write_timeseries(path, samples):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TIMESERIES_COLUMNS)
        for s in samples:
            w.writerow([f"{s['t']:.1f}", s["job"], f"{s['image_cache'] / MIB:.1f}",
                        f"{s['cg_cache'] / MIB:.1f}", f"{s['cg_rss'] / MIB:.1f}",
                        f"{s['dev_read'] / MIB:.1f}", f"{s['rchar'] / MIB:.1f}",
                        f"{s['scrub_cpu']:.2f}", f"{s['evicted'] * PAGE / MIB:.1f}",
                        f"{s.get('cg_dirty', 0) / MIB:.1f}",
                        f"{s.get('cg_writeback', 0) / MIB:.1f}",
                        f"{s.get('dev_write', 0) / MIB:.1f}", s.get("limit_hits", 0),
                        s.get("limit_waiting", 0)])


def fio_json(path):
    with open(path) as f:
        text = f.read()
    return json.loads(text[text.index("{"):])


def job_result(variant, mode, job, a, b, samples, guest_dirs, inst=None):
    """Metrics of one job window (all guests together): `a`, `b` the counters at its start and
    end, `samples` the run's time series, `guest_dirs` each guest's extracted out disk, `inst`
    the job instance whose files to read there (default: `job`). Both marks may carry the
    `singleton scan` of their boundary (`scan`): the double-cached share at the job's start
    and end."""
    inst = inst or job
    wall = b["t"] - a["t"]
    r = {"variant": variant, "mode": mode, "job": job, "wall_s": wall}
    iops = bw = rbytes = wbytes = 0
    p50s, p99s, guest_disk = [], [], 0
    guest_disk_write = flush_ms = 0
    ios_each = []
    for d in guest_dirs:
        jb = fio_json(os.path.join(d, f"{inst}.json"))["jobs"][0]
        ios_each.append(jb["read"].get("total_ios", 0) + jb["write"].get("total_ios", 0))
        for kind in ("read", "write"):
            x = jb[kind]
            iops += x["iops"]
            bw += x["bw_bytes"]
        rbytes += jb["read"]["io_bytes"]
        wbytes += jb["write"]["io_bytes"]
        pct = jb["read"].get("clat_ns", {}).get("percentile", {})
        if pct:
            p50s.append(pct.get("50.000000", 0) / 1000)
            p99s.append(pct.get("99.000000", 0) / 1000)
        with open(os.path.join(d, f"{inst}.blkstat0")) as f:
            s0 = f.read().split()
        with open(os.path.join(d, f"{inst}.blkstat1")) as f:
            s1 = f.read().split()
        guest_disk += (int(s1[2]) - int(s0[2])) * 512
        guest_disk_write += (int(s1[6]) - int(s0[6])) * 512
        # Fields 16-17 (kernel 5.5+): flushes completed and ms spent flushing.
        if len(s0) >= 17 and len(s1) >= 17:
            flush_ms = max(flush_ms, int(s1[16]) - int(s0[16]))
    dev_read = b["dev_read"] - a["dev_read"]
    rchar = b["rchar"] - a["rchar"]
    win = [s for s in samples if a["t"] <= s["t"] <= b["t"]]
    cache_mean = (sum(s["image_cache"] for s in win) / len(win)) if win else b["image_cache"]
    r.update({
        # Each guest's reads and writes (';'-separated): the guests' rates differ, and a
        # time-based job that replays offsets depends on how far each got (sg-sim --calibrate).
        "fio_ios_per_guest": ";".join(str(n) for n in ios_each),
        "iops": iops, "bw_mib_s": bw / MIB,
        "lat_p50_us": sum(p50s) / len(p50s) if p50s else 0,
        "lat_p99_us": sum(p99s) / len(p99s) if p99s else 0,
        "fio_read_mib": rbytes / MIB, "fio_write_mib": wbytes / MIB,
        "guest_disk_read_mib": guest_disk / MIB,
        "qemu_read_syscall_mib": rchar / MIB,
        "device_read_mib": dev_read / MIB,
        "device_write_mib": (b["dev_write"] - a["dev_write"]) / MIB,
        # Host hit ratio: share of the bytes QEMU read from the image (= what the guests'
        # data disks read, their block-layer counters) that did not come from the device.
        "host_hit_ratio": max(0.0, 1 - dev_read / guest_disk) if guest_disk else 0.0,
        # The same from QEMU's read-syscall bytes (/proc/PID/io rchar): a few MiB higher,
        # as rchar also counts the guests' re-reads of fio from the tools disk (tmpfs).
        "host_hit_ratio_rchar": max(0.0, 1 - dev_read / rchar) if rchar else 0.0,
        # System hit ratio: share of the bytes the guests' fio read that needed no device read.
        "system_hit_ratio": max(0.0, 1 - dev_read / rbytes) if rbytes else 0.0,
        "host_cache_mean_mib": cache_mean / MIB,
        "host_cache_end_mib": b["image_cache"] / MIB,
        "scrub_cpu_s": b["scrub_cpu"] - a["scrub_cpu"],
        "scrub_cpu_pct": 100 * (b["scrub_cpu"] - a["scrub_cpu"]) / wall if wall else 0,
        "freed_mib": (b["evicted"] - a["evicted"]) * PAGE / MIB,
        # Evidence for what the jobs cost besides reads: how many reads reached the device
        # (their mean size: small when the host cache is fragmented), what the guests
        # wrote and how long their flushes (fio end_fsync -> QEMU fdatasync) took, the
        # cgroup's dirty/writeback pages and the times it hit its memory limit.
        "device_read_ios": b.get("dev_read_ios", 0) - a.get("dev_read_ios", 0),
        "guest_disk_write_mib": guest_disk_write / MIB,
        "guest_flush_ms": flush_ms,
        "limit_hits": b.get("limit_hits", 0) - a.get("limit_hits", 0),
    })
    # Device bytes per byte fio read: what the goal "device reads <= writeback's" compares
    # (a faster mode of a time-based job reads more bytes in all).
    r["device_read_per_fio_read"] = dev_read / rbytes if rbytes else float("nan")
    ios = r["device_read_ios"]
    r["device_read_kib_per_io"] = dev_read / 1024 / ios if ios else 0.0
    dirty = [s.get("cg_dirty", 0) for s in win]
    r["cgroup_dirty_max_mib"] = max(dirty) / MIB if dirty else 0.0
    wb = [s.get("cg_writeback", 0) for s in win]
    r["cgroup_writeback_max_mib"] = max(wb) / MIB if wb else 0.0
    lay = a.get("layout") or {}
    # Mean length of a run of contiguous cached pages at the job's start (KiB).
    r["cache_run_kib_start"] = (lay["pages"] * PAGE / 1024 / lay["runs"] if lay.get("runs")
                                else float("nan"))
    for edge, m in (("start", a), ("end", b)):
        sc = m.get("scan") or {}
        c = sc.get("cached_pages")
        r[f"double_cached_share_{edge}"] = (sc["double_cached_pages"] / c if c else
                                            float("nan"))
        r[f"double_cached_mib_{edge}"] = (sc["double_cached_pages"] * PAGE / MIB
                                          if "double_cached_pages" in sc else float("nan"))
    return r

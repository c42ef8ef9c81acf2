"""Host counters of a run and what they mean per job.

read_counters() takes one sample (device bytes from the cgroup, the cgroup's memory, QEMU's
read-syscall bytes, the images' page cache, singleton's CPU and evicted pages); a run takes
one at each job boundary (its marks) and one every --sample-interval s (timeseries.csv).
job_result() turns the marks around one job, the samples within it and the guests' fio JSON
into the row of that job in results.csv.
"""
import csv
import json
import os
import time

from .cachestat import cached_bytes
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
    h = run.helper
    return {"t": t, "dev_read": dev[0], "dev_write": dev[1], "dev_read_ios": dev[2],
            "dev_write_ios": dev[3], "rchar": rchar, "wchar": wchar,
            "image_cache": sum(caches.values()), "caches": caches,
            "cg_cache": mem["cache"], "cg_rss": mem["rss"],
            "scrub_cpu": h.cpu_seconds() if h else 0.0,
            "evicted": h.evicted_pages() if h else 0}


TIMESERIES_COLUMNS = ["t_s", "job", "image_cache_mib", "cgroup_cache_mib", "cgroup_rss_mib",
                      "device_read_mib", "qemu_read_syscall_mib", "scrub_cpu_s", "evicted_mib"]


def write_timeseries(path, samples):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TIMESERIES_COLUMNS)
        for s in samples:
            w.writerow([f"{s['t']:.1f}", s["job"], f"{s['image_cache'] / MIB:.1f}",
                        f"{s['cg_cache'] / MIB:.1f}", f"{s['cg_rss'] / MIB:.1f}",
                        f"{s['dev_read'] / MIB:.1f}", f"{s['rchar'] / MIB:.1f}",
                        f"{s['scrub_cpu']:.2f}", f"{s['evicted'] * PAGE / MIB:.1f}"])


def job_result(variant, mode, job, a, b, samples, guest_dirs):
    """Metrics of one job window (all guests together): `a`, `b` the counters at its start and
    end, `samples` the run's time series, `guest_dirs` each guest's extracted out disk."""
    wall = b["t"] - a["t"]
    r = {"variant": variant, "mode": mode, "job": job, "wall_s": wall}
    iops = bw = rbytes = wbytes = 0
    p50s, p99s, guest_disk = [], [], 0
    for d in guest_dirs:
        with open(os.path.join(d, f"{job}.json")) as f:
            text = f.read()
        fj = json.loads(text[text.index("{"):])
        jb = fj["jobs"][0]
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
        with open(os.path.join(d, f"{job}.blkstat0")) as f:
            s0 = f.read().split()
        with open(os.path.join(d, f"{job}.blkstat1")) as f:
            s1 = f.read().split()
        guest_disk += (int(s1[2]) - int(s0[2])) * 512
    dev_read = b["dev_read"] - a["dev_read"]
    rchar = b["rchar"] - a["rchar"]
    win = [s for s in samples if a["t"] <= s["t"] <= b["t"]]
    cache_mean = (sum(s["image_cache"] for s in win) / len(win)) if win else b["image_cache"]
    r.update({
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
    })
    return r

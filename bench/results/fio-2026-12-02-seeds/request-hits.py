#!/usr/bin/python3
"""Per round of the random-read jobs of a fio-experiment results folder WITH its runs/ folders:
host hits counted by request besides results.csv's byte-based host hit, and the host readahead
bursts that make the two differ. Writes CSV to stdout:
  python3 request-hits.py RESULTS_DIR > request-hits.csv
Columns (per variant, job, mode, round):
- guest_read_requests: the guests' data-disk reads (field 1 of blkstat1 - blkstat0, both guests)
- guest_kib_per_request: their size (field 3 sectors / field 1)
- device_read_ios, device_read_mib: results.csv (the throttled device, all QEMUs of the run)
- host_hit_bytes: results.csv's host_hit_ratio (1 - device bytes / guest bytes, clamped at 0)
- host_hit_requests: 1 - device I/Os / guest read requests (the share of the guests' reads that
  needed no device I/O of their own; a lower bound: a readahead I/O serves no guest request)
- burst_mib: the device MiB of the job's 0.5-s samples (timeseries.csv) in which the device
  read over 2 MiB more than QEMU's read syscalls asked (rchar): host readahead; at the steady
  ~300 I/Os a second of 4 KiB a sample reads ~0.6 MiB
- host_hit_bytes_without_bursts: 1 - (device bytes - burst bytes) / guest bytes
- cached_mib_start, double_cached_mib_start, host_only_mib_start: `singleton scan` at the job's
  start (scans.csv; not for cache=none)
- iops, iops_x_same_round: results.csv, and iops / writeback's in the same round
"""
import csv
import os
import sys

d = sys.argv[1]
res = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
wb = {(r["variant"], r["job"], r["run"]): r for r in res if r["mode"] == "writeback"}
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["variant", "job", "mode", "run", "round_seed", "guest_read_requests",
              "guest_kib_per_request", "device_read_ios", "device_read_mib", "host_hit_bytes",
              "host_hit_requests", "burst_mib", "host_hit_bytes_without_bursts",
              "cached_mib_start", "double_cached_mib_start", "host_only_mib_start", "iops",
              "iops_x_same_round"])
for r in res:
    if r["job"] == "seqread":
        continue
    run_dir = os.path.join(d, "runs", f"{r['variant']}-{r['mode']}")
    inst = f"r{r['run']}-{r['job']}"
    n = sectors = 0
    for g in sorted(x for x in os.listdir(run_dir) if x.startswith("guest") and
                    os.path.isdir(os.path.join(run_dir, x))):
        a = open(os.path.join(run_dir, g, f"{inst}.blkstat0")).read().split()
        b = open(os.path.join(run_dir, g, f"{inst}.blkstat1")).read().split()
        n += int(b[0]) - int(a[0])
        sectors += int(b[2]) - int(a[2])
    ts = list(csv.DictReader(open(os.path.join(run_dir, "timeseries.csv"))))
    burst = 0.0
    for i, s in enumerate(ts):
        if s["job"] == inst and i > 0:
            step = float(s["device_read_mib"]) - float(ts[i - 1]["device_read_mib"])
            asked = float(s["qemu_read_syscall_mib"]) - float(ts[i - 1]["qemu_read_syscall_mib"])
            if step - asked > 2:
                burst += step
    scan = {}
    sp = os.path.join(run_dir, "scans.csv")
    if os.path.exists(sp):
        scan = {s["job"]: s for s in csv.DictReader(open(sp))}.get(inst, {})
    dev = float(r["device_read_mib"])
    guest = float(r["guest_disk_read_mib"])
    ios = float(r["device_read_ios"])
    cached = scan.get("cached_mib")
    dup = scan.get("double_cached_mib")
    w = wb[(r["variant"], r["job"], r["run"])]
    out.writerow([r["variant"], r["job"], r["mode"], r["run"], r["round_seed"], n,
                  f"{sectors * 512 / 1024 / n:.2f}", int(ios), f"{dev:.1f}",
                  r["host_hit_ratio"], f"{1 - ios / n:.3f}", f"{burst:.1f}",
                  f"{1 - (dev - burst) / guest:.3f}",
                  cached or "n/a", dup or "n/a",
                  f"{float(cached) - float(dup):.1f}" if cached else "n/a",
                  r["iops"], f"{float(r['iops']) / float(w['iops']):.3f}"])

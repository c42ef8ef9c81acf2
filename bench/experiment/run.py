"""The experiment: shared set-up, then one Run per variant x mode, in sequence.

Experiment.setup() makes the pristine data images (on the device to throttle) and the kit on
tmpfs; run_all() runs every variant x mode that is usable here and keeps each job's row;
cleanup() (also on errors and signals) kills what is left and removes cgroups and images.
A Run: fresh images, its cgroup, the guests (RAM per the mode: modes.Mode.memory), an
unthrottled warm-up, then --runs rounds of the job sequence in lock step (a job instance is
`rN-JOB`): counters at each boundary and a `singleton scan` (what share of the images' host
cache the guests hold too; the guests wait at the barrier meanwhile), the throttle, memory
limit and the mode's helper from the first measured job on, a sampler thread in between.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from . import cgroups
from .cachestat import drop_host_cache
from .common import ALL_JOBS, MIB, REPO
from .guests import GuestSet, round_seed
from .modes import BY_NAME
from .samples import (cache_layout, job_result, read_counters, scan_duplicates, write_scans,
                      write_timeseries)


def instance(job, rnd):
    """The name of round `rnd` (1-based) of `job`: barrier, fio output and marks key. The
    guest's `sg_wait` matches `go NAME` as a substring: no name is a substring of another."""
    return f"r{rnd}-{job}"


class Run:
    """One variant x one mode."""
    current_job = "boot"

    def __init__(self, exp, variant, mode):
        self.exp, self.variant, self.mode, self.a = exp, variant, mode, exp.args
        self.spec = BY_NAME[mode]
        self.name = f"sgb{exp.stamp_short}-{variant}-{mode}"
        self.dir = os.path.join(exp.out, "runs", f"{variant}-{mode}")
        os.makedirs(self.dir, exist_ok=True)
        kinds = exp.jobs if variant == "own" else ["randread-uniform"]
        # (instance, job, round): the warm-up, then --runs rounds of the job sequence.
        self.plan = [("warm", "warm", 0)] + [(instance(j, r), j, r)
                                             for r in range(1, self.a.runs + 1) for j in kinds]
        self.jobs = [p[0] for p in self.plan]
        self.guest_mib, self.budget_mib = self.spec.memory(
            self.a.guests, self.a.guest_mem, exp.host_cache_budget(variant) // MIB)
        self.guests = GuestSet(exp, self.name, variant, self.plan, self.dir, self.guest_mib)
        self.samples = []         # time series
        self.marks = {}           # job -> counters at its start
        self.helper = None        # the mode's ScrubLoop / WatchDaemon, from the first job on
        self.sampler = None
        self.stop_threads = threading.Event()
        self.t0 = None
        self.cg = None
        self.limit = None
        self.budget = None        # host page cache bound, set after the warm-up
        self.scans = []           # one `singleton scan` summary per job boundary

    def counters(self):
        return read_counters(self)

    def sample_loop(self):
        while not self.stop_threads.wait(self.a.sample_interval):
            try:
                c = self.counters()
            except (OSError, ValueError):
                continue
            c["job"] = self.current_job
            self.samples.append(c)
            if self.budget is not None:
                self.limit = self.cg.limit_cache_to(self.budget + self.a.cache_slack_mib * MIB,
                                                    self.a.reclaim_ahead_mib * MIB)

    def scan(self, job):
        """`singleton scan` at the boundary before `job` (the guests wait at the barrier):
        how much of the images' host cache the guests hold too. Modes without host cache
        (cache=none) are not scanned."""
        if self.spec.cache == "none" or not self.exp.has_command.get("scan"):
            return None
        s = scan_duplicates(self, job)
        self.scans.append(s)
        return s

    def execute(self):
        exp, g = self.exp, self.guests
        exp.progress(f"{self.variant}/{self.mode}: fresh images, cgroups; guests "
                     f"{self.a.guests} x {self.guest_mib} MiB, host cache budget "
                     f"{self.budget_mib} MiB")
        # No throttle during the warm-up (it is not measured): set after it.
        self.cg = cgroups.open_cgroup(self.name, exp.device, {}, exp.cgroup_root)
        exp.cgroups.append(self.cg)
        g.prepare_images()
        self.t0 = time.time()
        g.start(self.spec.cache, self.cg.enter)
        exp.runs.append(self)
        g.wait_barrier("warm", 300)
        self.current_job = "warm"
        self.marks["warm"] = self.counters()
        self.sampler = threading.Thread(target=self.sample_loop, daemon=True)
        self.sampler.start()
        exp.progress(f"{self.variant}/{self.mode}: booted in {time.time() - self.t0:.0f} s; "
                     f"warm-up (one sequential pass over {self.a.data_mib} MiB per guest, "
                     "unthrottled)")
        g.release("warm")
        for job in self.jobs[1:] + ["end"]:
            g.wait_barrier(job, 900)
            self.marks[job] = self.counters()
            if job == self.jobs[1]:
                self.cg.throttle(exp.throttle)
                budget = self.budget_mib * MIB
                self.limit = self.cg.limit_cache_to(budget + self.a.cache_slack_mib * MIB)
                self.budget = budget
                self.marks["limit"] = {"budget": budget, "limit": self.limit,
                                       "guest_mib": self.guest_mib, **self.cg.memory()}
            # The first job's scan sees the cache after the limit's reclaim, before the helper.
            scan = self.scan(job)
            if job == self.jobs[1]:
                if self.spec.helper:
                    self.helper = self.spec.helper(self)
                    self.helper.start()
                # The limit's reclaim happens now; the job's window starts after it.
                self.marks[job] = self.counters()
            if scan:
                self.marks[job]["scan"] = scan
            if self.spec.cache != "none":
                self.marks[job]["layout"] = cache_layout(self)
            prev = self.current_job
            c = self.marks[job]
            dup = (f", {100 * scan['double_cached_pages'] / scan['cached_pages']:.0f}% of it "
                   "double-cached" if scan and scan.get("cached_pages") else "")
            exp.progress(f"{self.variant}/{self.mode}: {prev} done; host cache of the images "
                         f"{c['image_cache'] / MIB:.0f} MiB{dup}, device read "
                         f"{c['dev_read'] / MIB:.0f} MiB so far"
                         + (f"; next: {job} ({exp.runtime(job)} s)" if job != "end" else ""))
            self.current_job = job
            g.release(job)
        self.stop_threads.set()
        if self.helper:
            self.helper.stop()
        g.wait_poweroff(120)
        if self.helper:
            self.helper.join()
        self.sampler.join(timeout=10)
        self.collect()

    def collect(self):
        self.guests.collect()
        write_timeseries(os.path.join(self.dir, "timeseries.csv"), self.samples)
        write_scans(os.path.join(self.dir, "scans.csv"), self.scans)
        with open(os.path.join(self.dir, "marks.json"), "w") as f:
            json.dump({"marks": self.marks,
                       "scrubs": self.helper.records if self.helper else []}, f, indent=1)

    def kill(self):
        self.stop_threads.set()
        if self.helper:
            self.helper.kill()
        self.guests.kill()

    def job_result(self, inst):
        """Metrics of one job window (all guests together); `inst` a job instance."""
        i = self.jobs.index(inst)
        nxt = self.jobs[i + 1] if inst != self.jobs[-1] else "end"
        _, job, rnd = self.plan[i]
        r = job_result(self.variant, self.mode, job, self.marks[inst], self.marks[nxt],
                       self.samples, self.guests.dirs(), inst)
        r["run"] = rnd
        # fio's seed of the round (randrepeat=0: its own offsets); sg-sim --calibrate reads it.
        r["round_seed"] = round_seed(self.a.seed, rnd)
        r["guest_mib"], r["host_budget_mib"] = self.guest_mib, self.budget_mib
        return r


class Experiment:
    def __init__(self, args):
        self.args = a = args
        now = datetime.datetime.now()
        self.stamp = now.strftime("%Y%m%d-%H%M%S")
        self.stamp_short = now.strftime("%H%M%S")
        build = os.path.abspath(a.build)
        self.singleton = a.singleton or os.path.join(build, "bin", "singleton")
        self.sg_guest = a.sg_guest or os.path.join(build, "bin", "sg-guest")
        self.kit_src = a.kit or os.path.join(build, "vm")
        self.out = a.out or os.path.join(build, "bench-results", self.stamp)
        self.work = os.path.join(a.work or os.path.join(build, "bench-work"), self.stamp)
        self.scratch = os.path.join("/dev/shm", f"sg-bench-{self.stamp}")
        self.kit = os.path.join(self.scratch, "kit")
        self.jobs = [j for j in ALL_JOBS if j in a.jobs.split(",")]
        self.runs, self.cgroups, self.results = [], [], []
        self.skipped = []
        self.started = time.time()
        self.command = " ".join(sys.argv)
        self.rereported = False
        self.cgroup_root = cgroups.ROOT
        self.cgroup_version = None
        self.has_command = {}
        self.help_text = {}
        self.throttle = None  # resolve_throttle(), once the cgroup hierarchy is known

    def resolve_throttle(self):
        """The device limits; writes default to 300 IOPS / 40 MiB/s on cgroup v2 and to
        unthrottled on v1: v1 throttles only the writes QEMU submits itself (O_DIRECT with
        cache=none, and its fdatasync's writeback), never the flusher's, so with buffered
        writes a mode's write cost would depend on who happened to write its dirty pages
        back (bench/README.md, the randrw regression)."""
        a = self.args
        v1 = self.cgroup_version != "v2"
        if a.write_iops is None:
            a.write_iops = 0 if v1 else 300
        if a.write_mibps is None:
            a.write_mibps = 0 if v1 else 40
        self.throttle = {"read_iops": a.read_iops, "read_bps": a.read_mibps * MIB,
                         "write_iops": a.write_iops, "write_bps": a.write_mibps * MIB}

    def runtime(self, job):
        job = job.split("-", 1)[1] if job.startswith("r") and job[1:2].isdigit() else job
        return {"randread-uniform": self.args.runtime, "randread-zipf": self.args.short_runtime,
                "randrw": self.args.short_runtime, "seqread": self.args.seq_runtime}.get(job, 0)

    def guest_timeout(self):
        return 300 + self.args.runs * sum(self.runtime(j) + 120 for j in self.jobs)

    def host_cache_budget(self, variant):
        mib = self.args.host_cache_mib if variant == "own" else self.args.shared_host_cache_mib
        return mib * MIB

    def progress(self, msg):
        el = int(time.time() - self.started)
        print(f"[{el // 60:02d}:{el % 60:02d}] {msg}", flush=True)

    def check(self):
        if os.geteuid() != 0:
            sys.exit("fio-experiment: needs root (cgroups, I/O throttling, /proc/PID/io)")
        for p in (self.sg_guest,):
            if not os.access(p, os.X_OK):
                sys.exit(f"fio-experiment: {p} missing: build it (cmake --build ... --target sg-guest)")
        for f in ("vmlinuz", "initramfs.cpio.gz"):
            if not os.path.exists(os.path.join(self.kit_src, f"kernel-{self.args.kernel}", f)):
                sys.exit(f"fio-experiment: guest kit missing in {self.kit_src}: run `make guest-kit`")
        try:
            self.cgroup_version = cgroups.detect(self.cgroup_root)[0]
        except cgroups.CgroupError as e:
            sys.exit(f"fio-experiment: {e}")
        self.resolve_throttle()
        for command in ("scan", "scrub", "watch"):
            r = subprocess.run([self.singleton, command, "--help"], capture_output=True,
                               text=True) if os.access(self.singleton, os.X_OK) else None
            self.has_command[command] = bool(r) and r.returncode == 0
            self.help_text[command] = r.stdout if r else ""

    def setup(self):
        for d in (self.out, self.work, self.kit, os.path.join(self.kit, "run")):
            os.makedirs(d, exist_ok=True)
        # `singleton scan` at the job boundaries takes its own lock file: a dry run, it must
        # not wait for (or block) the scrub/watch passes of the mode. The lock's directory
        # must be private (owned by root, writable by no one else).
        self.scan_lock_dir = os.path.join(self.scratch, "scan-lock")
        os.makedirs(self.scan_lock_dir, mode=0o700, exist_ok=True)
        os.chmod(self.scan_lock_dir, 0o700)
        # The kit on tmpfs: the tools disk (fio) and the guests' scratch disks never touch the
        # throttled device, so the device counters see only the data images.
        for k in os.listdir(self.kit_src):
            if k.startswith("kernel-"):
                os.symlink(os.path.realpath(os.path.join(self.kit_src, k)), os.path.join(self.kit, k))
        shutil.copy(os.path.join(self.kit_src, "accel"), self.kit)
        shutil.copy(os.path.join(self.kit_src, "tools.img"), self.kit)
        self.device = self.block_device(self.work)
        a = self.args
        self.progress(f"data images: {a.guests} x {a.data_mib} MiB of random bytes (ext4, 4 KiB blocks)")
        self.pristine = []
        for i in range(a.guests):
            d = os.path.join(self.work, f"data{i}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "data.bin"), "wb") as f:
                for _ in range(a.data_mib):
                    f.write(os.urandom(MIB))
            img = os.path.join(self.work, f"pristine{i}.img")
            subprocess.run([os.path.join(REPO, "tests/vm/make-image"), "--dir", d, "--out", img],
                           check=True)
            shutil.rmtree(d)
            self.pristine.append(img)
        if "shared" in a.variants.split(","):
            # The shared variant: every guest's overlay sits on guest 0's image.
            self.base_image = os.path.join(self.work, "base.img")
            shutil.copyfile(self.pristine[0], self.base_image)
            self.pristine.append(self.base_image)
        for f in self.pristine:
            drop_host_cache(f)

    @staticmethod
    def block_device(path):
        """major:minor of the whole disk under `path` (blkio/io.max throttle whole devices)."""
        st = os.stat(path)
        major, minor = os.major(st.st_dev), os.minor(st.st_dev)
        sys_dev = os.path.realpath(f"/sys/dev/block/{major}:{minor}")
        if os.path.exists(os.path.join(sys_dev, "partition")):
            with open(os.path.join(os.path.dirname(sys_dev), "dev")) as f:
                return f.read().strip()
        return f"{major}:{minor}"

    def run_all(self):
        self.skipped = []
        for variant in self.args.variants.split(","):
            for mode in self.args.modes.split(","):
                why = BY_NAME[mode].unusable(self)
                if why:
                    self.skipped.append((variant, mode, why))
                    continue
                run = Run(self, variant, mode)
                try:
                    run.execute()
                finally:
                    run.kill()
                    if run.cg:
                        run.cg.remove()
                    shutil.rmtree(os.path.join(self.work, run.name), ignore_errors=True)
                for inst in run.jobs[1:]:
                    self.results.append(run.job_result(inst))
                self.progress(f"{variant}/{mode}: done")

    def cleanup(self):
        for run in self.runs:
            run.kill()
        for cg in self.cgroups:
            cg.remove()
        shutil.rmtree(self.scratch, ignore_errors=True)
        if not self.args.keep_images:
            shutil.rmtree(self.work, ignore_errors=True)

"""The modes compared, as one table: what QEMU caches, where the memory goes, and what runs
beside the guests.

A mode is a row of MODES: the QEMU `cache=` of the data disks, whether the host page-cache
budget is given to the guests instead (`bigger_guests`: every mode has the same total memory,
guests' RAM + host cache budget), the helper that starts with the first measured job (after the
warm-up and the memory limit), the `singleton` command it needs and the options it must offer
(`needs_option`, looked for in `singleton COMMAND --help`). Adding a mode is adding a row (and,
if it runs something new, a helper class with the interface of ScrubLoop / WatchDaemon: start,
stop, join, kill, cpu_seconds, evicted_pages, records). The order of MODES is the order of the
report's rows and bars and the default of --modes.
"""
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass

from .common import PAGE
from .samples import proc_cpu_seconds


def singleton_cmd(run, command):
    """`singleton COMMAND --json` over the run's guests (QEMU pid and image of each)."""
    cmd = [run.exp.singleton, command, "--json"]
    for g in run.guests.guests:
        cmd += ["--pid", str(g["qemu_pid"]), "--image", g["image"]]
    if run.a.shared_policy:
        cmd += ["--shared-policy", run.a.shared_policy]
    return cmd


class ScrubLoop:
    """`singleton scrub` every --scrub-interval s (cron-like); one JSON line per pass in
    scrub.jsonl with its wall and CPU time."""

    def __init__(self, run):
        self.run = run
        self.records = []  # per pass: t, wall, cpu, rc, evicted pages, stderr
        self.proc = None
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        run = self.run
        log = open(os.path.join(run.dir, "scrub.jsonl"), "w")
        while not run.stop_threads.is_set():
            start = time.time()
            p = subprocess.Popen(singleton_cmd(run, "scrub"), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            self.proc = p
            out, err = p.stdout.read(), p.stderr.read()
            _, status, ru = os.wait4(p.pid, 0)
            self.proc = None
            p.returncode = os.waitstatus_to_exitcode(status)
            evicted = 0
            try:
                evicted = json.loads(out)["totals"]["evicted_pages"]
            except (ValueError, KeyError, TypeError):
                pass
            rec = {"t": start - run.t0, "wall": time.time() - start,
                   "cpu": ru.ru_utime + ru.ru_stime, "rc": p.returncode, "evicted": evicted,
                   "stderr": err.strip()[-500:]}
            self.records.append(rec)
            log.write(json.dumps(dict(rec, report=out.strip() and json.loads(out)
                                      if out.strip().startswith("{") else out)) + "\n")
            log.flush()
            run.stop_threads.wait(max(0.0, run.a.scrub_interval - (time.time() - start)))
        log.close()

    def cpu_seconds(self):
        """Finished passes, plus the one running now."""
        cpu = sum(s["cpu"] for s in self.records)
        p = self.proc
        if p is not None:
            try:
                cpu += proc_cpu_seconds(p.pid)
            except (OSError, IndexError):
                pass
        return cpu

    def evicted_pages(self):
        return sum(s["evicted"] for s in self.records)

    def stop(self):
        """The loop ends at run.stop_threads; join() waits for the pass under way."""

    def join(self):
        if self.thread:
            self.thread.join(timeout=120)

    def kill(self):
        p = self.proc
        if p and p.poll() is None:
            p.kill()


class WatchDaemon:
    """`singleton watch` over the run's guests, its Prometheus textfile in watch.prom.
    Mode watch: `--evict-when always` (eager: every double-cached folio found is evicted)."""
    policy = ["--evict-when", "always"]

    def __init__(self, run):
        self.run = run
        self.records = []
        self.proc = None
        self.cpu_last = 0.0
        self.evicted_last = 0

    def policy_args(self):
        return list(self.policy)

    def command(self):
        run = self.run
        cmd = singleton_cmd(run, "watch")
        cmd.remove("--json")
        cmd += ["--prometheus", os.path.join(run.dir, "watch.prom")]
        # An older singleton without --evict-when is eager all the same: the option is only
        # passed where `watch --help` has it.
        if "--evict-when" in run.exp.help_text.get("watch", ""):
            cmd += self.policy_args()
        if run.a.watch_args:
            cmd += run.a.watch_args.split()
        return cmd

    def start(self):
        run = self.run
        cmd = self.command()
        self.log = open(os.path.join(run.dir, "watch.log"), "w")
        self.log.write(" ".join(cmd) + "\n")
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def cpu_seconds(self):
        p = self.proc
        if p is None:
            return 0.0
        try:
            self.cpu_last = proc_cpu_seconds(p.pid)
        except (OSError, IndexError):
            pass  # exited: keep the last reading
        return self.cpu_last

    def evicted_pages(self):
        """singleton_evicted_bytes_total from watch's Prometheus textfile."""
        if self.proc is None:
            return 0
        try:
            with open(os.path.join(self.run.dir, "watch.prom")) as f:
                for line in f:
                    if line.startswith("singleton_evicted_bytes_total "):
                        self.evicted_last = int(float(line.split()[1])) // PAGE
        except (OSError, ValueError, IndexError):
            pass
        return self.evicted_last

    def stop(self):
        p = self.proc
        if p and p.poll() is None:
            self.cpu_seconds()
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def join(self):
        pass

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PressureWatchDaemon(WatchDaemon):
    """Mode watch-pressure: `singleton watch --evict-when pressure --pressure-cgroup DIR`, DIR
    the memory cgroup of the run's QEMU processes (v1: .../memory/NAME, v2: the leaf): it
    evicts double-cached folios only while that cgroup's usage is within the headroom of its
    limit (or the host is short of memory), --evict-step MiB at a time."""

    def policy_args(self):
        return ["--evict-when", "pressure", "--pressure-cgroup", self.run.cg.memory_dir()]


@dataclass(frozen=True)
class Mode:
    name: str
    cache: str               # QEMU cache= of the guests' data disks
    helper: type = None      # runs beside the guests from the first measured job on
    needs: str = None        # the `singleton` command the helper runs
    missing: str = ""        # why the mode is not run when `singleton NEEDS` is not usable
    needs_option: str = None  # an option `singleton NEEDS --help` must list
    bigger_guests: bool = False  # the host cache budget goes to the guests' RAM instead

    def unusable(self, exp):
        """Why this mode cannot run here, or None."""
        if self.needs and not exp.has_command.get(self.needs):
            return self.missing.format(singleton=exp.singleton)
        if self.needs_option and self.needs_option not in exp.help_text.get(self.needs, ""):
            return (f"`singleton {self.needs}` has no {self.needs_option} "
                    f"({exp.singleton} {self.needs} --help)")
        return None

    def memory(self, guests, guest_mib, budget_mib):
        """(RAM of each guest in MiB, host page-cache budget in MiB): guests x RAM + budget is
        the same in every mode. bigger_guests: the budget is split among the guests (whole
        MiB; what does not divide stays with the host)."""
        if self.bigger_guests:
            share = budget_mib // guests
            return guest_mib + share, budget_mib - share * guests
        return guest_mib, budget_mib


MODES = [
    Mode("writeback", "writeback"),                       # the inclusive baseline
    Mode("none", "none"),                                 # O_DIRECT: no host cache at all
    Mode("none-bigger-guests", "none", bigger_guests=True),  # the budget as guest RAM instead
    Mode("scrub", "writeback", ScrubLoop, "scrub", "{singleton} scrub not usable"),
    Mode("watch", "writeback", WatchDaemon, "watch", "`singleton watch` does not exist yet"),
    Mode("watch-pressure", "writeback", PressureWatchDaemon, "watch",
         "`singleton watch` does not exist yet", needs_option="--evict-when"),
]
BY_NAME = {m.name: m for m in MODES}
ALL_MODES = [m.name for m in MODES]

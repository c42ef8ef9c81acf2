"""The modes compared, as one table: what QEMU caches, and what runs beside the guests.

A mode is a row of MODES: the QEMU `cache=` of the data disks, the helper that starts with the
first measured job (after the warm-up and the memory limit) and the `singleton` command it
needs. Adding a mode is adding a row (and, if it runs something new, a helper class with the
interface of ScrubLoop / WatchDaemon: start, stop, join, kill, cpu_seconds, evicted_pages,
records). The order of MODES is the order of the report's bars and the default of --modes.
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
    """`singleton watch` over the run's guests, its Prometheus textfile in watch.prom."""

    def __init__(self, run):
        self.run = run
        self.records = []
        self.proc = None
        self.cpu_last = 0.0
        self.evicted_last = 0

    def start(self):
        run = self.run
        cmd = singleton_cmd(run, "watch")
        cmd.remove("--json")
        cmd += ["--prometheus", os.path.join(run.dir, "watch.prom")]
        if run.a.watch_args:
            cmd += run.a.watch_args.split()
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


@dataclass(frozen=True)
class Mode:
    name: str
    cache: str               # QEMU cache= of the guests' data disks
    helper: type = None      # runs beside the guests from the first measured job on
    needs: str = None        # the `singleton` command the helper runs
    missing: str = ""        # why the mode is not run when `singleton NEEDS` is not usable

    def unusable(self, exp):
        """Why this mode cannot run here, or None."""
        if self.needs and not exp.has_command.get(self.needs):
            return self.missing.format(singleton=exp.singleton)
        return None


MODES = [
    Mode("writeback", "writeback"),                       # the inclusive baseline
    Mode("none", "none"),                                 # O_DIRECT: no host cache at all
    Mode("scrub", "writeback", ScrubLoop, "scrub", "{singleton} scrub not usable"),
    Mode("watch", "writeback", WatchDaemon, "watch", "`singleton watch` does not exist yet"),
]
BY_NAME = {m.name: m for m in MODES}
ALL_MODES = [m.name for m in MODES]

"""fio experiment: Singleton's measurements, in real VMs, side by side with the alternatives.

N guests (TCG here, KVM where it works) run fio over a data set larger than their own page
cache. The QEMU processes sit in a memory cgroup (bounds the host page cache they can use) and
a blkio cgroup (throttles the image device to disk-like speed). Each mode runs the same jobs
with the same seeds on fresh copies of the same images:
  writeback           cache=writeback, no scrubbing (the inclusive baseline)
  none                cache=none (O_DIRECT: no host cache at all)
  none-bigger-guests  cache=none, the host cache budget given to the guests as RAM instead
  scrub               cache=writeback + `singleton scrub` every T seconds (cron-like)
  watch               cache=writeback + `singleton watch --evict-when always` (eager)
  watch-pressure      cache=writeback + `singleton watch --evict-when pressure
                      --pressure-cgroup <the run's memory cgroup>` (not run where singleton
                      has no --evict-when)
Every mode has the same total memory: guests x RAM + host cache budget.
Variants: `own` (each guest on its own image) and `shared` (qcow2 overlays on one backing file).
Each variant x mode boots its guests once and runs the job sequence --runs times (rounds);
the table shows the median and the min-max of the rounds.
cgroup v1 (memory + blkio) or v2 (memory.high + io.max), whichever /sys/fs/cgroup has.
Output: build/bench-results/<timestamp>/ (README.md there says what is what). See bench/README.md.
Standard library only (Debian's python3).
"""
import argparse
import signal
import subprocess
import sys

from . import report
from .common import ALL_JOBS
from .modes import ALL_MODES
from .run import Experiment

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stop(Exception):
    """SIGINT/SIGTERM/SIGHUP: unwind to the cleanup."""


def on_signal(signum, _frame):
    raise Stop(f"stopped by signal {signum}")


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build", help="build dir with bin/sg-guest, bin/singleton, vm/")
    p.add_argument("--singleton", help="singleton binary (default BUILD/bin/singleton)")
    p.add_argument("--sg-guest", help="sg-guest binary (default BUILD/bin/sg-guest)")
    p.add_argument("--kit", help="guest kit dir (default BUILD/vm)")
    p.add_argument("--out", help="results dir (default BUILD/bench-results/<timestamp>)")
    p.add_argument("--work", help="where the images go: on the device to throttle (default BUILD/bench-work)")
    p.add_argument("--keep-images", action="store_true")
    p.add_argument("--guests", type=int, default=2)
    p.add_argument("--guest-mem", type=int, default=192, help="MiB of RAM per guest")
    p.add_argument("--kernel", default="6.1")
    p.add_argument("--data-mib", type=int, default=256, help="data set per guest (MiB)")
    p.add_argument("--host-cache-mib", type=int, default=256,
                   help="host page cache the QEMU processes may use (own images)")
    p.add_argument("--shared-host-cache-mib", type=int, default=128,
                   help="the same for the shared-backing variant (one data set for all guests)")
    p.add_argument("--cache-slack-mib", type=int, default=32,
                   help="the limit is re-set every sample to non-cache memory + budget + this: "
                        "QEMU's anonymous memory moves by tens of MiB between samples")
    p.add_argument("--reclaim-ahead-mib", type=int, default=32,
                   help="background reclaim: when the cache is within this of its limit, the "
                        "sampler reclaims this much (as kswapd would) so that QEMU's reads do "
                        "not each reclaim at the limit; 0 = off")
    p.add_argument("--read-iops", type=int, default=300)
    p.add_argument("--read-mibps", type=int, default=40)
    p.add_argument("--write-iops", type=int, default=None,
                   help="default: 300 on cgroup v2, 0 (not throttled) on cgroup v1, where "
                        "the flusher's writeback cannot be throttled (see bench/README.md)")
    p.add_argument("--write-mibps", type=int, default=None,
                   help="default: 40 on cgroup v2, 0 (not throttled) on cgroup v1")
    p.add_argument("--runs", type=int, default=None,
                   help="rounds of the job sequence per variant x mode (default 3; --quick 1)")
    p.add_argument("--quick", action="store_true",
                   help="for development: 1 round of shorter jobs (runtimes 6/4/4 s, seqread "
                        "16 MiB per guest, unless given), about 7 minutes for every mode and "
                        "variant")
    p.add_argument("--runtime", type=int, default=None,
                   help="seconds of randread-uniform (default 12; --quick 6)")
    p.add_argument("--short-runtime", type=int, default=None,
                   help="seconds of randread-zipf, randrw (default 8; --quick 4)")
    p.add_argument("--seq-mib", type=int, default=None,
                   help="MiB each guest reads in seqread, per round, each round the next "
                        "region of the file (default 48; --quick 16)")
    p.add_argument("--seq-runtime", type=int, default=None,
                   help="at most this many seconds of seqread (default 30; --quick 15)")
    p.add_argument("--zipf-theta", default="0.8")
    p.add_argument("--seed", type=int, default=20120618)
    p.add_argument("--jobs", default=",".join(ALL_JOBS))
    p.add_argument("--modes", default=",".join(ALL_MODES))
    p.add_argument("--variants", default="own,shared")
    p.add_argument("--scrub-interval", type=float, default=5.0, help="T: seconds between scrub starts")
    p.add_argument("--shared-policy", default="", help="all|any, passed to singleton scrub")
    p.add_argument("--watch-args", default="",
                   help="extra options of singleton watch (default: its own, e.g. --cpu-budget 10)")
    p.add_argument("--report-only", metavar="DIR",
                   help="only rebuild DIR's table, README and plots from its results.csv")
    p.add_argument("--sample-interval", type=float, default=0.5)
    return p


# (default, --quick) of the options whose default depends on --quick.
QUICK_DEFAULTS = {"runs": (3, 1), "runtime": (12, 6), "short_runtime": (8, 4),
                  "seq_runtime": (30, 15), "seq_mib": (48, 16)}


def apply_defaults(args):
    """Fills the options left unset (None) with their default or --quick value."""
    for k, (full, quick) in QUICK_DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, quick if args.quick else full)
    return args


def main(argv=None):
    p = parser()
    args = apply_defaults(p.parse_args(argv))
    if args.runs < 1:
        p.error("--runs must be at least 1")
    unknown = [m for m in args.modes.split(",") if m not in ALL_MODES]
    if unknown and not args.report_only:
        p.error(f"unknown mode(s) {','.join(unknown)} (modes: {','.join(ALL_MODES)})")

    exp = Experiment(args)
    if args.report_only:
        report.load(exp, args.report_only)
        report.write(exp)
        print(exp.table)
        return 0
    exp.check()
    for s in SIGNALS:
        signal.signal(s, on_signal)
    rc = 0
    try:
        exp.progress(f"results in {exp.out}")
        exp.setup()
        exp.run_all()
        report.write(exp)
        print(exp.table)
        exp.progress(f"done: {exp.out}/README.md")
    except (Stop, RuntimeError, subprocess.CalledProcessError, OSError) as e:
        print(f"fio-experiment: {e}", file=sys.stderr)
        rc = 1
        if exp.results:
            try:
                report.write(exp)
                print(f"fio-experiment: partial results in {exp.out}", file=sys.stderr)
            except Exception as e2:  # the error above is the one to report
                print(f"fio-experiment: no partial report: {e2}", file=sys.stderr)
    finally:
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        exp.cleanup()
    return rc

"""bench/fio-experiment as a package: one idea per module, in the order a run uses them.

  cli.py        the options (--help, --quick), the signal handlers, the flow of one invocation
  run.py        Experiment (shared set-up, every variant x mode in turn, cleanup) and Run (one
                variant x mode: images, cgroup, guests, --runs rounds of the jobs in lock
                step, a `singleton scan` at each job boundary)
  modes.py      the mode table: QEMU cache= per mode, guest RAM vs host cache budget (the same
                total in every mode), and the helper that runs beside the guests (ScrubLoop:
                `singleton scrub` every T s; WatchDaemon: `singleton watch --evict-when
                always`; PressureWatchDaemon: `--evict-when pressure --pressure-cgroup`)
  guests.py     the guests of one run: fresh images, guest script, launch, barriers, results
  cgroups.py    the cgroup of the QEMU processes, v1 (memory + blkio) or v2 (memory.high +
                io.max), detected from /sys/fs/cgroup
  cachestat.py  a file's host page cache: cachestat(2), mincore(2) where it is missing (also
                used by bench/watch-latency), and how fragmented it is (runs of cached pages)
  samples.py    host counters (device bytes, cgroup memory, /proc/PID/io, image cache), the
                `singleton scan` of a job boundary, and the per-job metrics computed from them
                and the guests' fio JSON
  report.py     results.csv (per round), summary.csv and README.md's table (median, min-max),
                the goals, gnuplot plots; --report-only's reader
  common.py     paths and constants
Files the guests and gnuplot use: guest-script.sh, barrier, jobs/*.fio, plots.gp.
Tests (ctest -L unit, bench/experiment.cmake): tests/, with a stored results folder in
testdata/. Adding a mode: a row of modes.MODES (and a helper class if it runs something new).
Standard library only (Debian's python3).
"""

#!/usr/bin/python3
"""The report, from the stored results folder testdata/results-fixture/ (the files a real run
wrote: README.md, results.csv, and per run marks.json, timeseries.csv and each guest's fio
JSON and block counters of the measured jobs; a 2-guest TCG run, modes writeback and scrub,
both variants). `bench/fio-experiment --report-only` on a copy must print the stored table
and write the stored results.csv (both made by the script before it became a package), with
or without gnuplot; the per-job rows must follow from the raw files."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, BENCH)
from experiment import report, samples  # noqa: E402
from experiment.common import MIB  # noqa: E402

DATA = os.path.join(os.path.dirname(HERE), "testdata")
FIXTURE = os.path.join(DATA, "results-fixture")
SCRIPT = os.path.join(BENCH, "fio-experiment")
# The parameters of the fixture's run (README.md's text is made from them).
RUN_ARGS = ["--modes", "writeback,scrub", "--jobs", "randread-uniform,randread-zipf",
            "--data-mib", "160", "--host-cache-mib", "128", "--shared-host-cache-mib", "64",
            "--runtime", "20", "--short-runtime", "12"]
PLOTS = [f"{p}-{v}.png" for v in ("own", "shared") for p in ("cache", "device", "iops", "hit")]


def read(path):
    with open(path) as f:
        return f.read()


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class ReportOnly(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sg-report-")
        self.out = os.path.join(self._tmp.name, "results")
        shutil.copytree(FIXTURE, self.out)
        self.kit = os.path.join(self._tmp.name, "kit")
        os.makedirs(self.kit)
        with open(os.path.join(self.kit, "accel"), "w") as f:
            f.write("tcg\n")

    def tearDown(self):
        self._tmp.cleanup()

    def report_only(self, path=None):
        env = dict(os.environ)
        if path is not None:
            env["PATH"] = path
        return subprocess.run([sys.executable, SCRIPT, "--report-only", self.out, "--kit", self.kit]
                              + RUN_ARGS, capture_output=True, text=True, env=env, timeout=120)

    def check_tables(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        expected = read(os.path.join(DATA, "expected-table.md"))
        self.assertEqual(r.stdout, expected)
        self.assertEqual(read(os.path.join(self.out, "results.csv")),
                         read(os.path.join(DATA, "expected-results.csv")))
        readme = read(os.path.join(self.out, "README.md"))
        self.assertIn(expected, readme)
        return readme

    def test_rebuilds_table_csv_and_readme(self):
        r = self.report_only(path=None if shutil.which("gnuplot") else "/nonexistent")
        readme = self.check_tables(r)
        self.assertIn("Command: `bench/fio-experiment --build build-exp --modes writeback,scrub "
                      "--variants own,shared --jobs randread-uniform,randread-zipf --data-mib 160 "
                      "--host-cache-mib 128 --shared-host-cache-mib 64 --runtime 20 "
                      "--short-runtime 12` (table rebuilt from results.csv by `--report-only`)",
                      readme)
        self.assertIn("guests: 2 x 192 MiB RAM, kernel line 6.1, accelerator tcg; data set per "
                      "guest 160 MiB", readme)
        self.assertIn("- blkio (cgroup v1) on the image device 254:0, for all QEMU processes",
                      readme)
        self.assertIn("+ 128 MiB (shared variant: 64 MiB) + 32 MiB slack", readme)
        self.assertNotIn("(cgroup v2)", readme)
        # Figures of the fixture, by hand: own/scrub keeps 39.5 MiB of host cache in
        # randread-uniform (writeback 138.9: 3.516x less) at 0.846x the IOPS.
        row = next(x for x in read_csv(os.path.join(self.out, "results.csv"))
                   if (x["variant"], x["job"], x["mode"]) == ("own", "randread-uniform", "scrub"))
        self.assertEqual((row["host_cache_mean_mib"], row["cache_reduction_x"], row["throughput_x"],
                          row["freed_mib"]), ("39.5", "3.516", "0.846", "144.3"))

    @unittest.skipUnless(shutil.which("gnuplot"), "gnuplot not installed")
    def test_plots_with_gnuplot(self):
        r = self.report_only()
        self.check_tables(r)
        for p in PLOTS:
            self.assertGreater(os.path.getsize(os.path.join(self.out, p)), 1000, p)
        self.assertNotIn("Plots skipped", read(os.path.join(self.out, "README.md")))

    def test_without_gnuplot_plots_are_skipped_with_a_note(self):
        r = self.report_only(path=os.path.join(self._tmp.name, "empty-path"))
        self.check_tables(r)
        self.assertIn("gnuplot not installed: plots skipped", r.stderr)
        self.assertIn("Plots skipped: gnuplot is not installed",
                      read(os.path.join(self.out, "README.md")))
        for p in PLOTS:
            self.assertFalse(os.path.exists(os.path.join(self.out, p)), p)

    def test_a_cgroup_v2_run_is_described_as_such(self):
        path = os.path.join(self.out, "README.md")
        text = read(path).replace("- blkio (cgroup v1) on the image device",
                                  "- io.max (cgroup v2) on the image device")
        with open(path, "w") as f:
            f.write(text)
        r = self.report_only(path="/nonexistent")
        readme = self.check_tables(r)
        self.assertIn("- io.max (cgroup v2) on the image device 254:0", readme)
        self.assertIn("memory (cgroup v2) on the same processes: after the warm-up, memory.high",
                      readme)
        self.assertNotIn("(cgroup v1)", readme)


class JobRows(unittest.TestCase):
    """samples.job_result() from a run's marks.json, timeseries.csv and guest files gives the
    rows the run wrote to results.csv."""

    def test_rows_follow_from_the_raw_files(self):
        rows = read_csv(os.path.join(FIXTURE, "results.csv"))
        self.assertEqual(len(rows), 6)
        for row in rows:
            with self.subTest(variant=row["variant"], mode=row["mode"], job=row["job"]):
                d = os.path.join(FIXTURE, "runs", f"{row['variant']}-{row['mode']}")
                marks = json.loads(read(os.path.join(d, "marks.json")))["marks"]
                jobs = [j for j in marks if j not in ("warm", "limit", "end")]
                nxt = (jobs + ["end"])[jobs.index(row["job"]) + 1]
                series = [{"t": float(s["t_s"]), "image_cache": float(s["image_cache_mib"]) * MIB}
                          for s in read_csv(os.path.join(d, "timeseries.csv"))]
                guests = sorted(os.path.join(d, g) for g in os.listdir(d) if g.startswith("guest"))
                r = samples.job_result(row["variant"], row["mode"], row["job"], marks[row["job"]],
                                       marks[nxt], series, guests)
                for col in ("iops", "bw_mib_s", "lat_p50_us", "lat_p99_us", "fio_read_mib",
                            "guest_disk_read_mib", "qemu_read_syscall_mib", "device_read_mib",
                            "device_write_mib", "host_hit_ratio", "host_hit_ratio_rchar",
                            "system_hit_ratio", "host_cache_end_mib", "scrub_cpu_s",
                            "scrub_cpu_pct", "freed_mib", "wall_s"):
                    self.assertEqual(report.fmt(r[col]), row[col], col)
                # The series is stored rounded to 0.1 MiB and 0.1 s.
                self.assertAlmostEqual(r["host_cache_mean_mib"], float(row["host_cache_mean_mib"]),
                                       delta=1.0)


if __name__ == "__main__":
    unittest.main()

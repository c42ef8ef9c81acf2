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
                each = [int(n) for n in r["fio_ios_per_guest"].split(";")]
                self.assertEqual(len(each), len(guests))
                self.assertTrue(all(n > 0 for n in each), each)
                # The series is stored rounded to 0.1 MiB and 0.1 s.
                self.assertAlmostEqual(r["host_cache_mean_mib"], float(row["host_cache_mean_mib"]),
                                       delta=1.0)


def row(mode, run, iops, dev=10.0, job="randread-uniform", variant="own", dup=float("nan"),
        **more):
    r = {"variant": variant, "job": job, "mode": mode, "run": run, "iops": iops,
         "device_read_mib": dev, "host_hit_ratio": 0.5, "system_hit_ratio": 0.6,
         "lat_p50_us": 100.0, "lat_p99_us": 5000.0 * run, "host_cache_mean_mib": 100.0,
         "double_cached_share_end": dup, "scrub_cpu_pct": 0.0,
         "device_read_per_fio_read": dev / 100}
    r.update(more)
    return r


class Summary(unittest.TestCase):
    """report.summarize(): medians and min-max over the runs, ratios of medians to writeback,
    the table's cells, and the goals read from them."""

    def rows(self):
        return [row("writeback", 1, 100.0, dev=20.0, dup=0.6),
                row("writeback", 2, 120.0, dev=22.0, dup=0.7),
                row("writeback", 3, 110.0, dev=24.0, dup=0.8),
                row("watch", 1, 90.0, dev=18.0, dup=0.02, scrub_cpu_pct=5.0),
                row("watch", 2, 130.0, dev=30.0, dup=0.04, scrub_cpu_pct=7.0),
                row("watch", 3, 99.0, dev=19.0, dup=0.03, scrub_cpu_pct=6.0),
                row("none-bigger-guests", 1, 200.0, dev=5.0),
                row("none-bigger-guests", 2, 220.0, dev=6.0),
                row("none-bigger-guests", 3, 210.0, dev=7.0)]

    def test_medians_spreads_and_ratios(self):
        out = report.summarize(self.rows())
        self.assertEqual([s["mode"] for s in out], ["writeback", "none-bigger-guests", "watch"])
        wb, nb, w = out
        self.assertEqual((w["runs"], w["iops"], w["iops_min"], w["iops_max"]), (3, 99.0, 90.0, 130.0))
        self.assertEqual(w["device_read_mib"], 19.0)
        self.assertAlmostEqual(w["iops_x"], 99.0 / 110.0)
        self.assertAlmostEqual(w["device_read_x"], 19.0 / 22.0)
        self.assertAlmostEqual(w["double_cached_pct_end"], 3.0)
        self.assertAlmostEqual(w["lat_p99_ms"], 10.0)
        self.assertEqual((w["lat_p99_ms_min"], w["lat_p99_ms_max"]), (5.0, 15.0))
        # cache=none modes are not scanned: no share, not 0.
        self.assertNotEqual(nb["double_cached_share_end"], nb["double_cached_share_end"])
        self.assertEqual(wb["iops_x"], 1.0)

    def test_table_cells(self):
        md = report.table(report.summarize(self.rows())).splitlines()
        self.assertEqual(md[0].split(" | ")[:6], ["variant", "job", "mode", "runs", "IOPS", "IOPS x"])
        cells = md[4].split(" | ")
        self.assertEqual(cells[:6], ["own", "randread-uniform", "watch", "3", "99.0 (90.0-130)", "0.90"])
        self.assertEqual(cells[11], "3.00 (2.00-4.00)")
        # One run: the value alone.
        one = report.table(report.summarize([row("writeback", 1, 100.0)])).splitlines()[2]
        self.assertEqual(one.split(" | ")[4], "100")

    def test_goals(self):
        lines = report.goals(report.summarize(self.rows()))
        self.assertIn("- Inclusive cache (writeback): 70-70% of the images' host cache is "
                      "double-cached at job ends (median per job).", lines)
        self.assertIn("- watch: double-cached share of the host cache at job ends <= 5%: met "
                      "(medians 3.0-3.0%)", lines)
        self.assertIn("- watch: IOPS >= 1.0x writeback on every job: NOT met "
                      "(own/randread-uniform 0.90x)", lines)
        self.assertIn("- watch: device reads per byte fio read <= writeback's: met", lines)
        self.assertIn("- watch vs none-bigger-guests (IOPS, medians): own/randread-uniform 0.47x",
                      lines)

    def test_rounds_are_paired_with_writeback_of_the_same_round(self):
        rows = report.with_ratios(self.rows())
        w2 = next(r for r in rows if r["mode"] == "watch" and r["run"] == 2)
        self.assertAlmostEqual(w2["throughput_x"], 130.0 / 120.0)


class ScanShares(unittest.TestCase):
    """job_result() reads the `singleton scan` of the marks around a job and the files of a
    job instance (rN-JOB)."""

    def test_shares_and_instance_files(self):
        d = os.path.join(FIXTURE, "runs", "own-scrub")
        marks = json.loads(read(os.path.join(d, "marks.json")))["marks"]
        with tempfile.TemporaryDirectory() as tmp:
            guests = []
            for g in ("guest0", "guest1"):
                dest = os.path.join(tmp, g)
                os.makedirs(dest)
                for ext in ("json", "blkstat0", "blkstat1"):
                    shutil.copy(os.path.join(d, g, f"randread-uniform.{ext}"),
                                os.path.join(dest, f"r2-randread-uniform.{ext}"))
                guests.append(dest)
            a = dict(marks["randread-uniform"], scan={"cached_pages": 1000,
                                                      "double_cached_pages": 600})
            b = dict(marks["randread-zipf"], scan={"cached_pages": 400,
                                                   "double_cached_pages": 10})
            r = samples.job_result("own", "scrub", "randread-uniform", a, b, [], guests,
                                   "r2-randread-uniform")
        self.assertEqual(r["job"], "randread-uniform")
        self.assertAlmostEqual(r["double_cached_share_start"], 0.6)
        self.assertAlmostEqual(r["double_cached_share_end"], 0.025)
        self.assertAlmostEqual(r["double_cached_mib_end"], 10 * 4096 / MIB)
        self.assertEqual(report.fmt(r["iops"]), "602.6")

    def test_scan_summary(self):
        rep = {"totals": {"cached_pages_before": 73472, "double_cached_pages": 35287,
                          "evicted_pages": 29677, "skipped_pages": 0,
                          "partial_folio_pages": 5610, "cached_pages_after": 73588,
                          "skipped_by_reason": {"dirty": 3, "writeback": 4}}}
        self.assertEqual(samples.scan_summary(rep),
                         {"cached_pages": 73472, "double_cached_pages": 35287,
                          "partial_folio_pages": 5610, "skipped_pages": 0, "dirty_pages": 3,
                          "writeback_pages": 4})


if __name__ == "__main__":
    unittest.main()

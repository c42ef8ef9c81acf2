#!/usr/bin/python3
"""guests.py: the guest script a run hands its guests (job instances, per-round seeds, RAM)."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiment import guests  # noqa: E402


class Args:
    data_mib, seed, zipf_theta = 256, 1000, "0.8"


class Exp:
    args = Args()

    def __init__(self, scratch):
        self.scratch = scratch

    @staticmethod
    def runtime(job):
        return {"randread-uniform": 12, "seqread": 6}.get(job, 0)


PLAN = [("warm", "warm", 0), ("r1-randread-uniform", "randread-uniform", 1),
        ("r1-seqread", "seqread", 1), ("r2-randread-uniform", "randread-uniform", 2),
        ("r2-seqread", "seqread", 2)]


class GuestScript(unittest.TestCase):
    def test_round_seeds(self):
        self.assertEqual([guests.round_seed(7, r) for r in (0, 1, 2, 3)], [7, 7, 8, 9])

    def test_script_lists_instances_with_their_seeds(self):
        with tempfile.TemporaryDirectory() as tmp:
            g = guests.GuestSet(Exp(tmp), "run", "own", PLAN, tmp, 320)
            self.assertEqual(g.jobs, [p[0] for p in PLAN])
            self.assertEqual(g.guest_mib, 320)
            with open(g.guest_script()) as f:
                script = f.read()
        self.assertIn("for entry in warm:warm:1000 r1-randread-uniform:randread-uniform:1000 "
                      "r1-seqread:seqread:1000 r2-randread-uniform:randread-uniform:1001 "
                      "r2-seqread:seqread:1001; do", script)
        # One job file per job, not per instance.
        self.assertEqual(script.count("cat > /tmp/jobs/randread-uniform.fio"), 1)
        self.assertIn("RUNTIME_randread_uniform=12", script)
        for key in ("DATA_MIB", "ZIPF_THETA", "JOBS", "WRITE_JOBS", "SEED"):
            self.assertNotIn(f"%%{key}%%", script)
        self.assertIn("inst=${entry%%:*} rest=${entry#*:}", script)

    def test_the_loop_splits_the_entries(self):
        # The loop's parameter expansions, run by the host's POSIX sh.
        out = subprocess.run(["sh", "-c", 'for entry in r2-randrw:randrw:1001 warm:warm:1000; do '
                              'inst=${entry%%:*} rest=${entry#*:}; job=${rest%%:*} '
                              'SG_SEED=${rest#*:}; echo "$inst $job $SG_SEED"; done'],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "r2-randrw randrw 1001\nwarm warm 1000\n")


if __name__ == "__main__":
    unittest.main()

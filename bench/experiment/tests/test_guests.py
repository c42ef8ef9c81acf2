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
    data_mib, seed, zipf_theta, seq_mib = 256, 1000, "0.8", 48


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

    def test_seqread_regions(self):
        self.assertEqual([guests.seq_offset_mib(256, 48, r) for r in (0, 1, 2, 3, 5, 6)],
                         [0, 0, 48, 96, 192, 31])  # 240 would pass the end: wraps (mod 209)
        for r in range(1, 50):
            self.assertLessEqual(guests.seq_offset_mib(256, 48, r) + 48, 256)

    def test_script_lists_instances_with_their_seeds(self):
        with tempfile.TemporaryDirectory() as tmp:
            g = guests.GuestSet(Exp(tmp), "run", "own", PLAN, tmp, 320)
            self.assertEqual(g.jobs, [p[0] for p in PLAN])
            self.assertEqual(g.guest_mib, 320)
            with open(g.guest_script()) as f:
                script = f.read()
        self.assertIn("for entry in warm:warm:1000:0 r1-randread-uniform:randread-uniform:1000:0 "
                      "r1-seqread:seqread:1000:0 r2-randread-uniform:randread-uniform:1001:48 "
                      "r2-seqread:seqread:1001:48; do", script)
        self.assertIn("SG_SEQ_MIB=48", script)
        # One job file per job, not per instance.
        self.assertEqual(script.count("cat > /tmp/jobs/randread-uniform.fio"), 1)
        self.assertIn("RUNTIME_randread_uniform=12", script)
        for key in ("DATA_MIB", "ZIPF_THETA", "JOBS", "WRITE_JOBS", "SEED"):
            self.assertNotIn(f"%%{key}%%", script)
        self.assertIn("inst=${entry%%:*} rest=${entry#*:}", script)

    def test_the_loop_splits_the_entries(self):
        # The loop's parameter expansions, run by the host's POSIX sh.
        with open(os.path.join(os.path.dirname(guests.__file__), "guest-script.sh")) as f:
            text = f.read()
        loop = text[text.index("\tinst="):text.index("\tsg_wait")]
        out = subprocess.run(["sh", "-c", "for entry in r2-randrw:randrw:1001:48 "
                              "warm:warm:1000:0; do\n" + loop + 'echo "$inst $job $SG_SEED '
                              '$SG_SEQ_OFFSET_MIB"; done'],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "r2-randrw randrw 1001 48\nwarm warm 1000 0\n")


if __name__ == "__main__":
    unittest.main()

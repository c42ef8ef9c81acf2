#!/usr/bin/python3
"""The job files with the real fio: each round's seed gives its own offsets, and the same seed
the same ones (the rounds were meant to differ; fio 3.33 ignores randseed with randrepeat=1)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiment.common import EXP  # noqa: E402


def offsets(scratch, job, seed, ios=64):
    """The offsets fio reads and writes in `job` (its file behind global.inc) with SG_SEED=seed,
    on a 16 MiB file, from fio's own I/O log."""
    with open(os.path.join(EXP, "jobs", "global.inc")) as f:
        text = f.read()
    with open(os.path.join(EXP, "jobs", job + ".fio")) as f:
        text += f.read()
    data = os.path.join(scratch, "data.bin")
    # Not time-based: --number_ios ends the job.
    text = text.replace("/mnt/data/data.bin", data).replace("time_based=1", "time_based=0")
    path = os.path.join(scratch, f"{job}.fio")
    with open(path, "w") as f:
        f.write(text)
    log = os.path.join(scratch, f"{job}-{seed}.log")
    if os.path.exists(log):
        os.unlink(log)  # fio appends to a log it finds
    env = dict(os.environ, SG_SEED=str(seed), SG_DATA_MIB="16", SG_RUNTIME_S="60",
               SG_ZIPF_THETA="0.8")
    subprocess.run(["fio", path, f"--number_ios={ios}", f"--write_iolog={log}",
                    "--output=/dev/null"], env=env, check=True, cwd=scratch)
    with open(log) as f:
        fields = (line.split() for line in f)
        return [x[2:4] for x in fields if len(x) >= 4 and x[2] in ("read", "write")]


@unittest.skipIf(shutil.which("fio") is None, "fio is not installed (tests/install-deps)")
class FioSeeds(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fio-seeds-")
        with open(os.path.join(self.dir, "data.bin"), "wb") as f:
            f.truncate(16 << 20)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_each_seed_its_own_offsets_and_the_same_seed_the_same(self):
        for job in ("randread-uniform", "randread-zipf", "randrw"):
            a = offsets(self.dir, job, 1000)
            self.assertEqual(len(a), 64, job)
            self.assertEqual(offsets(self.dir, job, 1000), a, job + ": one seed, one sequence")
            b = offsets(self.dir, job, 1001)
            same = sum(x[1] == y[1] for x, y in zip(a, b))
            self.assertLess(same, 8, f"{job}: seeds 1000 and 1001 share {same} of 64 offsets")


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""cgroups.py against directory trees made to look like /sys/fs/cgroup (no root needed):
which hierarchy is detected, and what is written where for v1 and v2."""
import errno
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiment import cgroups  # noqa: E402

DEVICE = "254:0"
THROTTLE = {"read_iops": 300, "read_bps": 40 << 20, "write_iops": 0, "write_bps": 20 << 20}


def put(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def get(path):
    with open(path) as f:
        return f.read()


class Tree(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sg-cgroups-")
        self.root = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def v2_root(self, controllers="cpuset cpu io memory hugetlb pids", subtree=""):
        put(self.p("cgroup.controllers"), controllers + "\n")
        put(self.p("cgroup.subtree_control"), subtree + "\n")
        put(self.p("cgroup.procs"), "")

    def v1_root(self):
        put(self.p("memory", "memory.limit_in_bytes"), "9223372036854771712\n")
        put(self.p("memory", "cgroup.procs"), "")
        put(self.p("blkio", "cgroup.procs"), "")


class Detect(Tree):
    def test_v2_when_root_is_cgroup2(self):
        self.v2_root()
        self.assertEqual(cgroups.detect(self.root), ("v2", self.root))

    def test_v1_legacy(self):
        self.v1_root()
        self.assertEqual(cgroups.detect(self.root), ("v1", self.root))

    def test_hybrid_with_v1_memory_uses_v1(self):
        # systemd's hybrid layout, as on this project's machines: v1 controllers beside a
        # cgroup2 mount at unified/ that holds no memory controller.
        self.v1_root()
        put(self.p("unified", "cgroup.controllers"), "hugetlb\n")
        self.assertEqual(cgroups.detect(self.root), ("v1", self.root))

    def test_hybrid_with_memory_on_unified_uses_v2_there(self):
        put(self.p("cpu", "cgroup.procs"), "")
        put(self.p("unified", "cgroup.controllers"), "io memory\n")
        self.assertEqual(cgroups.detect(self.root), ("v2", self.p("unified")))

    def test_no_memory_controller(self):
        put(self.p("unified", "cgroup.controllers"), "hugetlb\n")
        with self.assertRaises(cgroups.CgroupError):
            cgroups.detect(self.root)

    def test_v1_memory_without_blkio(self):
        put(self.p("memory", "memory.limit_in_bytes"), "0\n")
        with self.assertRaisesRegex(cgroups.CgroupError, "blkio"):
            cgroups.detect(self.root)

    def test_open_cgroup_picks_the_hierarchy(self):
        self.v2_root()
        cg = cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)
        self.assertIsInstance(cg, cgroups.CgroupV2)
        self.assertEqual(cg.version, "v2")


class V1(Tree):
    def setUp(self):
        super().setUp()
        self.v1_root()
        self.cg = cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)

    def test_settings(self):
        self.assertIsInstance(self.cg, cgroups.CgroupV1)
        self.assertEqual(get(self.p("memory", "run", "memory.oom_control")), "1")
        blk = self.p("blkio", "run")
        self.assertEqual(get(os.path.join(blk, "blkio.throttle.read_iops_device")), "254:0 300")
        self.assertEqual(get(os.path.join(blk, "blkio.throttle.read_bps_device")),
                         f"254:0 {40 << 20}")
        self.assertEqual(get(os.path.join(blk, "blkio.throttle.write_bps_device")),
                         f"254:0 {20 << 20}")
        # 0 means "not throttled": nothing written.
        self.assertFalse(os.path.exists(os.path.join(blk, "blkio.throttle.write_iops_device")))

    def test_enter_writes_the_pid_to_both(self):
        self.cg.enter()
        for c in ("memory", "blkio"):
            self.assertEqual(get(self.p(c, "run", "cgroup.procs")), str(os.getpid()))

    def test_memory_and_limit(self):
        mem = self.p("memory", "run")
        put(os.path.join(mem, "memory.usage_in_bytes"), "500000000\n")
        put(os.path.join(mem, "memory.stat"), "cache 300000000\nrss 190000000\nshmem 4096\n"
                                              "dirty 8192\nwriteback 4096\ntotal_cache 1\n")
        self.assertEqual(self.cg.memory(), {"usage": 500000000, "cache": 300000000,
                                            "rss": 190000000, "shmem": 4096, "dirty": 8192,
                                            "writeback": 4096})
        self.assertEqual(self.cg.limit_cache_to(100000000), 300000000)
        self.assertEqual(get(os.path.join(mem, "memory.limit_in_bytes")), "300000000")
        self.assertEqual(self.cg.memory_dir(), mem)

    def test_background_reclaim_writes_the_limit_lower_first(self):
        mem = self.p("memory", "run")
        put(os.path.join(mem, "memory.usage_in_bytes"), "500000000\n")
        put(os.path.join(mem, "memory.stat"), "cache 300000000\nrss 190000000\n")
        written = []

        class Recorder(cgroups.CgroupV1):
            def set_limit(self, limit):
                written.append(limit)
        cg = Recorder.__new__(Recorder)
        cg.mem = mem
        # The cache (300 MB) is within `ahead` (50 MB) of the budget (320 MB): reclaim to
        # 50 MB below the limit, then the limit again.
        self.assertEqual(cg.limit_cache_to(320000000, 50000000), 520000000)
        self.assertEqual(written, [470000000, 520000000])
        written.clear()
        # Far below the budget: the limit only.
        self.assertEqual(cg.limit_cache_to(400000000, 50000000), 600000000)
        self.assertEqual(written, [600000000])
        written.clear()
        # A budget smaller than `ahead` (cache=none, budget 0 + slack): never below what is
        # not cache + the floor, and nothing when the cache is under it.
        put(os.path.join(mem, "memory.stat"), "cache 4096\nrss 190000000\n")
        put(os.path.join(mem, "memory.usage_in_bytes"), "200004096\n")
        self.assertEqual(cg.limit_cache_to(32 << 20, 32 << 20), 200000000 + (32 << 20))
        self.assertEqual(written, [200000000 + (32 << 20)])
        written.clear()
        put(os.path.join(mem, "memory.stat"), "cache 30000000\nrss 190000000\n")
        put(os.path.join(mem, "memory.usage_in_bytes"), "230000000\n")
        cg.limit_cache_to(32 << 20, 32 << 20)
        self.assertEqual(written, [200000000 + cgroups.RECLAIM_FLOOR, 200000000 + (32 << 20)])

    def test_pressure_events(self):
        mem = self.p("memory", "run")
        put(os.path.join(mem, "memory.failcnt"), "1234\n")
        put(os.path.join(mem, "memory.oom_control"), "oom_kill_disable 1\nunder_oom 1\n"
                                                     "oom_kill 0\n")
        self.assertEqual(self.cg.pressure_events(), {"limit_hits": 1234, "waiting": 1})

    def test_throttle_later(self):
        cg = cgroups.open_cgroup("later", DEVICE, {}, self.root)
        blk = self.p("blkio", "later")
        self.assertFalse(any(f.startswith("blkio.throttle") for f in os.listdir(blk)))
        cg.throttle(THROTTLE)
        self.assertEqual(get(os.path.join(blk, "blkio.throttle.read_iops_device")), "254:0 300")

    def test_device_io(self):
        blk = self.p("blkio", "run")
        put(os.path.join(blk, "blkio.throttle.io_service_bytes"),
            "254:0 Read 1000\n254:0 Write 200\n254:0 Sync 3\n254:0 Total 1200\n"
            "8:0 Read 99999\nTotal 101199\n")
        put(os.path.join(blk, "blkio.throttle.io_serviced"),
            "254:0 Read 10\n254:0 Write 2\n254:0 Total 12\n")
        self.assertEqual(self.cg.device_io(), (1000, 200, 10, 2))

    def test_remove(self):
        for c in ("memory", "blkio"):  # a real cgroup's files go with rmdir
            for f in os.listdir(self.p(c, "run")):
                os.unlink(self.p(c, "run", f))
        self.cg.remove()
        for c in ("memory", "blkio"):
            self.assertFalse(os.path.exists(self.p(c, "run")))


class V2(Tree):
    def test_settings(self):
        self.v2_root(subtree="cpu")
        cg = cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)
        self.assertEqual(get(self.p("cgroup.subtree_control")), "+memory +io")
        self.assertEqual(get(self.p("run", "memory.max")), "max")
        self.assertEqual(get(self.p("run", "io.max")),
                         f"254:0 riops=300 rbps={40 << 20} wbps={20 << 20}")
        self.assertEqual(cg.dirs(), (self.p("run"),))

    def test_controllers_already_enabled(self):
        self.v2_root(subtree="cpu io memory")
        cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)
        self.assertEqual(get(self.p("cgroup.subtree_control")), "cpu io memory\n")

    def test_controller_not_available(self):
        self.v2_root(controllers="cpu memory")
        with self.assertRaisesRegex(cgroups.CgroupError, "io"):
            cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)

    def test_no_internal_processes(self):
        # The parent holds processes and is not the hierarchy's root: the kernel refuses
        # controllers for its children (EBUSY) until they move to a leaf.
        self.v2_root()
        put(self.p("cgroup.procs"), "101\n102\n")

        class Kernel(cgroups.CgroupV2):
            def write(self, d, name, value):
                if name == "cgroup.subtree_control" and get(os.path.join(d, "cgroup.procs")).strip():
                    raise OSError(errno.EBUSY, "Device or resource busy")
                if name == "cgroup.procs":  # a move: appended there, gone from the parent
                    with open(os.path.join(d, name), "a") as f:
                        f.write(f"{value}\n")
                    parent = os.path.dirname(d)
                    left = [p for p in get(os.path.join(parent, "cgroup.procs")).split()
                            if p != str(value)]
                    put(os.path.join(parent, "cgroup.procs"), "".join(p + "\n" for p in left))
                    return
                cgroups.Cgroup.write(d, name, value)

        Kernel("run", DEVICE, THROTTLE, self.root)
        self.assertEqual(get(self.p(cgroups.LEAF, "cgroup.procs")).split(), ["101", "102"])
        self.assertEqual(get(self.p("cgroup.procs")), "")
        self.assertEqual(get(self.p("cgroup.subtree_control")), "+memory +io")

    def test_other_errors_are_not_hidden(self):
        self.v2_root()

        class Refuses(cgroups.CgroupV2):
            def write(self, d, name, value):
                raise OSError(errno.EACCES, "Permission denied")

        with self.assertRaises(PermissionError):
            Refuses("run", DEVICE, THROTTLE, self.root)

    def test_memory_limit_and_io(self):
        self.v2_root()
        cg = cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)
        put(self.p("run", "memory.current"), "500000000\n")
        put(self.p("run", "memory.stat"), "anon 190000000\nfile 300000000\nshmem 4096\n"
                                          "file_mapped 1\nfile_dirty 8192\n"
                                          "file_writeback 4096\n")
        self.assertEqual(cg.memory(), {"usage": 500000000, "cache": 300000000,
                                       "rss": 190000000, "shmem": 4096, "dirty": 8192,
                                       "writeback": 4096})
        self.assertEqual(cg.limit_cache_to(100000000), 300000000)
        self.assertEqual(get(self.p("run", "memory.high")), "300000000")
        self.assertEqual(get(self.p("run", "memory.max")), "max")
        self.assertEqual(cg.memory_dir(), self.p("run"))
        put(self.p("run", "memory.events"), "low 0\nhigh 77\nmax 0\noom 0\noom_kill 0\n")
        self.assertEqual(cg.pressure_events(), {"limit_hits": 77, "waiting": 0})
        put(self.p("run", "io.stat"),
            "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"
            "254:0 rbytes=1000 wbytes=200 rios=10 wios=2 dbytes=0 dios=0\n")
        self.assertEqual(cg.device_io(), (1000, 200, 10, 2))
        put(self.p("run", "io.stat"), "")
        self.assertEqual(cg.device_io(), (0, 0, 0, 0))

    def test_enter_and_remove(self):
        self.v2_root()
        cg = cgroups.open_cgroup("run", DEVICE, THROTTLE, self.root)
        cg.enter()
        self.assertEqual(get(self.p("run", "cgroup.procs")), str(os.getpid()))
        for f in os.listdir(self.p("run")):  # a real cgroup's files go with rmdir
            os.unlink(self.p("run", f))
        cg.remove()
        self.assertFalse(os.path.exists(self.p("run")))


if __name__ == "__main__":
    unittest.main()

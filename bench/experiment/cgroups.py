"""The cgroups that hold the QEMU processes of one run: a v1 memory cgroup bounds the host page
cache they may use, a v1 blkio cgroup throttles the device holding the images.

memory.limit_in_bytes is the bound, memory.oom_control = 1 (a QEMU at the limit waits for the
next re-set instead of being killed); blkio.throttle.*_device throttle the device. Every path
is under `root` (a parameter). remove() is called on exit and on signals (cli.py).
"""
import os
import time

ROOT = "/sys/fs/cgroup"


def read_kv(path):
    """`key value` lines (memory.stat) as a dict of ints."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = int(parts[1])
    return out


def open_cgroup(name, device, throttle, root=ROOT):
    """The cgroups of one run."""
    return CgroupV1(name, device, throttle, root)


class Cgroup:
    """What a run needs of its cgroup; one subclass per hierarchy."""
    version = None

    @staticmethod
    def write(d, name, value):
        with open(os.path.join(d, name), "w") as f:
            f.write(str(value))

    @staticmethod
    def read(d, name):
        with open(os.path.join(d, name)) as f:
            return f.read()

    def dirs(self):
        raise NotImplementedError

    def enter(self):
        """Called in a child before exec: it and all it starts (QEMU) are charged here."""
        pid = str(os.getpid())
        for d in self.dirs():
            self.write(d, "cgroup.procs", pid)

    def memory(self):
        """usage, cache, rss, shmem: bytes charged to the cgroup."""
        raise NotImplementedError

    def set_limit(self, limit):
        raise NotImplementedError

    def limit_cache_to(self, budget):
        """Caps the page cache at `budget`: limit = what is not page cache now + budget.
        Guest RAM and TCG's code buffers are anonymous and grow for a while, so this is
        called again every sample (a fixed limit let anon growth squeeze the cache to nothing
        and then OOM-killed QEMU). No swap here: reclaim takes page cache only."""
        m = self.memory()
        limit = m["usage"] - m["cache"] + budget
        try:
            self.set_limit(limit)
        except OSError:  # EBUSY: could not reclaim down to it right now; next sample retries
            pass
        return limit

    def device_io(self):
        """(read bytes, write bytes, read ios, write ios) on the throttled device."""
        raise NotImplementedError

    def remove(self):
        for d in self.dirs():
            for _ in range(50):
                try:
                    if os.path.isdir(d):
                        os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)


class CgroupV1(Cgroup):
    """One v1 memory cgroup and one v1 blkio cgroup for the QEMU processes of one run."""
    version = "v1"

    def __init__(self, name, device, limits, root=ROOT):
        self.mem = os.path.join(root, "memory", name)
        self.blk = os.path.join(root, "blkio", name)
        self.device = device
        for d in (self.mem, self.blk):
            os.makedirs(d, exist_ok=True)
        # A QEMU that hits the limit waits (instead of being killed) until the next sample
        # raises the limit: TCG's anonymous memory grows in 2 MiB huge pages for a while.
        self.write(self.mem, "memory.oom_control", 1)
        for key, value in limits.items():
            if value:
                self.write(self.blk, f"blkio.throttle.{key}_device", f"{device} {value}")

    def dirs(self):
        return (self.mem, self.blk)

    def memory(self):
        st = read_kv(os.path.join(self.mem, "memory.stat"))
        usage = int(self.read(self.mem, "memory.usage_in_bytes"))
        return {"usage": usage, "cache": st.get("cache", 0), "rss": st.get("rss", 0),
                "shmem": st.get("shmem", 0)}

    def set_limit(self, limit):
        self.write(self.mem, "memory.limit_in_bytes", limit)

    def device_io(self):
        res = [0, 0, 0, 0]
        for i, name in ((0, "blkio.throttle.io_service_bytes"), (2, "blkio.throttle.io_serviced")):
            for line in self.read(self.blk, name).splitlines():
                p = line.split()
                if len(p) == 3 and p[0] == self.device:
                    if p[1] == "Read":
                        res[i] += int(p[2])
                    elif p[1] == "Write":
                        res[i + 1] += int(p[2])
        return tuple(res)

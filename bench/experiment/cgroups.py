"""The cgroup that holds the QEMU processes of one run: it bounds the host page cache they may
use (memory controller) and throttles the device holding the images (I/O controller).

Which hierarchy (detect()):
  v2  `root` is a cgroup2 mount (it has cgroup.controllers; `stat -f` says cgroup2fs), or a
      hybrid host whose memory controller is not on v1 but on `root`/unified;
  v1  `root` holds v1 controller mounts (legacy, or hybrid with the memory controller on v1):
      `root`/memory and `root`/blkio.
v1 (CgroupV1): one cgroup in the memory hierarchy and one in blkio, both named after the run.
  memory.limit_in_bytes is the bound, memory.oom_control = 1 (a QEMU at the limit waits for the
  next re-set instead of being killed); blkio.throttle.*_device throttle the device.
v2 (CgroupV2): one leaf cgroup `root`/NAME. memory.high is the bound: v2 has no
  memory.oom_control, and memory.high is its "reclaim and throttle, never kill" limit, which is
  what v1's limit with oom_control = 1 does (memory.max stays `max`: written below QEMU's
  growing anonymous memory it would OOM-kill QEMU). io.max "MAJ:MIN rbps= wbps= riops= wiops="
  throttles the device. +memory +io are enabled in `root`'s cgroup.subtree_control when they
  are not yet; where that is refused because `root` holds processes and is not the hierarchy's
  root (the "no internal processes" rule, e.g. a container's own cgroup namespace), those
  processes are first moved to a leaf `root`/sg-bench-leaf (left there: it has no limits).
Every path is under `root` (a parameter: the unit tests use a directory made to look like
/sys/fs/cgroup). remove() is called on exit and on signals (bench/experiment/cli.py).
"""
import errno
import os
import time

ROOT = "/sys/fs/cgroup"
LEAF = "sg-bench-leaf"
RECLAIM_FLOOR = 16 << 20  # background reclaim leaves at least this much page cache


class CgroupError(RuntimeError):
    """No usable memory/I/O controller, or the kernel refused a setting."""


def read_kv(path):
    """`key value` lines (memory.stat) as a dict of ints."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = int(parts[1])
    return out


def detect(root=ROOT):
    """('v1', root) or ('v2', directory of the cgroup2 hierarchy to use). Raises CgroupError."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return "v2", root
    if os.path.exists(os.path.join(root, "memory", "memory.limit_in_bytes")):
        if not os.path.isdir(os.path.join(root, "blkio")):
            raise CgroupError(f"cgroup v1 memory controller at {root}/memory but no blkio "
                              f"controller at {root}/blkio")
        return "v1", root
    unified = os.path.join(root, "unified")
    try:
        with open(os.path.join(unified, "cgroup.controllers")) as f:
            if "memory" in f.read().split():
                return "v2", unified
    except OSError:
        pass
    raise CgroupError(f"no memory cgroup controller under {root} (neither v1 nor v2)")


def open_cgroup(name, device, throttle, root=ROOT):
    """The cgroup of one run, in whichever hierarchy `root` has (see detect())."""
    version, base = detect(root)
    return (CgroupV2 if version == "v2" else CgroupV1)(name, device, throttle, base)


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
        """usage, cache, rss, shmem, dirty, writeback: bytes charged to the cgroup."""
        raise NotImplementedError

    def memory_dir(self):
        """The directory of the memory controller (what `singleton watch --pressure-cgroup`
        is given)."""
        raise NotImplementedError

    def pressure_events(self):
        """{"limit_hits": count so far, "waiting": 1 if a task waits at the limit now}."""
        raise NotImplementedError

    def throttle(self, limits):
        """Throttles the device (read/write bytes and IOPS, zero = unlimited)."""
        raise NotImplementedError

    def set_limit(self, limit):
        raise NotImplementedError

    def limit_cache_to(self, budget, ahead=0):
        """Caps the page cache at `budget`: limit = what is not page cache now + budget.
        Guest RAM and TCG's code buffers are anonymous and grow for a while, so this is
        called again every sample (a fixed limit let anon growth squeeze the cache to nothing
        and then OOM-killed QEMU). No swap here: reclaim takes page cache only.
        `ahead` > 0 reclaims in the background, as kswapd does between a host's watermarks:
        when the cache is within `ahead` bytes of the limit, the limit is first written
        `ahead` lower (the kernel reclaims down to it in the writer's context, this thread,
        not QEMU's) and then set back. Without it, a cache that fills its budget is
        reclaimed only by QEMU's own allocations, page by page at the limit (direct
        reclaim in its I/O path: see bench/README.md, the seqread regression)."""
        m = self.memory()
        limit = m["usage"] - m["cache"] + budget
        # Never below what is not page cache + RECLAIM_FLOOR: with (almost) no cache to take,
        # a limit at QEMU's own usage fails its kernel allocations (a new thread: ENOMEM, and
        # QEMU aborts; seen with cache=none and a budget of 0 + slack).
        low = max(limit - ahead, m["usage"] - m["cache"] + RECLAIM_FLOOR)
        if ahead and low < limit and m["usage"] > low:
            try:
                self.set_limit(low)
            except OSError:  # EBUSY: could not reclaim that much (dirty pages); go on
                pass
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
        self.throttle(limits)

    def throttle(self, limits):
        """blkio.throttle.<key>_device for each non-zero limit."""
        for key, value in limits.items():
            if value:
                self.write(self.blk, f"blkio.throttle.{key}_device", f"{self.device} {value}")

    def dirs(self):
        return (self.mem, self.blk)

    def memory_dir(self):
        return self.mem

    def memory(self):
        st = read_kv(os.path.join(self.mem, "memory.stat"))
        usage = int(self.read(self.mem, "memory.usage_in_bytes"))
        return {"usage": usage, "cache": st.get("cache", 0), "rss": st.get("rss", 0),
                "shmem": st.get("shmem", 0), "dirty": st.get("dirty", 0),
                "writeback": st.get("writeback", 0)}

    def pressure_events(self):
        """Times the cgroup hit its limit (memory.failcnt) and whether a task waits at it
        now (memory.oom_control under_oom = 1: with oom_kill_disable it sleeps until the
        limit is raised or memory is freed)."""
        fail = int(self.read(self.mem, "memory.failcnt")) if os.path.exists(
            os.path.join(self.mem, "memory.failcnt")) else 0
        oom = read_kv(os.path.join(self.mem, "memory.oom_control")) if os.path.exists(
            os.path.join(self.mem, "memory.oom_control")) else {}
        return {"limit_hits": fail, "waiting": oom.get("under_oom", 0)}

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


# io.max keys of the throttle settings (the v1 file names are blkio.throttle.<key>_device).
IO_MAX_KEYS = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops",
               "write_iops": "wiops"}


class CgroupV2(Cgroup):
    """One leaf cgroup of the unified hierarchy with the memory and io controllers."""
    version = "v2"

    def __init__(self, name, device, limits, root=ROOT):
        self.parent = root
        self.dir = os.path.join(root, name)
        self.device = device
        self.enable_controllers()
        os.makedirs(self.dir, exist_ok=True)
        self.write(self.dir, "memory.max", "max")
        self.throttle(limits)

    def throttle(self, limits):
        """io.max for the non-zero limits."""
        settings = [f"{IO_MAX_KEYS[k]}={v}" for k, v in limits.items() if v]
        if settings:
            self.write(self.dir, "io.max", f"{self.device} {' '.join(settings)}")

    def dirs(self):
        return (self.dir,)

    def memory_dir(self):
        return self.dir

    def enable_controllers(self):
        """+memory +io in the parent's subtree_control, so that its children have them."""
        p = self.parent
        enabled = self.read(p, "cgroup.subtree_control").split()
        missing = [c for c in ("memory", "io") if c not in enabled]
        if not missing:
            return
        available = self.read(p, "cgroup.controllers").split()
        absent = [c for c in missing if c not in available]
        if absent:
            raise CgroupError(f"cgroup v2 at {p}: controller(s) {' '.join(absent)} not available "
                              "(not enabled in its parent's cgroup.subtree_control)")
        change = " ".join(f"+{c}" for c in missing)
        try:
            self.write(p, "cgroup.subtree_control", change)
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            # No internal processes: a cgroup other than the root that holds processes cannot
            # give controllers to its children. Move them to a leaf of their own, then retry.
            self.move_processes_to_leaf()
            self.write(p, "cgroup.subtree_control", change)

    def move_processes_to_leaf(self):
        leaf = os.path.join(self.parent, LEAF)
        os.makedirs(leaf, exist_ok=True)
        for pid in self.read(self.parent, "cgroup.procs").split():
            try:
                self.write(leaf, "cgroup.procs", pid)
            except OSError as e:
                if e.errno != errno.ESRCH:  # exited meanwhile
                    raise

    def memory(self):
        st = read_kv(os.path.join(self.dir, "memory.stat"))
        usage = int(self.read(self.dir, "memory.current"))
        return {"usage": usage, "cache": st.get("file", 0), "rss": st.get("anon", 0),
                "shmem": st.get("shmem", 0), "dirty": st.get("file_dirty", 0),
                "writeback": st.get("file_writeback", 0)}

    def pressure_events(self):
        """Times the cgroup went over memory.high (memory.events `high`: reclaim and
        throttling of its tasks); `waiting` is v1's under_oom, which v2 has not."""
        ev = {}
        try:
            ev = dict((k, int(v)) for k, v in (line.split() for line in
                      self.read(self.dir, "memory.events").splitlines() if line.strip()))
        except (OSError, ValueError):
            pass
        return {"limit_hits": ev.get("high", 0), "waiting": 0}

    def set_limit(self, limit):
        self.write(self.dir, "memory.high", limit)

    def device_io(self):
        """From io.stat: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..`."""
        for line in self.read(self.dir, "io.stat").splitlines():
            p = line.split()
            if p and p[0] == self.device:
                kv = dict(x.split("=", 1) for x in p[1:] if "=" in x)
                return tuple(int(kv.get(k, 0)) for k in ("rbytes", "wbytes", "rios", "wios"))
        return (0, 0, 0, 0)

"""How much of a file the host page cache holds: cachestat(2), mincore(2) where it is missing.

cachestat(2) (Linux 6.5+) counts exactly, maps nothing and has no effect on the cache. Debian
12's 6.1 kernel has none (the syscall returns ENOSYS): there the pages are counted with
mincore(2) over a PROT_READ shared mapping of the range, which never faults a page in (the
count is the same as util-linux `fincore`). Both through ctypes: standard library only.
Used by bench/fio-experiment (image files) and bench/watch-latency (ranges of one image).
"""
import ctypes
import errno
import mmap
import os

PAGE = os.sysconf("SC_PAGE_SIZE")
SYS_CACHESTAT = 451  # the same number on every architecture with the generic syscall table

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
LIBC.mmap.restype = ctypes.c_void_p
LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
MAP_FAILED = ctypes.c_void_p(-1).value


class CacheStatRange(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class CacheStat(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("nr_cache", "nr_dirty", "nr_writeback", "nr_evicted", "nr_recently_evicted")]


def cachestat_pages(fd, offset=0, length=0):
    """Pages of [offset, offset + length) of `fd` in the page cache (length 0: to the end of
    the file). Raises OSError (ENOSYS where the kernel has no cachestat)."""
    rng, st = CacheStatRange(offset, length), CacheStat()
    if LIBC.syscall(SYS_CACHESTAT, fd, ctypes.byref(rng), ctypes.byref(st), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cachestat: {os.strerror(err)}")
    return st.nr_cache


def mincore_pages(fd, offset=0, length=0):
    """The same count from mincore(2) over a read-only shared mapping of the range."""
    size = os.fstat(fd).st_size
    end = size if length == 0 else min(size, offset + length)
    first = offset // PAGE * PAGE
    if end <= first:
        return 0
    span = end - first
    addr = LIBC.mmap(None, span, mmap.PROT_READ, mmap.MAP_SHARED, fd, first)
    if addr in (None, MAP_FAILED):
        err = ctypes.get_errno()
        raise OSError(err, f"mmap: {os.strerror(err)}")
    try:
        vec = (ctypes.c_ubyte * ((span + PAGE - 1) // PAGE))()
        if LIBC.mincore(addr, span, vec) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mincore: {os.strerror(err)}")
        return sum(b & 1 for b in vec)
    finally:
        LIBC.munmap(addr, span)


def cached_runs(path):
    """(cached pages, runs of contiguous cached pages) of `path` from mincore(2): how
    fragmented its host cache is (readahead reads only the gaps between cached pages, so a
    scattered cache turns a sequential read into many short device reads). (0, 0) when the
    file cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return 0, 0
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, 0
        addr = LIBC.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, MAP_FAILED):
            return 0, 0
        try:
            vec = (ctypes.c_ubyte * ((size + PAGE - 1) // PAGE))()
            if LIBC.mincore(addr, size, vec) != 0:
                return 0, 0
            bits = bytes(vec)
        finally:
            LIBC.munmap(addr, size)
    finally:
        os.close(fd)
    pages = runs = 0
    prev = 0
    for b in bits:
        b &= 1
        pages += b
        runs += b and not prev
        prev = b
    return pages, runs


_have_cachestat = None  # None: not tried yet


def cached_pages(fd, offset=0, length=0):
    """Pages of the range in the host page cache: cachestat(2), or mincore(2) where the kernel
    has no cachestat (ENOSYS, or EPERM from a seccomp filter); decided at the first call."""
    global _have_cachestat
    if _have_cachestat is not False:
        try:
            n = cachestat_pages(fd, offset, length)
            _have_cachestat = True
            return n
        except OSError as e:
            if e.errno not in (errno.ENOSYS, errno.EPERM) or _have_cachestat:
                raise
            _have_cachestat = False
    return mincore_pages(fd, offset, length)


def cached_bytes(path):
    """Bytes of `path` in the host page cache (0 when it cannot be opened or counted)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return 0
    try:
        return cached_pages(fd) * PAGE
    except OSError:
        return 0
    finally:
        os.close(fd)


def drop_host_cache(path):
    """Write back and evict one file's host cache (not the whole host's: others work here)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

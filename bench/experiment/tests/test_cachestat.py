#!/usr/bin/python3
"""cachestat.py: cachestat(2) and its mincore(2) fallback count the same pages, and the
fallback is taken where the kernel has no cachestat (ENOSYS, as on Debian 12's 6.1)."""
import errno
import os
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from experiment import cachestat  # noqa: E402

PAGE = cachestat.PAGE
NO_SUCH_SYSCALL = 1 << 20  # no kernel has it: syscall() fails with ENOSYS


def kernel_has_cachestat():
    try:
        with tempfile.TemporaryFile() as f:
            cachestat.cachestat_pages(f.fileno())
        return True
    except OSError as e:
        return e.errno not in (errno.ENOSYS, errno.EPERM)


class CachedPages(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sg-cachestat-")
        self.path = os.path.join(self._tmp.name, "file")
        with open(self.path, "wb") as f:
            f.write(os.urandom(64 * PAGE + 100))  # a partial last page too
        self.fd = os.open(self.path, os.O_RDONLY)
        os.read(self.fd, 1)  # the file stays cached, as after a write; counting is read-only
        patcher = mock.patch.object(cachestat, "_have_cachestat", None)
        patcher.start()
        self.addCleanup(patcher.stop)

    def tearDown(self):
        os.close(self.fd)
        self._tmp.cleanup()

    def counts(self, offset=0, length=0):
        m = cachestat.mincore_pages(self.fd, offset, length)
        if kernel_has_cachestat():
            self.assertEqual(cachestat.cachestat_pages(self.fd, offset, length), m)
        return m

    def test_whole_file(self):
        n = self.counts()
        self.assertGreater(n, 0)  # just written
        self.assertLessEqual(n, 65)
        self.assertEqual(cachestat.cached_pages(self.fd), n)

    def test_ranges(self):
        whole = self.counts()
        parts = self.counts(0, 10 * PAGE) + self.counts(10 * PAGE, 30 * PAGE) + \
            self.counts(40 * PAGE, 0)
        self.assertEqual(parts, whole)
        self.assertEqual(self.counts(70 * PAGE, PAGE), 0)  # beyond the end

    def test_fallback_without_cachestat(self):
        expected = cachestat.mincore_pages(self.fd)
        with mock.patch.object(cachestat, "SYS_CACHESTAT", NO_SUCH_SYSCALL):
            with self.assertRaises(OSError) as e:
                cachestat.cachestat_pages(self.fd)
            self.assertEqual(e.exception.errno, errno.ENOSYS)
            self.assertEqual(cachestat.cached_pages(self.fd), expected)
            self.assertIs(cachestat._have_cachestat, False)  # decided once
            self.assertEqual(cachestat.cached_bytes(self.path), expected * PAGE)

    def test_runs_of_cached_pages(self):
        os.fsync(self.fd)
        os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if self.counts() != 0:
            self.skipTest("this file system keeps the pages (tmpfs?)")
        self.assertEqual(cachestat.cached_runs(self.path), (0, 0))
        os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_RANDOM)  # no readahead around the reads
        os.pread(self.fd, 3 * PAGE, 10 * PAGE)
        os.pread(self.fd, PAGE, 30 * PAGE)
        pages, runs = cachestat.cached_runs(self.path)
        self.assertEqual(pages, self.counts())
        if pages != 4:  # a large folio brought more
            self.skipTest(f"reads cached {pages} pages, not 4 (large folios?)")
        self.assertEqual(runs, 2)
        self.assertEqual(cachestat.cached_runs(os.path.join(os.path.dirname(self.path), "none")),
                         (0, 0))

    def test_evicted_then_partly_read(self):
        os.fsync(self.fd)
        os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if self.counts() != 0:
            self.skipTest("this file system keeps the pages (tmpfs?)")
        for _ in range(3):  # counting faults nothing in
            self.assertEqual(self.counts(), 0)
        os.pread(self.fd, 3 * PAGE, 10 * PAGE)
        self.assertEqual(self.counts(10 * PAGE, 3 * PAGE), 3)
        self.assertGreaterEqual(self.counts(), 3)

    def test_empty_and_missing_files(self):
        empty = os.path.join(self._tmp.name, "empty")
        open(empty, "w").close()
        self.assertEqual(cachestat.cached_bytes(empty), 0)
        self.assertEqual(cachestat.cached_bytes(os.path.join(self._tmp.name, "absent")), 0)

    def test_drop_host_cache(self):
        cachestat.drop_host_cache(self.path)  # fsync + DONTNEED: no error, file intact
        self.assertEqual(os.path.getsize(self.path), 64 * PAGE + 100)


if __name__ == "__main__":
    unittest.main()

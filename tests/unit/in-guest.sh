# Every unit-test binary inside a kit guest (busybox sh, root). Run by tests/unit/run-in-guest
# via sg-guest, with:
#   /payload/bin/   the unit-test binaries, the singleton CLI and the tools the tests run (dash
#                   as /bin/sh, bash, qemu-img, setpriv, promtool); their libraries and the
#                   loader in /payload/lib
#   /payload/env    SG_UNIT_BINARIES (names, in order), SG_HOST_BIN_DIR (where the host build
#                   keeps them: tests that run the CLI by its build path find it there too)
#   /dev/sg/scratch an empty ext4 disk (4 KiB blocks): /tmp, /var/tmp, TMPDIR and the working
#                   directory, so the tests' files live on a disk filesystem as on a host
# Prints "--- ok NAME" (with gtest's totals, skips and kernel cases) or "--- FAILED NAME (...)"
# after gtest's whole log, per binary, and exits with the number of binaries that failed.
. /payload/env

echo "kernel $(uname -r), $(nproc) cpu(s), $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"

# What a host has and the busybox guest lacks.
chmod 755 /  # the initramfs root may be 0700: the tests that drop to nobody need to reach /proc
ifconfig lo 127.0.0.1 up  # the metrics server tests listen on loopback
mount -t ext4 /dev/sg/scratch /tmp || { echo "in-guest: cannot mount the scratch disk"; exit 125; }
chmod 1777 /tmp
mkdir -p /var && ln -sfn /tmp /var/tmp
mkdir -p /root
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >/etc/group
echo singleton-guest >/etc/hostname
hostname singleton-guest
ln -sf /payload/bin/bash /bin/bash
# popen() and system() run /bin/sh: dash, as on Debian hosts. Busybox's sh would run its own
# applets (a setpriv without --reuid) before the real tools on PATH.
ln -sf /payload/bin/dash /bin/sh
# The loader from the payload (the kit links it from /tools, which only root can enter): the
# tests also run the CLI as nobody.
ln -sf /payload/lib/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
mkdir -p "${SG_HOST_BIN_DIR%/*}" && ln -sfn /payload/bin "$SG_HOST_BIN_DIR"
export TMPDIR=/tmp HOME=/root
cd /tmp || exit 125

fails=0
for name in $SG_UNIT_BINARIES; do
	bin=/payload/bin/$name
	echo "=== $name"
	if [ ! -x "$bin" ]; then
		echo "--- FAILED $name (missing from the payload)"
		fails=$((fails + 1))
		continue
	fi
	start=$(date +%s)
	"$bin" --gtest_color=no >/tmp/gtest.log 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	if [ $rc -eq 0 ] && grep -q '^\[  PASSED  \]' /tmp/gtest.log; then
		# Passed: the totals, any skip, and which case each kernel-dependent test took.
		grep -E '^\[ KERNEL   \]|^\[  (SKIPPED |PASSED  )\]|^\[==========\] .* ran' /tmp/gtest.log
		echo "--- ok $name (${took}s)"
	else
		# Failed or crashed: the whole log (the last "[ RUN ]" names the test that crashed).
		cat /tmp/gtest.log
		why="exit $rc"
		[ $rc -gt 128 ] && why="killed by signal $((rc - 128)): crashed"
		[ $rc -eq 0 ] && why="exit 0 without gtest's PASSED line"
		echo "--- FAILED $name ($why, ${took}s)"
		fails=$((fails + 1))
	fi
	rm -f /tmp/gtest.log
	# Whatever a crashed test left behind must not fill the disk for the next binary.
	rm -rf /tmp/singleton-test-* 2>/dev/null
	sync
done
echo "in-guest: $fails binary(ies) failed"
exit $fails

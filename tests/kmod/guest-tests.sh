# In-guest tests of singleton_pcache (busybox sh, root). Run by tests/kmod/run-guest-tests via
# sg-guest: /payload/ko/singleton_pcache.ko, /payload/bin/sg_pcache_test, disks /dev/sg/ext4 and
# /dev/sg/xfs (empty filesystems), /payload/bin/sg_backend_agree and /payload/bin/singleton (the
# scrubber CLI): a missing binary fails its steps (nothing is skipped).
# Logs "=== STEP" / "--- ok STEP" / "--- FAILED STEP" to /dev/sg/results (an ext4 disk the host
# reads back with debugfs), with the whole kernel log (dmesg.txt); the console keeps the kernel's
# own urgent messages (an oops reaches the host even if this script dies) and one summary line.
# Exits with the number of failed steps.
mkdir -p /results
mount -t ext4 /dev/sg/results /results || { echo "kmod: no results disk"; exit 125; }
exec 3>&1
exec >/results/log.txt 2>&1
fails=0
failed_steps=""
step() {
	name=$1
	shift
	echo "=== $name"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "--- ok $name"
	else
		echo "--- FAILED $name (exit $rc)"
		fails=$((fails + 1))
		failed_steps="$failed_steps $name"
	fi
	sync
}

# Test sizes from the host (run-guest-tests writes them; defaults are the minimums).
[ -f /payload/env ] && . /payload/env
T=/payload/bin/sg_pcache_test
KO=/payload/ko/singleton_pcache.ko
# The last: the module asked gup about an address outside any mapping (below a stack).
BAD='(^|[^A-Za-z])BUG|WARNING|Oops|general protection|KASAN|GUP no longer grows the stack'

echo "kernel $(uname -r), $(nproc) cpu(s)"
dmesg > /tmp/dmesg.boot

load_module() {
	insmod "$KO" || return 1
	grep -q '^singleton_pcache ' /proc/modules || { echo "not in /proc/modules"; return 1; }
	i=0
	while [ ! -c /dev/singleton_pcache ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -c /dev/singleton_pcache ] || { echo "no /dev/singleton_pcache"; return 1; }
	ls -l /dev/singleton_pcache
	# The release version of kmod/VERSION (run-guest-tests passes it), not the ABI's.
	v=$(cat /sys/module/singleton_pcache/version) || return 1
	echo "module version $v"
	[ "$v" = "$SG_VERSION" ] || { echo "module version '$v', kmod/VERSION '$SG_VERSION'"; return 1; }
}
step load load_module
step device $T device

mounts() {
	mkdir -p /mnt/ext4 /mnt/xfs /mnt/tmp /mnt/huge /mnt/ram
	mount -t ext4 /dev/sg/ext4 /mnt/ext4 || return 1
	mount -t xfs /dev/sg/xfs /mnt/xfs || return 1
	mount -t tmpfs -o size=256m tmpfs /mnt/tmp || return 1
	mount -t tmpfs -o size=256m,huge=always tmpfs /mnt/huge || return 1
	mount -t ramfs ramfs /mnt/ram || return 1
	grep -E ' /mnt/' /proc/mounts
}
step mount mounts

# Huge pages for the hugetlb and snapshot-agree steps (32 MiB of the guest's 1 GiB).
hugepages() {
	[ -w /proc/sys/vm/nr_hugepages ] || { echo "this kernel has no hugetlbfs"; return 1; }
	echo 16 > /proc/sys/vm/nr_hugepages || return 1
	grep -E '^(HugePages_(Total|Free)|Hugepagesize):' /proc/meminfo
	grep -qE '^HugePages_Total: +16$' /proc/meminfo ||
		{ echo "16 huge pages asked, fewer allocated"; return 1; }
}
step hugepages hugepages

step compare-ext4 $T compare /mnt/ext4 ext4
step compare-xfs $T compare /mnt/xfs xfs large
step compare-tmpfs $T compare /mnt/tmp tmpfs
step compare-tmpfs-huge $T compare /mnt/huge tmpfs-huge huge
step blockdev $T blockdev /dev/sg/ext4
step evict-ext4 $T evict /mnt/ext4 ext4
step evict-xfs $T evict /mnt/xfs xfs
step evict-tmpfs $T evict /mnt/tmp tmpfs shmem
step evict-tmpfs-huge $T evict /mnt/huge tmpfs-huge shmem
step evict-ramfs $T evict /mnt/ram ramfs shmem
step halffolio-xfs $T halffolio /mnt/xfs xfs
step halffolio-tmpfs-huge $T halffolio /mnt/huge tmpfs-huge shmem
step retired $T retired /mnt/ext4
step badinput $T badinput /mnt/ext4
step abi $T abi /mnt/ext4
step process $T process /mnt/ext4
step ksm $T ksm
step hugetlb $T hugetlb
step fuzz $T fuzz ${SG_FUZZ_IOCTLS:-100000} /mnt/ext4 /mnt/xfs /mnt/tmp /mnt/huge
step dirtysafety-ext4 $T dirtysafety /mnt/ext4 ext4 10
step dirtysafety-xfs $T dirtysafety /mnt/xfs xfs 10
step stress $T stress ${SG_STRESS_SECONDS:-30} /mnt/ext4 /mnt/xfs /mnt/huge
step procrace $T procrace ${SG_PROCRACE_SECONDS:-8}

# The scrubber's two backends agree page for page. The CMake build always bundles the agree
# binary: without it the test fails (a skip would hide a broken payload).
no_agree_bin() {
	echo "/payload/bin/sg_backend_agree missing from the payload (run-guest-tests --agree-bin)"
	return 1
}
if [ -x /payload/bin/sg_backend_agree ]; then
	for d in ext4 xfs tmp huge; do
		step backends-agree-$d /payload/bin/sg_backend_agree /mnt/$d
	done
	# A snapshot hashed in place by the module equals one copied out.
	step snapshot-agree /payload/bin/sg_backend_agree --snapshot
else
	step backends-agree no_agree_bin
fi

# The CLI with each backend (`auto` must say it uses kmod).
cli_pagecache() {
	dd if=/dev/urandom of=/mnt/ext4/cli.bin bs=1M count=4 2>/dev/null || return 1
	for b in kmod mincore auto; do
		/payload/bin/singleton pagecache /mnt/ext4/cli.bin --backend $b --json >/tmp/pc.$b || return 1
		want=$b
		[ $b = auto ] && want=kmod
		grep -q "\"backend\":\"$want\"" /tmp/pc.$b || { cat /tmp/pc.$b; return 1; }
		head -c 300 /tmp/pc.$b; echo
	done
}
no_singleton_bin() {
	echo "/payload/bin/singleton missing from the payload (run-guest-tests --singleton-bin)"
	return 1
}
if [ -x /payload/bin/singleton ]; then
	step cli-pagecache cli_pagecache
else
	step cli-pagecache no_singleton_bin
fi

unload() {
	umount /mnt/ext4 /mnt/xfs /mnt/tmp /mnt/huge /mnt/ram
	rmmod singleton_pcache || return 1
	grep -q '^singleton_pcache ' /proc/modules && { echo "still loaded"; return 1; }
	[ -e /dev/singleton_pcache ] && { echo "device still there"; return 1; }
	# Load and unload once more: nothing left behind by the first instance.
	insmod "$KO" && rmmod singleton_pcache
}
step unload unload

kernel_log() {
	if dmesg | grep -E "$BAD"; then
		echo "kernel log has BUG/WARNING/Oops lines; the whole log:"
		dmesg
		return 1
	fi
	return 0
}
step kernel-log kernel_log

echo "failed steps: ${failed_steps:- none}"
dmesg > /results/dmesg.txt
exec >&3 2>&1
sync
umount /results
echo "kmod: $fails failed:${failed_steps:- none}" | cut -c1-120 >&3
exit $fails

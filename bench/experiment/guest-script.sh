# Guest side of bench/fio-experiment (runs under the guest kit's agent, busybox sh).
# bench/fio-experiment replaces the %%NAME%% fields and appends the fio job files.
export SG_DATA_MIB=%%DATA_MIB%% SG_ZIPF_THETA=%%ZIPF_THETA%% SG_SEQ_MIB=%%SEQ_MIB%%
mkdir -p /mnt/data /tmp/out /tmp/jobs
mount -t ext4 /dev/sg/data /mnt/data || { echo "bench: cannot mount the data disk"; exit 1; }
dev=$(basename "$(readlink /dev/sg/data)")
# Loads fio and its libraries from the tools disk before anything is measured.
fio --version > /tmp/out/fio-version
free -k > /tmp/out/free-boot
%%WRITE_JOBS%%
# Each entry is INSTANCE:JOB:SEED:SEQ_OFFSET_MIB: the barrier and the output files are named
# after the instance (rN-JOB, round N of the job sequence), the job file after the job; every
# round has its own random seed and seqread region (the same in every mode), so rounds do not
# replay the same offsets.
for entry in %%JOBS%%; do
	inst=${entry%%:*} rest=${entry#*:}
	job=${rest%%:*} rest=${rest#*:}
	SG_SEED=${rest%%:*} SG_SEQ_OFFSET_MIB=${rest#*:}
	export SG_SEED SG_SEQ_OFFSET_MIB
	sg_wait "$inst"
	eval "export SG_RUNTIME_S=\$RUNTIME_$(echo "$job" | tr '-' '_')"
	cat "/sys/block/$dev/stat" > "/tmp/out/$inst.blkstat0"
	grep -E '^(Dirty|Writeback|Cached|MemFree):' /proc/meminfo > "/tmp/out/$inst.meminfo0"
	fio "/tmp/jobs/$job.fio" --output-format=json --output="/tmp/out/$inst.json" \
		> "/tmp/out/$inst.log" 2>&1
	echo "$?" > "/tmp/out/$inst.rc"
	cat "/sys/block/$dev/stat" > "/tmp/out/$inst.blkstat1"
	grep -E '^(Dirty|Writeback|Cached|MemFree):' /proc/meminfo > "/tmp/out/$inst.meminfo1"
	free -k > "/tmp/out/$inst.free"
done
sg_wait end
# Results travel back on a raw disk holding a tar archive (the console is for markers).
tar -cf /dev/sg/out -C /tmp/out .
sync
sg_result done 1

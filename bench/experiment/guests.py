"""The guests of one run: fresh images, the guest script, launch in the cgroup, the barriers
that keep them in lock step, their results, and killing them.

Each guest is one `sg-guest run` (and its QEMU) with two disks: the data image (raw copy of a
pristine image, or a qcow2 overlay of the shared base image) and an out disk on tmpfs where
bench/experiment/guest-script.sh leaves a tar of its fio JSON and block counters. Before each
job the guest waits at `sg_wait JOB`, which runs bench/experiment/barrier on the host: it
says `arrived` (with the QEMU pid) and holds the guest until the run writes JOB.go.
"""
import os
import shutil
import signal
import subprocess
import tarfile
import time

from .cachestat import drop_host_cache
from .common import EXP, MIB, REPO


def round_seed(seed, rnd):
    """fio's seed in round `rnd` (1-based; the warm-up is round 0): --seed in round 1, one more
    per round. The same in every mode, different between rounds: a round with the seed of the
    one before would re-read the blocks the guests still hold from it."""
    return seed + max(rnd, 1) - 1


def seq_offset_mib(data_mib, seq_mib, rnd):
    """Where round `rnd`'s seqread starts in the file (MiB): each round the next --seq-mib,
    wrapping before the end of the file."""
    span = max(1, data_mib - seq_mib + 1)
    return (max(rnd, 1) - 1) * seq_mib % span


class GuestSet:
    def __init__(self, exp, name, variant, plan, run_dir, guest_mib):
        """`plan`: (instance, job, round) in the order the guests run them (run.Run.plan)."""
        self.exp, self.name, self.variant, self.dir = exp, name, variant, run_dir
        self.plan = plan
        self.jobs = [p[0] for p in plan]
        self.guest_mib = guest_mib
        self.bar = os.path.join(exp.scratch, name, "barrier")
        os.makedirs(self.bar, exist_ok=True)
        self.guests = []  # dicts: name, proc, image, format, out, qemu_pid, stdout

    def images(self):
        """Files whose host cache is counted: data images (and the shared backing file)."""
        files = [g["image"] for g in self.guests]
        if self.variant == "shared":
            files.append(self.exp.base_image)
        return files

    def dirs(self):
        """Where each guest's out disk is extracted (collect())."""
        return [os.path.join(self.dir, f"guest{i}") for i in range(len(self.guests))]

    # -- images
    def prepare_images(self):
        exp = self.exp
        work = os.path.join(exp.work, self.name)
        os.makedirs(work, exist_ok=True)
        for i in range(exp.args.guests):
            if self.variant == "own":
                img = os.path.join(work, f"guest{i}.img")
                shutil.copyfile(exp.pristine[i], img)
                fmt = "raw"
            else:
                img = os.path.join(work, f"guest{i}.qcow2")
                subprocess.run([os.path.join(REPO, "tests/vm/make-image"), "--backing",
                                exp.base_image, "--out", img], check=True)
                fmt = "qcow2"
            out = os.path.join(exp.scratch, self.name, f"out{i}.img")
            with open(out, "wb") as f:
                f.truncate(16 * MIB)
            self.guests.append({"name": f"{self.name}-g{i}", "image": img, "format": fmt,
                                "out": out, "proc": None, "qemu_pid": None})
        for f in self.images() + list(exp.pristine):
            drop_host_cache(f)

    # -- launch
    def guest_script(self):
        exp, a = self.exp, self.exp.args
        with open(os.path.join(EXP, "guest-script.sh")) as f:
            script = f.read()
        with open(os.path.join(EXP, "jobs", "global.inc")) as f:
            glob = f.read()
        writes = []
        runtimes = []
        for job in dict.fromkeys(p[1] for p in self.plan):
            with open(os.path.join(EXP, "jobs", f"{job}.fio")) as f:
                body = f.read()
            writes.append(f"cat > /tmp/jobs/{job}.fio <<'SG_JOB_EOF'\n{glob}{body}SG_JOB_EOF")
            runtimes.append(f"RUNTIME_{job.replace('-', '_')}={exp.runtime(job)}")
        fields = {"DATA_MIB": a.data_mib, "ZIPF_THETA": a.zipf_theta, "SEQ_MIB": a.seq_mib,
                  "JOBS": " ".join(f"{inst}:{job}:{round_seed(a.seed, rnd)}:"
                                   f"{seq_offset_mib(a.data_mib, a.seq_mib, rnd)}"
                                   for inst, job, rnd in self.plan),
                  "WRITE_JOBS": "\n".join(writes + runtimes)}
        for k, v in fields.items():
            script = script.replace(f"%%{k}%%", str(v))
        path = os.path.join(exp.scratch, self.name, "guest.sh")
        with open(path, "w") as f:
            f.write(script)
        return path

    def start(self, cache, enter_cgroup):
        """Starts every guest with its data disk at QEMU `cache=`; `enter_cgroup` runs in the
        child before exec, so that sg-guest and its QEMU are charged to the run's cgroup."""
        exp, a = self.exp, self.exp.args
        script = self.guest_script()
        env = dict(os.environ, SG_KIT_DIR=exp.kit)
        for i, g in enumerate(self.guests):
            cmd = [exp.sg_guest, "run", "--script", script, "--kernel", a.kernel,
                   "--mem", str(self.guest_mib), "--timeout", str(exp.guest_timeout()),
                   "--name", g["name"],
                   "--disk", f"{g['image']},format={g['format']},cache={cache},serial=data",
                   "--disk", f"{g['out']},format=raw,cache=writeback,serial=out",
                   "--console", os.path.join(self.dir, f"guest{i}.console")]
            for job in self.jobs + ["end"]:
                cmd += ["--on-wait", f"{job}={EXP}/barrier {self.bar} {job} {i}"]
            g["stdout"] = open(os.path.join(self.dir, f"guest{i}.out"), "w")
            g["proc"] = subprocess.Popen(cmd, env=env, stdout=g["stdout"],
                                         stderr=subprocess.STDOUT, preexec_fn=enter_cgroup,
                                         start_new_session=True)

    # -- lock step
    def wait_barrier(self, job, timeout):
        deadline = time.time() + timeout
        while True:
            arrived = [os.path.join(self.bar, f"{job}.{i}.arrived") for i in range(len(self.guests))]
            if all(os.path.exists(p) for p in arrived):
                for i, p in enumerate(arrived):
                    with open(p) as f:
                        self.guests[i]["qemu_pid"] = int(f.read().strip() or 0)
                return
            for i, g in enumerate(self.guests):
                if g["proc"].poll() is not None:
                    raise RuntimeError(f"guest {i} of {self.name} ended (rc {g['proc'].returncode}) "
                                       f"before `{job}`: see {self.dir}/guest{i}.console")
            if time.time() > deadline:
                raise RuntimeError(f"{self.name}: guests did not reach `{job}` in {timeout} s")
            time.sleep(0.1)

    def release(self, job):
        open(os.path.join(self.bar, f"{job}.go"), "w").close()

    def wait_poweroff(self, timeout):
        for g in self.guests:
            try:
                g["proc"].wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"{g['name']} did not power off")

    # -- results
    def collect(self):
        """Extracts each guest's out disk to runs/<variant>-<mode>/guestN; checks every job's rc."""
        for i, (g, dest) in enumerate(zip(self.guests, self.dirs())):
            os.makedirs(dest, exist_ok=True)
            try:
                with tarfile.open(g["out"]) as t:
                    t.extractall(dest)
            except (tarfile.TarError, OSError) as e:
                raise RuntimeError(f"{g['name']}: no results on its out disk ({e}); "
                                   f"see {self.dir}/guest{i}.console")
            for job in self.jobs:
                rc_file = os.path.join(dest, f"{job}.rc")
                rc = open(rc_file).read().strip() if os.path.exists(rc_file) else "missing"
                if rc != "0":
                    log = os.path.join(dest, f"{job}.log")
                    tail = open(log).read().strip()[-400:] if os.path.exists(log) else ""
                    raise RuntimeError(f"{g['name']}: fio job {job} failed (rc {rc}): {tail}")

    def kill(self):
        """Best effort, by pid only: sg-guest kills its QEMU on SIGTERM (and QEMU has
        PDEATHSIG), then QEMU by its own pid if it is still there."""
        open(os.path.join(self.bar, "abort"), "w").close()
        for g in self.guests:
            if g["proc"] and g["proc"].poll() is None:
                g["proc"].terminate()
        for g in self.guests:
            if g["proc"]:
                try:
                    g["proc"].wait(timeout=10)
                except subprocess.TimeoutExpired:
                    g["proc"].kill()
                    g["proc"].wait()
            qp = g.get("qemu_pid")
            if qp:
                try:
                    with open(f"/proc/{qp}/cmdline", "rb") as f:
                        if g["name"].encode() in f.read():
                            os.kill(qp, signal.SIGKILL)
                except OSError:
                    pass

"""Kill -9 trials of `dalif train` (run by scripts/kill-trials, which builds the binary).

Trains a small run on the embedded digits straight through once (the reference), then trains
the same run again and again, each time killing it with SIGKILL at a random moment (in a
batch, in the evaluation, in the checkpoint write) a few times and resuming it with
`dalif train --resume`, and checks that:

- no kill loses a saved epoch: the last checkpoint after the kill is at least the last epoch
  the run had reported done (the run reports an epoch after saving it), and the resume
  continues from it;
- every finished run equals the reference bit for bit: its metrics without the wall-clock
  times (seconds, loader_wait_seconds), and the last and best checkpoints (model.bpk,
  optimizer.bpk, state.json);
- nothing is left behind: no temporary files, no checkpoint folder the pointers do not name.

The phase a kill hit is read from the run's terminal progress bar (the binary runs on a
pseudo-terminal, so it draws one: "epoch E/N [...] B/M batches") and from the run directory
(a metrics line, a temporary folder or a pointer ahead of `last` means the checkpoint was being
written). Exits 1 on any mismatch, after a summary.
"""

import argparse
import fcntl
import json
import os
import pty
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

FLAGS = ["--epochs", "3", "--steps", "1", "--batch-size", "128", "--seed", "7"]
BAR = re.compile(rb"epoch (\d+)/(\d+) \[[^\]]*\] (\d+)/(\d+) batches")
EPOCH_LINE = re.compile(rb"epoch +(\d+)/(\d+)  loss")


class Attempt:
    """`dalif ARGS` on a pseudo-terminal, its output collected as it comes."""

    def __init__(self, binary, args):
        master, slave = pty.openpty()
        # A wide terminal, so that the bar is drawn whole.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.proc = subprocess.Popen([binary] + args, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                self.output += chunk

    def text(self):
        with self.lock:
            return bytes(self.output)

    def finish(self):
        code = self.proc.wait()
        self.reader.join(timeout=5)
        os.close(self.master)
        return code

    def where(self):
        """(epochs reported done, (epoch, batch, batches) of the last bar drawn after that)."""
        out = self.text()
        lines = list(EPOCH_LINE.finditer(out))
        done = int(lines[-1].group(1)) if lines else 0
        after = lines[-1].end() if lines else 0
        bars = list(BAR.finditer(out, after))
        bar = None
        if bars:
            m = bars[-1]
            bar = (int(m.group(1)), int(m.group(3)), int(m.group(4)))
        return done, bar


def pointer(run, name):
    try:
        with open(os.path.join(run, "checkpoints", name)) as f:
            return int(f.read().strip().split("-")[1])
    except FileNotFoundError:
        return 0


def metrics_lines(run):
    """(complete lines, whether a torn line follows them)."""
    try:
        with open(os.path.join(run, "metrics.jsonl"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0, False
    return data.count(b"\n"), not data.endswith(b"\n") and len(data) > 0


def temporaries(run):
    found = []
    for folder in (run, os.path.join(run, "checkpoints")):
        if os.path.isdir(folder):
            found += [n for n in os.listdir(folder) if ".tmp-" in n]
    return found


def numbers(run):
    with open(os.path.join(run, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    for r in rows:
        r.pop("seconds")
        r.pop("loader_wait_seconds", None)
    return rows


def cbor(data, i=0):
    """The CBOR item at `i` and the offset after it (the subset burnpack headers use)."""
    head = data[i]
    major, info = head >> 5, head & 31
    i += 1
    if info < 24:
        value = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        value = int.from_bytes(data[i:i + size], "big")
        i += size
    if major == 0:
        return value, i
    if major == 1:
        return -1 - value, i
    if major in (2, 3):
        raw = data[i:i + value]
        return (raw if major == 2 else raw.decode()), i + value
    if major == 4:
        items = []
        for _ in range(value):
            item, i = cbor(data, i)
            items.append(item)
        return items, i
    if major == 5:
        out = {}
        for _ in range(value):
            key, i = cbor(data, i)
            out[key], i = cbor(data, i)
        return out, i
    raise ValueError(f"CBOR major type {major} at {i - 1}")


def burnpack(path):
    """{tensor name: (dtype, shape, raw bytes, param id)} of a burnpack file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"NRUB":
        raise ValueError(f"{path}: not a burnpack file")
    size = int.from_bytes(data[6:10], "little")
    meta, _ = cbor(data, 10)
    # The data section starts at the next multiple of 256 after the header; offsets count
    # from it.
    base = (10 + size + 255) // 256 * 256
    tensors = {}
    for name, t in meta["tensors"].items():
        start, end = t["data_offsets"]
        tensors[name] = (t["dtype"], tuple(t["shape"]), data[base + start:base + end], t.get("param_id"))
    return tensors


def checkpoint_files(run, name):
    """A checkpoint with the parameter ids (random, one draw per run) replaced by the
    parameters' names: the optimizer state is keyed by them."""
    folder = os.path.join(run, "checkpoints", f"epoch-{pointer(run, name):04d}")
    model = burnpack(os.path.join(folder, "model.bpk"))
    names = {t[3]: n for n, t in model.items()}
    optimizer = {}
    for n, t in burnpack(os.path.join(folder, "optimizer.bpk")).items():
        pid, _, rest = n.partition(".")
        optimizer[names.get(int(pid), n) + "." + rest] = t[:3]
    with open(os.path.join(folder, "state.json"), "rb") as fh:
        state = fh.read()
    return {
        "model.bpk": {n: t[:3] for n, t in model.items()},
        "optimizer.bpk": optimizer,
        "state.json": state,
    }


def compare(run, ref):
    """What differs between a finished run and the reference (empty: nothing)."""
    problems = []
    if numbers(run) != numbers(ref):
        problems.append("metrics differ")
    for name in ("last", "best"):
        a, b = checkpoint_files(run, name), checkpoint_files(ref, name)
        for f in a:
            if a[f] != b[f]:
                problems.append(f"{name} checkpoint: {f} differs")
    if temporaries(run):
        problems.append(f"temporary files left: {temporaries(run)}")
    folders = sorted(n for n in os.listdir(os.path.join(run, "checkpoints")) if n.startswith("epoch-"))
    named = sorted({f"epoch-{pointer(run, p):04d}" for p in ("last", "best")})
    if folders != named:
        problems.append(f"checkpoint folders {folders}, named {named}")
    return problems


def classify(run, attempt, before):
    """The phase the kill hit, and the work it lost in epochs."""
    done, bar = attempt.where()
    last = pointer(run, "last")
    lines, torn = metrics_lines(run)
    saving = temporaries(run) or torn or lines > last or pointer(run, "best") > last
    if bar is None and done == 0 and lines == before:
        return "startup", 0.0
    if saving:
        return "checkpoint write", 1.0
    if bar is None:
        # The previous epoch was reported and no batch of the next one drawn yet.
        return "batch", 0.0
    epoch, batch, batches = bar
    if batch < batches:
        return "batch", batch / batches
    if last >= epoch:
        # Saved, but killed before it was reported (the log line, the removal of old folders).
        return "checkpoint write", 0.0
    return "evaluation", 1.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the run directories")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="dalif-kill-trials-")
    start = time.time()
    print(f"kill trials: {args.kills} kills, seed {seed}, run flags {' '.join(FLAGS)}, in {work}", flush=True)

    ref = os.path.join(work, "reference")
    t0 = time.time()
    out = subprocess.run([args.binary, "train", "--out", ref] + FLAGS, capture_output=True)
    if out.returncode != 0:
        sys.exit(f"the reference run failed:\n{out.stdout.decode()}{out.stderr.decode()}")
    ref_seconds = time.time() - t0
    epochs = int(FLAGS[FLAGS.index("--epochs") + 1])
    epoch_seconds = ref_seconds / epochs
    print(f"reference run: {ref_seconds:.1f} s ({epoch_seconds:.1f} s per epoch)", flush=True)

    phases = {}
    failures = []
    kills = resumes = runs = takeovers = 0
    max_lost = 0.0
    while kills < args.kills:
        runs += 1
        run = os.path.join(work, f"run-{runs}")
        plan = min(rng.randint(2, 5), args.kills - kills)
        started = False
        for _ in range(plan):
            before = pointer(run, "last")
            cmd = ["train", "--resume", run] if started else ["train", "--out", run] + FLAGS
            resumes += started
            attempt = Attempt(args.binary, cmd)
            # Aim: at any moment (uniform over an epoch and a half), at the evaluation (after
            # the last batch is drawn), or in the checkpoint write (just after the metrics line
            # lands, which precedes it).
            aim = rng.choice(["anywhere", "anywhere", "anywhere", "evaluation", "checkpoint"])
            deadline = time.time() + 1.5 * epoch_seconds + 5
            if aim == "anywhere":
                time.sleep(rng.uniform(0.0, 1.5 * epoch_seconds))
            else:
                while time.time() < deadline and attempt.proc.poll() is None:
                    if aim == "checkpoint":
                        lines, torn = metrics_lines(run)
                        if lines > before or torn:
                            break
                    else:
                        _, bar = attempt.where()
                        if bar and bar[1] == bar[2]:
                            break
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, 0.02 if aim == "checkpoint" else 0.3))
            if attempt.proc.poll() is not None:
                code = attempt.finish()
                if code != 0:
                    failures.append(f"{run}: the run failed (exit {code}):\n{attempt.text().decode(errors='replace')}")
                break
            os.kill(attempt.proc.pid, signal.SIGKILL)
            attempt.finish()
            takeovers += b"ended without releasing it" in attempt.text()
            kills += 1
            started = started or os.path.exists(os.path.join(run, "config.toml"))
            phase, lost = classify(run, attempt, before)
            phases[phase] = phases.get(phase, 0) + 1
            max_lost = max(max_lost, lost)
            reported, _ = attempt.where()
            saved = pointer(run, "last")
            if saved < max(reported, before):
                failures.append(f"{run}: kill in {phase} lost saved epochs: reported {reported}, before {before}, last checkpoint {saved}")
            print(f"kill {kills:3}: run {runs}, {phase:16} epochs saved {before} -> {saved}", flush=True)
        if not os.path.exists(os.path.join(run, "config.toml")):
            # Killed before the run directory was made: start it again, not counted as a resume.
            attempt = Attempt(args.binary, ["train", "--out", run] + FLAGS)
        else:
            resumes += 1
            attempt = Attempt(args.binary, ["train", "--resume", run])
        code = attempt.finish()
        text = attempt.text().decode(errors="replace")
        takeovers += "ended without releasing it" in text
        if code != 0:
            failures.append(f"{run}: the final resume failed (exit {code}):\n{text}")
            continue
        problems = compare(run, ref)
        failures += [f"{run}: {p}" for p in problems]
        if not args.keep and not problems:
            shutil.rmtree(run)

    elapsed = time.time() - start
    print()
    print(f"kills: {kills} over {runs} runs, {resumes} resumes; {takeovers} resumes reported taking over a killed run's lock")
    print("kills per phase: " + ", ".join(f"{p} {n}" for p, n in sorted(phases.items())))
    print(f"most work lost by one kill: {max_lost:.2f} epoch (never a saved epoch)")
    print(f"every finished run equal to the reference (metrics without wall-clock times, last and best checkpoints bit for bit): {'yes' if not failures else 'NO'}")
    print(f"time: {elapsed:.0f} s")
    if failures:
        print(f"\n{len(failures)} failures:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

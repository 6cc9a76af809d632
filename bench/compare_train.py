#!/usr/bin/env python3
"""Interleaved Rust-vs-Python comparison of the training step (shared/peers/workloads.md, sections
0.7, C and R, and VGGSNN on event frames).

For each of K pairs and each workload, runs the peers' training step with R rounds
(`bench_train.py --models cifar_small` for `c`, `--models resnet19` for `r`, bench/peer_vggsnn.py
for `vggsnn`), then `dalif bench train --workload W` with R rounds on each dalif device; reports
each side's medians and the median over pairs of the per-pair ratio dalif median / peer median
(lower is better). --mem runs each side once more for memory: the peers with their fresh-process
memory child, dalif in a separate one-step run whose JSON gives the process's peak RSS.

Usage: python3 bench/compare_train.py --python PEERS_VENV/bin/python [--workloads c,r,vggsnn]
       [--pairs 4] [--rounds c=5,r=3,vggsnn=3 | --rounds N] [--threads 2] [--devices cpu,tch]
       [--peer-variants sj_LIFNode,dalif_ref_autograd] [--dalif target/release/dalif] [--mem] [--json OUT]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from compare_neuron import HERE, PEERS, ROOT, run

WORKLOADS = {  # peer script, its arguments up to its rounds flag, its model key, warm-up steps (both sides)
    "c": (os.path.join(PEERS, "bench_train.py"), ["--models", "cifar_small", "--rounds"], "cifar_small", 2),
    "r": (os.path.join(PEERS, "bench_train.py"), ["--models", "resnet19", "--resnet-rounds"], "resnet19", 1),
    "vggsnn": (os.path.join(HERE, "peer_vggsnn.py"), ["--rounds"], "vggsnn", 1),
}
ROUNDS = {"c": 5, "r": 3, "vggsnn": 3}
PEER_REF = "dalif_ref_autograd"  # bench_train.py fails at its end without its reference variant
MEM_REF = "sj_LIFNode"
MB = 2**20  # the peers' "MB"


def rounds_arg(s):
    if "=" not in s:
        return dict.fromkeys(WORKLOADS, int(s))
    return {**ROUNDS, **{w: int(n) for w, n in (p.split("=") for p in s.split(","))}}


def fmt(x, spec=".0f"):
    return "n/a" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="the peers' venv python")
    ap.add_argument("--dalif", default=os.path.join(ROOT, "target", "release", "dalif"))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--rounds", type=rounds_arg, default=ROUNDS,
                    help="N for every workload, or W=N,... (default c=5,r=3,vggsnn=3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--devices", default="cpu", help="dalif devices, e.g. cpu,tch")
    ap.add_argument("--peer-variants", default=f"{MEM_REF},{PEER_REF}")
    ap.add_argument("--mem", action="store_true", help="run each side once more for memory")
    ap.add_argument("--json", help="write all raw numbers to this file")
    args = ap.parse_args()
    workloads, devices, variants = (s.split(",") for s in (args.workloads, args.devices, args.peer_variants))
    if set(workloads) - set(WORKLOADS):
        ap.error(f"unknown workloads {sorted(set(workloads) - set(WORKLOADS))}; known: {', '.join(WORKLOADS)}")
    if PEER_REF not in variants:
        ap.error(f"--peer-variants must include {PEER_REF} (bench_train.py's reference)")
    if not (os.path.isfile(args.dalif) and os.access(args.dalif, os.X_OK)):
        sys.exit(f"no dalif binary at {args.dalif}: build it with `cargo build --release -p dalif-cli` (plus "
                 "the feature of each --devices backend, e.g. --features tch), or pass --dalif PATH")
    if "--workload" not in run([args.dalif, "bench", "train", "--help"]):
        sys.exit(f"{args.dalif} has no `bench train --workload`: rebuild it (cargo build --release -p dalif-cli)")
    if not (os.path.isfile(args.python) and os.access(args.python, os.X_OK)):
        sys.exit(f"no peers' python at {args.python}: pass --python PEERS_VENV/bin/python")
    out = tempfile.mkdtemp(prefix="dalif-compare-train-")
    env = dict(os.environ, PEERS_OUT=out)

    def peers(w, rounds, tag, mem=False):
        script, flags, _, _ = WORKLOADS[w]
        run([args.python, script, *flags, str(rounds), "--threads", str(args.threads), "--variants",
             args.peer_variants, "--tag", tag, *([] if mem else ["--no-mem"])], env)
        with open(os.path.join(out, f"{os.path.basename(script)[:-3]}_{tag}.json")) as f:
            return json.load(f)

    def dalif(w, dev, rounds, warmup, tag):
        path = os.path.join(out, f"dalif_{tag}_{dev.replace(':', '_')}.json")
        run([args.dalif, "bench", "train", "--workload", w, "--rounds", str(rounds), "--warmup", str(warmup),
             "--threads", str(args.threads), "--device", dev, "--json", path])
        with open(path) as f:
            return json.load(f)

    pairs = []  # pairs[k][w] = {"peers": bench JSON, "dalif": {device: bench JSON}}
    uptime = [run(["uptime"]).strip()]
    for k in range(args.pairs):
        pairs.append({})
        for w in workloads:
            tag = f"pair{k}_{w}"
            pairs[k][w] = {"peers": peers(w, args.rounds[w], tag),
                           "dalif": {d: dalif(w, d, args.rounds[w], WORKLOADS[w][3], tag) for d in devices}}
            print(f"pair {k + 1}/{args.pairs} {w} done", file=sys.stderr)
    uptime.append(run(["uptime"]).strip())
    mem = {w: {"peers": peers(w, 1, f"mem_{w}", mem=True),
               "dalif": {d: dalif(w, d, 1, 1, f"mem_{w}") for d in devices}} for w in (workloads if args.mem else [])}

    versions = pairs[0][workloads[0]]["peers"]["versions"]
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    print(f"Interleaved training step: {args.pairs} pairs; rounds per pair "
          + ", ".join(f"{w} {args.rounds[w]}" for w in workloads)
          + f"; {args.threads} threads; dalif devices {args.devices}; "
          f"PyTorch {versions.get('torch', '?')}, SpikingJelly {versions.get('spikingjelly', '?')}")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M')}; `uname -m`: {run(['uname', '-m']).strip()}; CPU: {cpu}")
    print(f"- load before: `{uptime[0]}`")
    print(f"- load after: `{uptime[1]}`")
    for w in workloads:
        model = WORKLOADS[w][2]
        py = [p[w]["peers"]["models"][model] for p in pairs]
        rs = {d: [p[w]["dalif"][d] for p in pairs] for d in devices}
        r0 = rs[devices[0]][0]
        print(f"\nWorkload `{w}`: peers `{model}` B={py[0]['batch']} T={py[0]['T']}; dalif `{r0['model']}` "
              f"B={r0['batch_size']} T={r0['steps']} input {r0['input']}; {args.rounds[w]} rounds per pair "
              f"(warm-up {WORKLOADS[w][3]})\n")
        print("| side | variant / device | median of per-pair medians, ms | min ms |")
        print("|---|---|---:|---:|")
        for v in variants:
            print(f"| Python | {v} | {statistics.median(e['variants'][v]['median_ms'] for e in py):.0f} | "
                  f"{min(e['variants'][v]['min_ms'] for e in py):.0f} |")
        for d in devices:
            print(f"| dalif | {d} | {statistics.median(r['timings']['median_ms'] for r in rs[d]):.0f} | "
                  f"{min(r['timings']['min_ms'] for r in rs[d]):.0f} |")
        print("\nRatio = dalif time / peer time, lower is better.\n")
        print("| dalif device / peer variant | median of per-pair ratios | per-pair ratios |")
        print("|---|---:|---|")
        for d in devices:
            for v in variants:
                ratios = [r["timings"]["median_ms"] / e["variants"][v]["median_ms"] for r, e in zip(rs[d], py)]
                print(f"| {d} / {v} | {statistics.median(ratios):.2f}x | "
                      + ", ".join(f"{x:.2f}" for x in ratios) + " |")
    if args.mem:
        print("\nMemory, one more run of each side (MB = 2^20 bytes). Peers: peak RSS of a fresh process over one "
              "full-size step after a tiny-batch warm-up (VmHWM), saved-for-backward from autograd's hooks. dalif: "
              "peak RSS (VmHWM) of a one-step run (warm-up 1), resident bytes the forward keeps for the backward.\n")
        print(f"| workload | side | variant / device | peak RSS MB | peak RSS / {MEM_REF} | "
              "saved (peers) / kept (dalif) for backward MB |")
        print("|---|---|---|---:|---:|---:|")
        for w, m in mem.items():
            e = m["peers"]["models"][WORKLOADS[w][2]]["variants"]
            rows = []
            for v in variants:
                pm = e[v].get("mem", {})
                peak = pm.get("peak_rss_mb") or (None if pm.get("peak_delta_mb") is None
                                                 else pm["rss_base_mb"] + pm["peak_delta_mb"])
                rows.append(("Python", v, peak, e[v]["saved_for_backward_mb"]))
            for d, r in m["dalif"].items():
                kept = r.get("forward_kept_bytes")
                peak = r.get("peak_rss_bytes")
                rows.append(("dalif", d, peak and peak / MB, kept and kept / MB))
            ref = next((peak for side, v, peak, _ in rows if side == "Python" and v == MEM_REF), None)
            for side, v, peak, kept in rows:
                print(f"| {w} | {side} | {v} | {fmt(peak)} | {fmt(peak and ref and peak / ref, '.2f')} | "
                      f"{fmt(kept)} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "uptime": uptime, "cpu": cpu, "pairs": pairs, "mem": mem}, f, indent=1)


if __name__ == "__main__":
    main()

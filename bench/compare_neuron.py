#!/usr/bin/env python3
"""Interleaved Rust-vs-Python comparison of workload N (shared/peers/workloads.md, section 0.7).

Alternates short runs: `bench_neuron.py --rounds R` (SpikingJelly and the PyTorch DA-LIF
reference), then `dalif bench neuron --rounds R` on each shape, K times; reports each side's
medians and the median over pairs of the per-pair ratio (Python median / Rust median).

Usage: python3 bench/compare_neuron.py --python PEERS_VENV/bin/python [--pairs 4] [--rounds 5]
       [--threads 2] [--dalif target/release/dalif] [--mem]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")
PY_VARIANTS = ["dalif_ref_autograd", "sj_LIFNode", "sj_ParametricLIFNode"]
RUST_VARIANTS = ["layer", "fused-op"]
SHAPES = ["conv", "fc"]


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--dalif", default=os.path.join(ROOT, "target", "release", "dalif"))
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mem", action="store_true", help="also measure the peers' saved-for-backward memory")
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="dalif-compare-")
    env = dict(os.environ, PEERS_OUT=out)
    py, rs = [], []
    uptime = [run(["uptime"]).strip()]
    for k in range(args.pairs):
        run([args.python, os.path.join(PEERS, "bench_neuron.py"), "--rounds", str(args.rounds), "--no-mem",
             "--threads", str(args.threads), "--variants", ",".join(PY_VARIANTS), "--tag", f"pair{k}"], env)
        with open(os.path.join(out, f"bench_neuron_pair{k}.json")) as f:
            py.append(json.load(f))
        rs.append({})
        for s in SHAPES:
            path = os.path.join(out, f"rust_{k}_{s}.json")
            run([args.dalif, "bench", "neuron", "--shape", s, "--rounds", str(args.rounds), "--threads",
                 str(args.threads), "--variants", ",".join(RUST_VARIANTS), "--json", path])
            with open(path) as f:
                rs[k][s] = json.load(f)
        print(f"pair {k + 1}/{args.pairs} done", file=sys.stderr)
    uptime.append(run(["uptime"]).strip())

    print(f"Interleaved: {args.pairs} pairs x {args.rounds} rounds, {args.threads} threads; "
          f"PyTorch {py[0]['versions'].get('torch', '?')}, SpikingJelly {py[0]['versions'].get('spikingjelly', '?')}")
    print(f"- load before: `{uptime[0]}`")
    print(f"- load after: `{uptime[1]}`")
    for s in SHAPES:
        shape = py[0]["shapes"][s]["shape"]
        print(f"\nShape `{s}` = {shape}\n")
        print("| side | variant | median of per-pair medians, ms | min ms |")
        print("|---|---|---:|---:|")
        for v in PY_VARIANTS:
            meds = [p["shapes"][s]["variants"][v]["median_ms"] for p in py]
            mins = [p["shapes"][s]["variants"][v]["min_ms"] for p in py]
            print(f"| Python | {v} | {statistics.median(meds):.2f} | {min(mins):.2f} |")
        rust_t = {v: [[t for t in r[s]["timings"] if t["name"] == v][0] for r in rs] for v in RUST_VARIANTS}
        for v in RUST_VARIANTS:
            print(f"| Rust | {v} | {statistics.median(t['median_ms'] for t in rust_t[v]):.2f} | "
                  f"{min(t['min_ms'] for t in rust_t[v]):.2f} |")
        print("\n| Python variant / Rust variant | median of per-pair ratios | per-pair ratios |")
        print("|---|---:|---|")
        for pv in PY_VARIANTS:
            for rv in RUST_VARIANTS:
                ratios = [p["shapes"][s]["variants"][pv]["median_ms"] / t["median_ms"]
                          for p, t in zip(py, rust_t[rv])]
                print(f"| {pv} / {rv} | {statistics.median(ratios):.2f}x | "
                      + ", ".join(f"{r:.2f}" for r in ratios) + " |")
        print(f"\nRust saved for backward: {rs[0][s]['saved_for_backward_bytes'] / 1e6:.1f} MB "
              f"(V, plus the input X that the op keeps a reference to); spike rate "
              f"{rs[0][s]['spike_rate']:.3f} (Python {py[0]['shapes'][s]['spike_rate']['dalif_ref_autograd']:.3f})")
    if args.mem:
        run([args.python, os.path.join(PEERS, "bench_neuron.py"), "--rounds", "1", "--threads", str(args.threads),
             "--variants", ",".join(PY_VARIANTS), "--tag", "mem"], env)
        with open(os.path.join(out, "bench_neuron_mem.json")) as f:
            mem = json.load(f)
        print("\n| shape | Python variant | saved for backward MB | peak RSS delta MB |")
        print("|---|---|---:|---:|")
        for s in SHAPES:
            for v in PY_VARIANTS:
                m = mem["shapes"][s]["variants"][v].get("mem", {})
                print(f"| {s} | {v} | {m.get('saved_for_backward_mb')} | {m.get('peak_delta_mb')} |")


if __name__ == "__main__":
    main()

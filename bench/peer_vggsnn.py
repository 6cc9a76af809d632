"""Training step of VGGSNN for the Python peers, by the protocol of shared/peers/bench_train.py.

The peers' bench_train.py has no VGGSNN; this script reuses its neurons, layers, Trainer and
memory child, with the network of dalif's `models::vggsnn`: event frames [T=10, B=8, 2, 48, 48]
(a random N(0,1) frame repeated over T, like the peers' direct encoding), eight layers of
conv 3x3 (pad 1, no bias) + BatchNorm2d + neuron, widths 64,128,256,256,512,512,512,512, a 2x2
average pool (stride 2) after layers 2, 4, 6 and 8, then flatten to [T, B, 512*3*3],
linear 4608 -> 10 (bias), logits = mean over T; cross-entropy, SGD(lr=0.1, momentum=0.9).

Usage:  PEERS_VENV/bin/python bench/peer_vggsnn.py [--rounds 3] [--warmup 1] [--threads 2]
        [--variants sj_LIFNode,dalif_ref_autograd] [--no-mem] [--tag TAG]
Writes: $PEERS_OUT (default ./peer-results)/peer_vggsnn_<tag>.json and .md, the structure of
bench_train.py's (model key "vggsnn"), with "peak_rss_mb" (the child's VmHWM) added to "mem".
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"))
import bench_train as bt  # noqa: E402
import benchutil as bu  # noqa: E402

MODEL = "vggsnn"
T, BATCH, FRAME = 10, 8, (2, 48, 48)
WIDTHS = [64, 128, 256, 256, 512, 512, 512, 512]


class VGGSNN(nn.Module):
    def __init__(self, variant):
        super().__init__()
        layers, cin = [], FRAME[0]
        for i, cout in enumerate(WIDTHS):
            layers += [bt.conv_bn(variant, cin, cout), bt.make_neuron(variant)]
            if i % 2:
                layers.append(bt.seq(variant, nn.AvgPool2d(2, 2)))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = bt.seq(variant, nn.Linear(WIDTHS[-1] * (FRAME[1] // 16) * (FRAME[2] // 16), bt.NUM_CLASSES))

    def forward(self, x_seq):  # [T, B, 2, 48, 48]
        return self.fc(self.features(x_seq).flatten(2)).mean(0)  # [B, 10]


def build(_model_name, variant):
    torch.manual_seed(0)
    return VGGSNN(variant)


def make_data(batch, n=4, seed=42):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch, *FRAME, generator=g), torch.randint(0, bt.NUM_CLASSES, (batch,), generator=g))
            for _ in range(n)]


# bench_train's Trainer and mem_child build the model, make the data and repeat the input over T
# through these module globals.
bt.T, bt.build, bt.make_data = T, build, make_data
bt.MODELS[MODEL] = {"batch": BATCH}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default="sj_LIFNode,dalif_ref_autograd")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "2")))
    ap.add_argument("--no-mem", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument("--mem-child", metavar="VARIANT")
    args = ap.parse_args()
    if args.mem_child:
        bt.mem_child(MODEL, args.mem_child)  # prints {"peak_delta_mb", "rss_base_mb"}
        print(json.dumps({"peak_rss_mb": bu.hwm_mb()}))
        return
    variants = args.variants.split(",")
    if bt.BASE not in variants:
        ap.error(f"--variants must include {bt.BASE}, the reference of the ratios")
    os.environ["BENCH_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    res = {"script": "peer_vggsnn.py", "uptime_start": bu.uptime(), "versions": bu.versions(), "cpu": bu.cpu_model(),
           "threads": torch.get_num_threads(), "T": T, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
           "notes": {v: bt.NOTES[v] for v in variants}, "models": {}}
    print(res["uptime_start"], res["versions"], flush=True)
    data = make_data(BATCH)
    trainers = {v: bt.Trainer(MODEL, v, data) for v in variants}
    nparams = {v: sum(p.numel() for p in tr.model.parameters()) for v, tr in trainers.items()}
    print(f"[{MODEL}] batch={BATCH} T={T} params={nparams}", flush=True)
    cpu = {}
    times = bu.interleaved({v: tr.step for v, tr in trainers.items()}, rounds=args.rounds, warmup=args.warmup,
                           log=lambda s: print(f"[{MODEL}]" + s, flush=True), cpu_times=cpu)
    entry = {"batch": BATCH, "T": T, "rounds": args.rounds, "warmup": args.warmup, "params": nparams, "variants": {}}
    for v, ts in times.items():
        q1, q3 = bu.iqr(ts)
        m = bu.med(ts)
        tr = trainers[v]
        entry["variants"][v] = {
            "median_ms": m, "min_ms": min(ts), "q1_ms": q1, "q3_ms": q3,
            "samples_per_s_median": BATCH / (m / 1e3), "samples_per_s_best": BATCH / (min(ts) / 1e3),
            "ratio_vs_ref_median_of_rounds": bu.per_round_ratio(times, v, bt.BASE),
            "last_loss": tr.last_loss, "times_ms": ts, "cpu_median_ms": bu.med(cpu[v]), "cpu_times_ms": cpu[v],
            "spike_rates_per_layer": tr.spike_rates(), "saved_for_backward_mb": tr.saved_mb(),
        }
    del trainers, tr
    gc.collect()
    if not args.no_mem:
        for v in variants:
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--mem-child", v],
                               capture_output=True, text=True)
            try:
                lines = r.stdout.strip().splitlines()[-2:]
                entry["variants"][v]["mem"] = {**json.loads(lines[0]), **json.loads(lines[1])}
            except Exception:
                entry["variants"][v]["mem"] = {"error": r.stderr[-500:]}
    res["models"][MODEL] = entry
    res["uptime_end"] = bu.uptime()
    tag = args.tag or f"t{args.threads}"
    os.makedirs(bt.OUT_BASE, exist_ok=True)
    with open(os.path.join(bt.OUT_BASE, f"peer_vggsnn_{tag}.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = bt.render_md(res)
    with open(os.path.join(bt.OUT_BASE, f"peer_vggsnn_{tag}.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes data sets of random content in the exact on-disk formats of the official downloads
(../shared/docs/dataset-formats.md), to measure `dalif train` end to end (the data loader's wait
included) where the real downloads are not available. Nothing here is learnable.

  cifar10     DIR/cifar-10-batches-bin/: data_batch_1..5.bin, test_batch.bin, batches.meta.txt
              (3073-byte records: label byte, 1024 R, 1024 G, 1024 B), N records per file
  cifar10dvs  DIR/<class>/cifar10_<class>_<i>.aedat: AEDAT 2.0 (header, then big-endian u32 address
              and u32 timestamp per event, DVS128 address bits), N recordings per class, E events
              each over 1.3 s

Usage: python3 bench/make_data.py cifar10 DIR [--n 1000]
       python3 bench/make_data.py cifar10dvs DIR [--n 20] [--events 150000]
"""
import argparse
import os
import random
import struct

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar10(root, n, rng):
    out = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(out, exist_ok=True)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(out, name), "wb") as f:
            for _ in range(n):
                f.write(bytes([rng.randrange(10)]) + rng.randbytes(3072))
    with open(os.path.join(out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")


def cifar10dvs(root, n, events, rng):
    for c in CLASSES:
        os.makedirs(os.path.join(root, c), exist_ok=True)
        for i in range(n):
            t0 = rng.randrange(1 << 20)
            times = sorted(rng.randrange(1_300_000) for _ in range(events))
            body = bytearray()
            for t in times:
                address = (rng.randrange(128) << 8) | (rng.randrange(128) << 1) | rng.randrange(2)
                body += struct.pack(">II", address, t0 + t)
            with open(os.path.join(root, c, f"cifar10_{c}_{i}.aedat"), "wb") as f:
                f.write(b"#!AER-DAT2.0\r\n# random events in the CIFAR10-DVS format\r\n" + bytes(body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["cifar10", "cifar10dvs"])
    ap.add_argument("dir")
    ap.add_argument("--n", type=int, help="records per file (cifar10, 1000) or recordings per class (20)")
    ap.add_argument("--events", type=int, default=150_000, help="events per recording (cifar10dvs)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.kind == "cifar10":
        cifar10(args.dir, args.n or 1000, rng)
    else:
        cifar10dvs(args.dir, args.n or 20, args.events, rng)


if __name__ == "__main__":
    main()

"""Checks a NIR file exported by dalif with the reference `nir` package (PyPI).

    python check_nir.py read FILE.nir EXPECTED.json
        nir.read (with type checking) loads the graph; node types, shapes and edges are the
        expected ones, every LIF of a spiking layer gives back the layer's alpha and beta, and
        every max pool is a SumPool2d of its window followed by a memoryless OR unit (a LIF
        with tau = dt, r = 1, v_leak = v_reset = 0, v_threshold = 0.5).
    python check_nir.py simulate FILE.nir REFERENCE.json
        runs the graph with a forward-Euler simulator written here (numpy, float64) on the
        reference input and compares the spikes of every spiking layer's LIF, and the output
        at every step where no spike differs, with dalif's own forward pass.

Exits with status 1 and a message when a check fails.
"""

import json
import sys

import nir
import numpy as np


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def decays(node, dt):
    """(alpha, beta) of a NIR LIF read with forward Euler at step dt."""
    beta = 1.0 - dt / node.tau.astype(np.float64)
    alpha = node.r.astype(np.float64) * (1.0 - beta)
    return alpha, beta


def check_read(path, expected):
    graph = nir.read(path)
    dt = float(graph.metadata["dt"])
    if dt != expected["dt"]:
        fail(f"metadata dt {dt}, expected {expected['dt']}")
    names = set(graph.nodes)
    want = {n["name"] for n in expected["nodes"]}
    if names != want:
        fail(f"nodes differ: extra {sorted(names - want)}, missing {sorted(want - names)}")
    for n in expected["nodes"]:
        node = graph.nodes[n["name"]]
        kind = type(node).__name__
        if kind != n["type"]:
            fail(f"{n['name']} is a {kind}, expected {n['type']}")
        out = node.output_type.get("output")
        if out is None or list(out) != n["shape"]:
            fail(f"{n['name']} outputs {out}, expected {n['shape']}")
    edges = {tuple(e) for e in graph.edges}
    want = {tuple(e) for e in expected["edges"]}
    if edges != want:
        fail(f"edges differ: extra {sorted(edges - want)}, missing {sorted(want - edges)}")
    for name, layer in expected["neurons"].items():
        node = graph.nodes[name]
        alpha, beta = decays(node, dt)
        channels = len(layer["alpha"])
        per = alpha.reshape(channels, -1) if channels > 1 else alpha.reshape(1, -1)
        if not np.allclose(per, np.array(layer["alpha"])[:, None], rtol=1e-5, atol=1e-6):
            fail(f"{name}: alpha {per.mean(axis=1)} from the file, dalif has {layer['alpha']}")
        per = beta.reshape(channels, -1) if channels > 1 else beta.reshape(1, -1)
        if not np.allclose(per, np.array(layer["beta"])[:, None], rtol=1e-5, atol=1e-6):
            fail(f"{name}: beta {per.mean(axis=1)} from the file, dalif has {layer['beta']}")
        if not (np.all(node.v_leak == 0) and np.all(node.v_reset == 0)):
            fail(f"{name}: v_leak and v_reset must be 0")
        if not np.all(node.v_threshold == layer["v_th"]):
            fail(f"{name}: v_threshold differs from {layer['v_th']}")
    for name, unit in expected["or_units"].items():
        pool = graph.nodes[unit["pool"]]
        for field in ("kernel", "stride", "padding"):
            got = getattr(pool, field + "_size" if field == "kernel" else field)
            if list(np.atleast_1d(got)) != [unit[field]] * 2:
                fail(f"{unit['pool']}: {field} {got}, expected {unit[field]} (both axes)")
        node = graph.nodes[name]
        # Memoryless: beta = 1 - dt/tau is 0 up to the f32 rounding of tau = dt.
        alpha, beta = decays(node, dt)
        if not (np.all(np.abs(beta) < 1e-6) and np.all(np.abs(alpha - 1) < 1e-6)):
            fail(f"{name}: not memoryless (beta {beta.max()}, alpha {alpha.min()})")
        if not (np.all(node.v_leak == 0) and np.all(node.v_reset == 0)
                and np.all(node.v_threshold == 0.5)):
            fail(f"{name}: v_leak, v_reset must be 0 and v_threshold 0.5")
    print(f"read: {len(graph.nodes)} nodes, {len(graph.edges)} edges, "
          f"{len(expected['neurons'])} LIF layers and {len(expected['or_units'])} max pools "
          f"agree")


def conv2d(x, weight, bias, stride, padding):
    x = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    kh, kw = weight.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, :: stride[0], :: stride[1]]
    return np.einsum("chwij,ocij->ohw", windows, weight) + bias[:, None, None]


def avg_pool(x, kernel, stride):
    windows = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return windows[:, :: stride[0], :: stride[1]].mean(axis=(3, 4))


def sum_pool(x, kernel, stride, padding):
    x = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2))
    windows = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return windows[:, :: stride[0], :: stride[1]].sum(axis=(3, 4))


def max_pool(x, kernel, stride, padding):
    """Max pooling as PyTorch and burn do it: the padding is -inf and never wins."""
    x = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(1, 2))
    return windows[:, :: stride[0], :: stride[1]].max(axis=(3, 4))


def topological(graph):
    preds = {name: [a for a, b in graph.edges if b == name] for name in graph.nodes}
    order, done = [], set()
    while len(order) < len(graph.nodes):
        ready = [n for n in graph.nodes if n not in done and all(p in done for p in preds[n])]
        if not ready:
            fail("the graph has a cycle")
        for n in sorted(ready):
            order.append(n)
            done.add(n)
    return order, preds


def simulate(graph, frames, dt):
    """Spikes of every LIF and the values of every Output over the steps of `frames`
    [T, C, H, W]."""
    order, preds = topological(graph)
    v = {n: 0.0 for n, node in graph.nodes.items() if isinstance(node, nir.LIF)}
    spikes = {n: [] for n in v}
    outputs = {n: [] for n, node in graph.nodes.items() if isinstance(node, nir.Output)}
    for frame in frames:
        out = {}
        for name in order:
            node = graph.nodes[name]
            if isinstance(node, nir.Input):
                out[name] = frame.astype(np.float64)
                continue
            x = sum(out[p] for p in preds[name])
            if isinstance(node, nir.Conv2d):
                y = conv2d(x, node.weight.astype(np.float64), node.bias.astype(np.float64),
                           node.stride, node.padding)
            elif isinstance(node, nir.Affine):
                y = node.weight.astype(np.float64) @ x + node.bias
            elif isinstance(node, nir.Linear):
                y = node.weight.astype(np.float64) @ x
            elif isinstance(node, nir.AvgPool2d):
                y = avg_pool(x, node.kernel_size, node.stride)
            elif isinstance(node, nir.SumPool2d):
                y = sum_pool(x, node.kernel_size, node.stride, node.padding)
            elif isinstance(node, nir.Flatten):
                y = x.reshape(-1)
            elif isinstance(node, nir.LIF):
                tau = node.tau.astype(np.float64)
                v[name] = v[name] + dt / tau * (node.v_leak - v[name] + node.r * x)
                # NIR's rule: a neuron fires when v exceeds the threshold.
                z = v[name] > node.v_threshold
                v[name] = np.where(z, node.v_reset, v[name])
                y = z.astype(np.float64)
                spikes[name].append(y)
            elif isinstance(node, nir.Output):
                y = x
                outputs[name].append(y)
            else:
                fail(f"the simulator has no rule for {type(node).__name__}")
            out[name] = y
    return ({n: np.stack(s) for n, s in spikes.items()},
            {n: np.stack(s) for n, s in outputs.items()})


def check_simulate(path, reference):
    graph = nir.read(path)
    dt = float(graph.metadata["dt"])
    frames = np.array(reference["input"], dtype=np.float32).reshape(reference["input_shape"])
    simulated, outputs = simulate(graph, frames, dt)
    total = differ = fired = 0
    steps = frames.shape[0]
    differ_at = np.zeros(steps, dtype=int)
    for name, layer in reference["spikes"].items():
        mine = np.array(layer["values"], dtype=np.float64).reshape(layer["shape"])
        theirs = simulated[name]
        if mine.shape != theirs.shape:
            fail(f"{name}: dalif's spikes are {mine.shape}, the simulation's {theirs.shape}")
        total += mine.size
        fired += int(mine.sum())
        differ += int((mine != theirs).sum())
        differ_at += (mine != theirs).reshape(steps, -1).sum(axis=1)
        print(f"  {name}: {int(mine.sum())} spikes, {int((mine != theirs).sum())} differ")
    print(f"simulate: {fired} spikes of {total} neuron-steps, {differ} differ")
    # The other LIFs are the OR units of max pools: each must give, at every step, the max
    # pooling (padding never wins) of the spikes its sum pool reads, exactly; a silent one
    # would leave its pool untested.
    _, preds = topological(graph)
    for name in sorted(set(simulated) - set(reference["spikes"])):
        count = int(simulated[name].sum())
        (pool,) = preds[name]
        pool_node = graph.nodes[pool]
        (source,) = preds[pool]
        if not isinstance(pool_node, nir.SumPool2d) or source not in simulated:
            fail(f"{name} is not an OR unit after a sum pool of a LIF's spikes")
        want = np.stack([max_pool(s, pool_node.kernel_size, pool_node.stride,
                                  pool_node.padding) for s in simulated[source]])
        wrong = int((simulated[name] != want).sum())
        print(f"  {name} (OR unit of max pool {pool}): {count} spikes, {wrong} differ from "
              f"the max pooling of {source}")
        if wrong:
            fail(f"{name}: {wrong} outputs differ from the max pooling of {source}")
        if count == 0:
            fail(f"{name} never fires: its max pool was not exercised")
    if fired < 500:
        fail("too few spikes for the comparison to mean anything")
    if differ > reference["tolerance"] * fired:
        fail(f"{differ} spikes differ, more than {reference['tolerance']:.1%} of {fired}")
    # The output reads the spikes of its step through stateless nodes only, so at a step where
    # every spike agrees the logits must agree up to rounding.
    if len(outputs) != 1:
        fail(f"{len(outputs)} Output nodes, expected 1")
    (theirs,) = outputs.values()
    logits = reference["logits"]
    mine = np.array(logits["values"], dtype=np.float64).reshape(logits["shape"])
    if mine.shape != theirs.shape:
        fail(f"dalif's logits are {mine.shape}, the simulation's {theirs.shape}")
    same = differ_at == 0
    tol = reference["logits_tolerance"]
    for t in np.flatnonzero(same):
        if not np.allclose(theirs[t], mine[t], rtol=tol, atol=tol):
            fail(f"step {t}: logits {theirs[t]} from the simulation, dalif has {mine[t]}")
    gap = np.abs(theirs - mine).max()
    print(f"logits: equal within {tol:g} at the {int(same.sum())} of {steps} steps where every "
          f"spike agrees (largest difference over all steps {gap:.2e}); class "
          f"{int(mine.mean(axis=0).argmax())} (dalif), {int(theirs.mean(axis=0).argmax())} "
          f"(simulation)")
    if not same.any():
        fail("no step where every spike agrees: the logits were not compared")


def main():
    mode, path, data = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(data) as f:
        payload = json.load(f)
    if mode == "read":
        check_read(path, payload)
    elif mode == "simulate":
        check_simulate(path, payload)
    else:
        fail(f"unknown mode {mode}")


if __name__ == "__main__":
    main()

//! The fused Flex kernel against the tensor-op fallback, finite differences of the backward,
//! and edge cases of the operation.

mod common;

use burn::backend::Flex;
use common::*;
use dalif::neuron::op::{DaLifBackend, DaLifOp};
use dalif::neuron::{Reset, SpikeFunction, Surrogate};

/// Decays per layer (`[1]`) or per channel (`[C]` for dimension 2).
fn decays(per_channel: Option<usize>, seed: u64) -> (Vec<f64>, Vec<f64>) {
    match per_channel {
        None => (vec![0.6], vec![0.7]),
        Some(c) => {
            let a = normal(c, 0.6, 0.15, seed);
            let b = normal(c, 0.7, 0.15, seed + 1);
            (a, b)
        }
    }
}

#[test]
fn fused_equals_fallback_for_every_configuration() {
    // Shapes: conv-like with per-channel decays, fc-like, and one larger than a kernel block.
    let cases: [(&[usize], Option<usize>); 4] = [
        (&[5, 3, 4, 6, 7], Some(4)),
        (&[5, 3, 4, 6, 7], None),
        (&[7, 9, 33], Some(33)),
        (&[3, 2, 3, 40, 41], Some(3)),
    ];
    for (case, &(shape, channels)) in cases.iter().enumerate() {
        let n: usize = shape.iter().product();
        let x = to_f32(&normal(n, 0.9, 1.0, 10 + case as u64));
        let g = to_f32(&normal(n, 0.0, 1.0, 20 + case as u64));
        let (a, b) = decays(channels, 30);
        let ds = [a.len()];
        let (x, g) = (prim_f32(&x, shape), prim_f32(&g, shape));
        let (a, b) = (prim_f32(&to_f32(&a), &ds), prim_f32(&to_f32(&b), &ds));
        for op in ops(SpikeFunction::Heaviside)
            .into_iter()
            .chain(ops(SpikeFunction::Smooth))
        {
            let (fo, (fgx, fga, fgb)) = fused(&x, &a, &b, &g, op);
            let (ro, (rgx, rga, rgb)) = fallback(&x, &a, &b, &g, op);
            let what = format!("shape {shape:?} channels {channels:?} {op:?}");
            assert_eq!(read_f64(&fo.spikes).len(), n);
            let spike_diff = max_abs_diff(&read_f64(&fo.spikes), &read_f64(&ro.spikes));
            assert!(spike_diff <= 1e-6, "{what}: spikes differ by {spike_diff}");
            let vd = max_abs_diff(&read_f64(&fo.potential), &read_f64(&ro.potential));
            assert!(vd <= 1e-5, "{what}: V differs by {vd}");
            let gd = max_abs_diff(&read_f64(&fgx), &read_f64(&rgx));
            assert!(gd <= 1e-4, "{what}: dL/dX differs by {gd}");
            for (f, r, name) in [(&fga, &rga, "alpha"), (&fgb, &rgb, "beta")] {
                let (f, r) = (read_f64(f), read_f64(r));
                for (fv, rv) in f.iter().zip(&r) {
                    let rel = (fv - rv).abs() / rv.abs().max(1.0);
                    assert!(rel <= 1e-4, "{what}: dL/d{name} {fv} vs fallback {rv}");
                }
            }
        }
    }
}

/// L = sum(S * G) with smooth spikes, in f64.
fn loss(x: &[f64], a: &[f64], b: &[f64], g: &[f64], shape: &[usize], op: DaLifOp) -> f64 {
    let out = <Flex as DaLifBackend>::dalif_forward(
        prim_f64(x, shape),
        prim_f64(a, &[a.len()]),
        prim_f64(b, &[b.len()]),
        op,
    );
    read_f64(&out.spikes)
        .iter()
        .zip(g)
        .map(|(s, g)| s * g)
        .sum()
}

#[test]
fn backward_matches_finite_differences_with_smooth_spikes() {
    let shape = [6, 2, 3, 2];
    let n: usize = shape.iter().product();
    let x = normal(n, 0.9, 0.8, 1);
    let g = normal(n, 0.0, 1.0, 2);
    for channels in [None, Some(3)] {
        let (a, b) = decays(channels, 3);
        // A detached reset changes the gradient on purpose, so only attached resets have a
        // finite-difference counterpart.
        for op in ops(SpikeFunction::Smooth)
            .into_iter()
            .filter(|op| !op.detach_reset)
        {
            // Kinked surrogates (triangle, rectangle, dspike) are only piecewise smooth: FD
            // is still exact away from the kinks, which random inputs almost surely avoid.
            let (fx, fa, fb, fg) = (
                prim_f64(&x, &shape),
                prim_f64(&a, &[a.len()]),
                prim_f64(&b, &[b.len()]),
                prim_f64(&g, &shape),
            );
            let (_, (gx, ga, gb)) = fused(&fx, &fa, &fb, &fg, op);
            let (gx, ga, gb) = (read_f64(&gx), read_f64(&ga), read_f64(&gb));
            let h = 1e-6;
            let what = format!("channels {channels:?} {op:?}");
            let fd = |xp: &[f64], ap: &[f64], bp: &[f64], xm: &[f64], am: &[f64], bm: &[f64]| {
                (loss(xp, ap, bp, &g, &shape, op) - loss(xm, am, bm, &g, &shape, op)) / (2.0 * h)
            };
            for i in (0..n).step_by(7) {
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let d = fd(&xp, &a, &b, &xm, &a, &b);
                assert!(
                    (d - gx[i]).abs() <= 1e-6 + 1e-5 * d.abs(),
                    "{what}: dL/dX[{i}] {} vs fd {d}",
                    gx[i]
                );
            }
            for c in 0..a.len() {
                let (mut ap, mut am) = (a.clone(), a.clone());
                ap[c] += h;
                am[c] -= h;
                let d = fd(&x, &ap, &b, &x, &am, &b);
                assert!(
                    (d - ga[c]).abs() <= 1e-6 + 1e-5 * d.abs(),
                    "{what}: dL/dalpha[{c}] {} vs fd {d}",
                    ga[c]
                );
                let (mut bp, mut bm) = (b.clone(), b.clone());
                bp[c] += h;
                bm[c] -= h;
                let d = fd(&x, &a, &bp, &x, &a, &bm);
                assert!(
                    (d - gb[c]).abs() <= 1e-6 + 1e-5 * d.abs(),
                    "{what}: dL/dbeta[{c}] {} vs fd {d}",
                    gb[c]
                );
            }
        }
    }
}

#[test]
fn fused_kernel_in_f32_is_close_to_f64() {
    let shape = [8, 4, 300];
    let n: usize = shape.iter().product();
    let (x, g) = (normal(n, 1.0, 1.0, 5), normal(n, 0.0, 1.0, 6));
    let op = ops(SpikeFunction::Smooth)[0];
    let (o64, (gx64, _, _)) = fused(
        &prim_f64(&x, &shape),
        &prim_f64(&[0.5], &[1]),
        &prim_f64(&[0.5], &[1]),
        &prim_f64(&g, &shape),
        op,
    );
    let (o32, (gx32, _, _)) = fused(
        &prim_f32(&to_f32(&x), &shape),
        &prim_f32(&[0.5], &[1]),
        &prim_f32(&[0.5], &[1]),
        &prim_f32(&to_f32(&g), &shape),
        op,
    );
    assert!(max_abs_diff(&read_f64(&o64.spikes), &read_f64(&o32.spikes)) < 1e-5);
    assert!(max_abs_diff(&read_f64(&gx64), &read_f64(&gx32)) < 1e-4);
}

/// Potentials `V` worth checking `surrogate` at, for threshold `v_th`: `V - v_th` over a grid
/// across the window and beyond and in the far tails, and at the threshold and every window
/// edge, with the potentials just either side of each (their neighbouring floats, and 1e-9).
fn surrogate_potentials(surrogate: Surrogate, v_th: f64) -> Vec<f64> {
    let p = surrogate.parameter();
    let mut xs: Vec<f64> = (-400..=400).map(|i| i as f64 * 0.0075).collect();
    xs.extend([-1e3, -50.0, -10.0, 10.0, 50.0, 1e3]);
    let mut vs: Vec<f64> = xs.iter().map(|x| x + v_th).collect();
    // The threshold, and the rectangle (1/2a), triangle (1/a) and Dspike (v_th/2) edges.
    for edge in [0.0, 0.5 / p, 1.0 / p, 0.5 * v_th] {
        for v in [v_th + edge, v_th - edge] {
            vs.extend([v, v.next_down(), v.next_up(), v - 1e-9, v + 1e-9]);
        }
    }
    vs
}

/// The fallback's surrogate formulas (composed of tensor operations, so they cannot call the
/// scalar ones) against the scalar definitions the fused kernels use, for every surrogate.
/// One step with `alpha = 1` and an upstream gradient of 1 makes the smooth spike the
/// primitive and `dL/dX` the surrogate gradient, element by element; both sides subtract
/// `v_th` from the same `V`.
#[test]
fn fallback_surrogates_equal_the_scalar_definitions() {
    let tol = 1e-12;
    let mut checked = 0;
    for family in Surrogate::all() {
        for surrogate in [family, family.with_parameter(1.7 * family.parameter())] {
            for v_th in [1.0, 0.6] {
                let v = surrogate_potentials(surrogate, v_th);
                let shape = [1, v.len()];
                let op = DaLifOp {
                    v_th,
                    reset: Reset::Hard,
                    detach_reset: false,
                    surrogate,
                    spike: SpikeFunction::Smooth,
                };
                let one = prim_f64(&[1.0], &[1]);
                let (out, (gx, _, _)) = fallback(
                    &prim_f64(&v, &shape),
                    &one,
                    &one,
                    &prim_f64(&vec![1.0; v.len()], &shape),
                    op,
                );
                let x: Vec<f64> = v.iter().map(|v| v - v_th).collect();
                let scalar = |f: fn(&Surrogate, f64, f64) -> f64| -> Vec<f64> {
                    x.iter().map(|&x| f(&surrogate, v_th, x)).collect()
                };
                for (what, got, want) in [
                    (
                        "primitive",
                        read_f64(&out.spikes),
                        scalar(Surrogate::primitive),
                    ),
                    ("grad", read_f64(&gx), scalar(Surrogate::grad)),
                ] {
                    let worst = max_abs_diff(&got, &want);
                    let examples: String = (0..x.len())
                        .filter(|&i| !(got[i] - want[i]).abs().le(&tol))
                        .take(3)
                        .map(|i| format!("; x = {}: {} vs {}", x[i], got[i], want[i]))
                        .collect();
                    assert!(
                        worst <= tol,
                        "{surrogate} v_th = {v_th}: the fallback's {what} differs from the scalar one by {worst:e}{examples}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * Surrogate::NAMES.len());
}

fn heaviside_op() -> DaLifOp {
    ops(SpikeFunction::Heaviside)[0]
}

#[test]
fn single_time_step_has_no_temporal_gradient() {
    let shape = [1, 3, 5];
    let x = to_f32(&normal(15, 1.0, 1.0, 7));
    let g = to_f32(&normal(15, 0.0, 1.0, 8));
    let (out, (_, _, gb)) = fused(
        &prim_f32(&x, &shape),
        &prim_f32(&[0.5], &[1]),
        &prim_f32(&[0.5], &[1]),
        &prim_f32(&g, &shape),
        heaviside_op(),
    );
    let s = read_f64(&out.spikes);
    for (i, &xi) in x.iter().enumerate() {
        assert_eq!(s[i], if 0.5 * xi as f64 >= 1.0 { 1.0 } else { 0.0 });
    }
    assert_eq!(read_f64(&gb), vec![0.0], "beta multiplies H[-1] = 0 only");
}

#[test]
fn empty_batch_gives_empty_outputs_and_zero_decay_gradients() {
    let shape = [4, 0, 3];
    let e = prim_f32(&[], &shape);
    for run in [fused, fallback] {
        let (out, (gx, ga, gb)) = run(
            &e,
            &prim_f32(&[0.5], &[1]),
            &prim_f32(&[0.5], &[1]),
            &e,
            heaviside_op(),
        );
        assert_eq!(out.spikes.layout().shape().to_vec(), shape.to_vec());
        assert!(read_f64(&out.potential).is_empty() && read_f64(&gx).is_empty());
        assert_eq!((read_f64(&ga), read_f64(&gb)), (vec![0.0], vec![0.0]));
    }
}

#[test]
fn non_contiguous_input_gives_the_same_result_as_its_contiguous_copy() {
    // Build [T, B, C] = [4, 6, 5] as the transpose of a [4, 5, 6] buffer.
    let raw = to_f32(&normal(120, 1.0, 1.0, 9));
    let g = prim_f32(&to_f32(&normal(120, 0.0, 1.0, 10)), &[4, 6, 5]);
    let strided = prim_f32(&raw, &[4, 5, 6]).transpose(1, 2);
    assert!(!strided.is_contiguous());
    let dense = strided.to_contiguous();
    let (a, b) = (prim_f32(&[0.4], &[1]), prim_f32(&[0.8], &[1]));
    for run in [fused, fallback] {
        let (o1, (g1, ga1, _)) = run(&strided, &a, &b, &g, heaviside_op());
        let (o2, (g2, ga2, _)) = run(&dense, &a, &b, &g, heaviside_op());
        assert_eq!(read_f64(&o1.spikes), read_f64(&o2.spikes));
        assert_eq!(read_f64(&g1), read_f64(&g2));
        assert_eq!(read_f64(&ga1), read_f64(&ga2));
    }
}

#[test]
fn nan_input_gives_nan_never_a_silent_spike() {
    let shape = [3, 1, 4];
    let x = [
        0.5,
        f32::NAN,
        3.0,
        1.0,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
    ];
    let (a, b) = (prim_f32(&[1.0], &[1]), prim_f32(&[0.5], &[1]));
    let g = prim_f32(&[1.0; 12], &shape);
    for run in [fused, fallback] {
        let (out, _) = run(&prim_f32(&x, &shape), &a, &b, &g, heaviside_op());
        let s = read_f64(&out.spikes);
        // Neuron 1 is NaN at t = 0 and stays NaN (its state is NaN); the others are real.
        assert!(s[1].is_nan() && s[5].is_nan() && s[9].is_nan(), "{s:?}");
        assert_eq!(s[2], 1.0);
        assert!(s.iter().enumerate().all(|(i, v)| i % 4 == 1 || !v.is_nan()));
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let shape = [4, 8, 16, 9, 9];
    let n: usize = shape.iter().product();
    let x = prim_f32(&to_f32(&normal(n, 1.0, 1.0, 11)), &shape);
    let g = prim_f32(&to_f32(&normal(n, 0.0, 1.0, 12)), &shape);
    let (a, b) = (prim_f32(&[0.5], &[1]), prim_f32(&[0.5], &[1]));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (o, (gx, ga, gb)) = fused(&x, &a, &b, &g, heaviside_op());
            (
                read_f64(&o.spikes),
                read_f64(&gx),
                read_f64(&ga),
                read_f64(&gb),
            )
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn per_channel_decays_apply_to_dimension_two() {
    // Channel 0 has alpha = 0 (never fires), channel 1 has alpha = 2 (fires on x >= 0.5).
    let shape = [1, 2, 2, 3];
    let x = [0.6f32; 12];
    let out = <Flex as DaLifBackend>::dalif_forward(
        prim_f32(&x, &shape),
        prim_f32(&[0.0, 2.0], &[2]),
        prim_f32(&[0.5, 0.5], &[2]),
        heaviside_op(),
    );
    let s = read_f64(&out.spikes);
    assert_eq!(s, vec![0., 0., 0., 1., 1., 1., 0., 0., 0., 1., 1., 1.]);
}

#[test]
fn tolerance_checks_fail_on_nan_and_infinity() {
    let want = [0.5, 1.0];
    assert_eq!(max_abs_diff(&[0.25, 1.0], &want), 0.25);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        // Infinity fails every `<= tol` check.
        assert_eq!(max_abs_diff(&[bad, 1.0], &want), f64::INFINITY, "{bad}");
        assert_eq!(max_abs_diff(&want, &[0.5, bad]), f64::INFINITY, "{bad}");
    }
}

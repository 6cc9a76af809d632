//! Event-driven convolution kernels for the `Flex` CPU backend.
//!
//! Forward, output-stationary: each image's active inputs are listed per pixel (channel and
//! value, in channel order); every output pixel sums, over its taps, the weight rows
//! `W[:, c, ky, kx]` (stored `[ky][kx][c][Cout]`, so a row is contiguous) of the active inputs
//! it sees. Images run in parallel and each output element is written by one task.
//!
//! Weight gradient: the gradient of the output is laid out `[N][Ho][Wo][Cout]`; every active
//! input `(n, c, yi, xi)` adds `x * g[n, yo, xo, :]` to the row `dL/dW[:, c, ky, kx]` of each
//! tap that reaches a valid output. Input channels are split among the threads, each sums its
//! channels over all images in the same order (images, then pixels), so the result is
//! bit-identical whatever the thread count.
//!
//! The inner loops are `acc += v * row` over `Cout`, compiled for AVX-512, AVX2 and the
//! baseline and chosen at run time.

#[cfg(target_arch = "x86_64")]
use crate::neuron::op::cpu::{Isa, isa};
use crate::neuron::op::cpu::{contiguous, tensor};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{DType, Flex, TensorMetadata};
use burn::tensor::Shape;
use burn::tensor::ops::ConvOptions;
use rayon::prelude::*;

/// The largest fraction of active (non-zero) inputs the event-driven kernels take; denser
/// inputs go to burn's dense convolution (GEMM). An active input costs `taps * Cout`
/// multiply-adds on weight rows scattered in memory, slower per operation than a GEMM's: on the
/// benchmark workloads a limit of 0.25 was faster than 0.5 on cifar_small and ResNet-19 and
/// equal on VGGSNN (BENCHMARKS.md, section T).
pub const SPARSE_UP_TO: f64 = 0.25;

/// The geometry of one convolution the kernels run.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    padding: [usize; 2],
    ho: usize,
    wo: usize,
}

impl Geometry {
    /// The geometry, when the kernels cover the convolution: f32, no groups or dilation,
    /// the same padding before and after, no empty dimension.
    fn of(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<Self> {
        let plain = options.groups == 1
            && options.dilation == [1, 1]
            && options.padding.iter().all(|(begin, end)| begin == end);
        if !plain || x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            return None;
        }
        let [n, cin, h, w] = x.shape().dims();
        let [cout, wcin, kh, kw] = weight.shape().dims();
        let padding = options.padding.map(|(p, _)| p);
        let stride = options.stride;
        let extent = |size: usize, k: usize, p: usize, s: usize| {
            (size + 2 * p).checked_sub(k).map(|d| d / s + 1)
        };
        let ho = extent(h, kh, padding[0], stride[0])?;
        let wo = extent(w, kw, padding[1], stride[1])?;
        let empty = n * cin * h * w * cout == 0;
        (wcin == cin && !empty && stride.iter().all(|&s| s > 0)).then_some(Self {
            n,
            cin,
            h,
            w,
            cout,
            kh,
            kw,
            stride,
            padding,
            ho,
            wo,
        })
    }

    fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// The input coordinate of output `o` at tap `k` on an axis, if it is inside the input.
    #[inline(always)]
    fn input_of(o: usize, k: usize, stride: usize, padding: usize, size: usize) -> Option<usize> {
        (o * stride + k).checked_sub(padding).filter(|&i| i < size)
    }

    /// The output coordinate that reads input `i` at tap `k` on an axis, if there is one.
    #[inline(always)]
    fn output_of(i: usize, k: usize, stride: usize, padding: usize, size: usize) -> Option<usize> {
        let t = (i + padding).checked_sub(k)?;
        (t % stride == 0 && t / stride < size).then_some(t / stride)
    }
}

/// Whether at most [`SPARSE_UP_TO`] of `x` is active.
fn sparse(x: &[f32]) -> bool {
    let active: usize = x
        .par_chunks(1 << 16)
        .map(|c| c.iter().filter(|&&v| v != 0.0).count())
        .sum();
    (active as f64) <= SPARSE_UP_TO * x.len() as f64
}

pub(super) fn forward(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
    let Some(geo) = Geometry::of(&x, &weight, &options) else {
        return Flex::conv2d(x, weight, None, options);
    };
    let xs = contiguous::<f32>(&x);
    if !sparse(&xs) {
        return Flex::conv2d(x, weight, None, options);
    }
    let out = forward_sparse(&xs, &contiguous::<f32>(&weight), &geo);
    tensor(out, Shape::new([geo.n, geo.cout, geo.ho, geo.wo]))
}

pub(super) fn weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    let geo = Geometry::of(&x, &weight, &options).filter(|_| grad.dtype() == DType::F32);
    let Some(geo) = geo else {
        return Flex::conv2d_weight_backward(x, weight, grad, options);
    };
    let xs = contiguous::<f32>(&x);
    if !sparse(&xs) {
        return Flex::conv2d_weight_backward(x, weight, grad, options);
    }
    let gw = weight_grad_sparse(&xs, &contiguous::<f32>(&grad), &geo);
    tensor(gw, weight.shape())
}

/// `acc += v * row`, the one inner loop of both kernels.
#[inline(always)]
fn axpy(acc: &mut [f32], v: f32, row: &[f32]) {
    for (a, &r) in acc.iter_mut().zip(row) {
        *a += v * r;
    }
}

/// One image's active inputs, listed per pixel in channel order.
struct ActiveInputs {
    /// `offsets[p]..offsets[p + 1]` index pixel `p`'s entries.
    offsets: Vec<u32>,
    channels: Vec<u32>,
    values: Vec<f32>,
}

impl ActiveInputs {
    fn of(image: &[f32], cin: usize, pixels: usize) -> Self {
        let mut offsets = vec![0u32; pixels + 1];
        for plane in image.chunks_exact(pixels) {
            for (count, &v) in offsets[1..].iter_mut().zip(plane) {
                *count += u32::from(v != 0.0);
            }
        }
        for p in 0..pixels {
            offsets[p + 1] += offsets[p];
        }
        let total = offsets[pixels] as usize;
        let (mut channels, mut values) = (vec![0u32; total], vec![0f32; total]);
        let mut next = offsets.clone();
        for (c, plane) in image.chunks_exact(pixels).enumerate().take(cin) {
            for (p, &v) in plane.iter().enumerate() {
                if v != 0.0 {
                    let e = next[p] as usize;
                    channels[e] = c as u32;
                    values[e] = v;
                    next[p] += 1;
                }
            }
        }
        Self {
            offsets,
            channels,
            values,
        }
    }
}

fn forward_sparse(x: &[f32], weight: &[f32], geo: &Geometry) -> Vec<f32> {
    let &Geometry {
        cin, h, w, cout, ..
    } = geo;
    let taps = geo.taps();
    // [Cout][Cin][kh][kw] -> [kh][kw][Cin][Cout]: the weights one input feeds, contiguous.
    let mut rows = vec![0f32; taps * cin * cout];
    for co in 0..cout {
        for c in 0..cin {
            for t in 0..taps {
                rows[(t * cin + c) * cout + co] = weight[(co * cin + c) * taps + t];
            }
        }
    }
    let image_out = cout * geo.ho * geo.wo;
    let mut out = vec![0f32; geo.n * image_out];
    out.par_chunks_mut(image_out)
        .zip(x.par_chunks(cin * h * w))
        .for_each(|(out, image)| {
            let active = ActiveInputs::of(image, cin, h * w);
            #[cfg(target_arch = "x86_64")]
            match isa() {
                // SAFETY: the CPU has these features (detected at run time).
                Isa::Avx512 => return unsafe { forward_image_avx512(&active, &rows, geo, out) },
                Isa::Avx2 => return unsafe { forward_image_avx2(&active, &rows, geo, out) },
                Isa::Baseline => {}
            }
            forward_image(&active, &rows, geo, out)
        });
    out
}

#[inline(always)]
fn forward_image(active: &ActiveInputs, rows: &[f32], geo: &Geometry, out: &mut [f32]) {
    let &Geometry {
        cin,
        h,
        w,
        cout,
        kw,
        stride,
        padding,
        ho,
        wo,
        ..
    } = geo;
    let plane = ho * wo;
    let mut acc = vec![0f32; cout];
    for yo in 0..ho {
        for xo in 0..wo {
            acc.fill(0.0);
            for ky in 0..geo.kh {
                let Some(yi) = Geometry::input_of(yo, ky, stride[0], padding[0], h) else {
                    continue;
                };
                for kx in 0..kw {
                    let Some(xi) = Geometry::input_of(xo, kx, stride[1], padding[1], w) else {
                        continue;
                    };
                    let p = yi * w + xi;
                    let tap = &rows[(ky * kw + kx) * cin * cout..][..cin * cout];
                    let entries = active.offsets[p] as usize..active.offsets[p + 1] as usize;
                    for (&c, &v) in active.channels[entries.clone()]
                        .iter()
                        .zip(&active.values[entries])
                    {
                        axpy(&mut acc, v, &tap[c as usize * cout..][..cout]);
                    }
                }
            }
            for (co, &a) in acc.iter().enumerate() {
                out[co * plane + yo * wo + xo] = a;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn forward_image_avx512(active: &ActiveInputs, rows: &[f32], geo: &Geometry, out: &mut [f32]) {
    forward_image(active, rows, geo, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_image_avx2(active: &ActiveInputs, rows: &[f32], geo: &Geometry, out: &mut [f32]) {
    forward_image(active, rows, geo, out)
}

fn weight_grad_sparse(x: &[f32], grad: &[f32], geo: &Geometry) -> Vec<f32> {
    let &Geometry {
        n,
        cin,
        cout,
        ho,
        wo,
        ..
    } = geo;
    let taps = geo.taps();
    // [N][Cout][Ho][Wo] -> [N][Ho][Wo][Cout]: the gradient row one output pixel sends back.
    let plane = ho * wo;
    let mut g = vec![0f32; n * plane * cout];
    g.par_chunks_mut(plane * cout)
        .zip(grad.par_chunks(cout * plane))
        .for_each(|(dst, src)| {
            for (co, channel) in src.chunks_exact(plane).enumerate() {
                for (p, &v) in channel.iter().enumerate() {
                    dst[p * cout + co] = v;
                }
            }
        });
    // Any split gives the same sums: one part per thread streams the gradient once.
    let per_part = cin.div_ceil(rayon::current_num_threads()).max(1);
    let parts: Vec<Vec<f32>> = (0..cin)
        .step_by(per_part)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|c0| {
            let channels = c0..(c0 + per_part).min(cin);
            let mut acc = vec![0f32; channels.len() * taps * cout];
            let part = &mut acc;
            #[cfg(target_arch = "x86_64")]
            match isa() {
                // SAFETY: the CPU has these features (detected at run time).
                Isa::Avx512 => unsafe { weight_grad_part_avx512(x, &g, geo, channels, part) },
                Isa::Avx2 => unsafe { weight_grad_part_avx2(x, &g, geo, channels, part) },
                Isa::Baseline => weight_grad_part(x, &g, geo, channels, part),
            }
            #[cfg(not(target_arch = "x86_64"))]
            weight_grad_part(x, &g, geo, channels, part);
            acc
        })
        .collect();
    // [Cin][taps][Cout] -> [Cout][Cin][taps].
    let mut gw = vec![0f32; cout * cin * taps];
    for (c, row) in parts
        .iter()
        .flat_map(|p| p.chunks_exact(taps * cout))
        .enumerate()
    {
        for (t, tap) in row.chunks_exact(cout).enumerate() {
            for (co, &v) in tap.iter().enumerate() {
                gw[(co * cin + c) * taps + t] = v;
            }
        }
    }
    gw
}

#[inline(always)]
fn weight_grad_part(
    x: &[f32],
    g: &[f32],
    geo: &Geometry,
    channels: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    let &Geometry {
        n,
        cin,
        h,
        w,
        cout,
        kh,
        kw,
        stride,
        padding,
        ho,
        wo,
    } = geo;
    let taps = kh * kw;
    for image in 0..n {
        let g = &g[image * ho * wo * cout..][..ho * wo * cout];
        for c in channels.clone() {
            let plane = &x[(image * cin + c) * h * w..][..h * w];
            let acc = &mut acc[(c - channels.start) * taps * cout..][..taps * cout];
            for (p, &v) in plane.iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                let (yi, xi) = (p / w, p % w);
                for ky in 0..kh {
                    let Some(yo) = Geometry::output_of(yi, ky, stride[0], padding[0], ho) else {
                        continue;
                    };
                    for kx in 0..kw {
                        let Some(xo) = Geometry::output_of(xi, kx, stride[1], padding[1], wo)
                        else {
                            continue;
                        };
                        let t = ky * kw + kx;
                        let row = &g[(yo * wo + xo) * cout..][..cout];
                        axpy(&mut acc[t * cout..][..cout], v, row);
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn weight_grad_part_avx512(
    x: &[f32],
    g: &[f32],
    geo: &Geometry,
    channels: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    weight_grad_part(x, g, geo, channels, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn weight_grad_part_avx2(
    x: &[f32],
    g: &[f32],
    geo: &Geometry,
    channels: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    weight_grad_part(x, g, geo, channels, acc)
}

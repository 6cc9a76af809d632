//! The flags that set a run's configuration, on top of a preset or the defaults.

use crate::names::name_of;
use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;
use dalif::device::DeviceSpec;
use dalif::layers::InitScale;
use dalif::models::ModelKind;
use dalif::neuron::{DecayParam, NeuronKind, Reset, Surrogate};
use dalif::run::{DataConfig, RunConfig};
use dalif::training::{OptimizerKind, Readout};
use dalif_data::DatasetKind;
use dalif_data::registry::Origin;
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
#[group(id = "config", multiple = true)]
pub struct ConfigArgs {
    /// Start from a preset: cifar10, cifar100, cifar10dvs, dvsgesture, imagenet (see `dalif
    /// presets`), or a .toml file of the same form. Flags override it.
    #[arg(long)]
    pub preset: Option<String>,
    // Data set; its help lists the registry's.
    #[arg(long, help = data_help())]
    pub data: Option<DatasetKind>,
    /// How event recordings are cut into T frames: number (equal event counts, the default)
    /// or time (equal durations).
    #[arg(long)]
    pub split_by: Option<dalif_data::SplitBy>,
    /// CIFAR10-DVS split: nine-to-one (SpikingJelly's 9:1 per class, the default) or tebn
    /// (recordings 0-99 of each class test).
    #[arg(long)]
    pub cifar10dvs_split: Option<dalif_data::layouts::Cifar10DvsSplit>,
    /// Per-channel normalisation of RGB images as six numbers: mean R,G,B then std R,G,B
    /// (default: the data set's own constants).
    #[arg(long, value_name = "M,M,M,S,S,S", value_parser = parse_normalization)]
    pub normalize: Option<dalif_data::Normalization>,
    /// Folder of the downloaded data set (CIFAR: the extracted folder or the .tar.gz).
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Resize event frames to HxW, e.g. 48x48 (event data sets only).
    #[arg(long, value_name = "HxW", value_parser = parse_size)]
    pub frame_size: Option<[usize; 2]>,
    /// Network.
    #[arg(long, value_parser = name_of(RunConfig::default().model.kind))]
    pub model: Option<ModelKind>,
    /// Neuron of every spiking layer.
    #[arg(long, value_parser = name_of(RunConfig::default().model.neuron))]
    pub neuron: Option<NeuronKind>,
    /// How DA-LIF maps its weights to decays.
    #[arg(long, value_parser = name_of(RunConfig::default().model.param))]
    pub param: Option<DecayParam>,
    /// Surrogate derivative of the spike, NAME or NAME:PARAMETER: sigmoid (default, 4),
    /// atan (2), triangle (1), rectangle (1), dspike-tanh (3).
    #[arg(long, value_name = "NAME[:P]")]
    pub surrogate: Option<Surrogate>,
    /// Firing threshold v_th. Default 1.
    #[arg(long)]
    pub v_th: Option<f64>,
    /// Reset after a spike: hard (to 0, the default) or soft (subtract v_th).
    #[arg(long)]
    pub reset: Option<Reset>,
    /// Treat the spike inside the reset as a constant in the backward pass.
    #[arg(long)]
    pub detach_reset: bool,
    /// How the batch norms before the spiking layers set their scale gamma at
    /// initialisation: threshold (default: gamma = v_th / alpha_0, so that the first charge
    /// has the threshold's spread, tdBN's convention) or unit (gamma = 1, PyTorch's).
    #[arg(long, value_name = "threshold|unit")]
    pub init_scale: Option<InitScale>,
    /// One learnable decay pair per channel instead of one per layer.
    #[arg(long)]
    pub per_channel: bool,
    /// DA-LIF's initial decays alpha,beta. Default 0.5,0.5.
    #[arg(long, value_name = "ALPHA,BETA", value_parser = parse_pair)]
    pub init_decays: Option<[f64; 2]>,
    /// LIF's time constant, PLIF's initial one. Default 2.
    #[arg(long)]
    pub tau: Option<f64>,
    /// Time steps T (images are repeated T times; event data give T frames). Default 4.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Passes over the training set. Default 5.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per optimiser step. Default 64.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate (linear warm-up, then cosine decay to 0). Default 0.05.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Epochs of linear learning-rate warm-up. Default 1.
    #[arg(long)]
    pub warmup_epochs: Option<usize>,
    /// Optimiser.
    #[arg(long, value_parser = name_of(RunConfig::default().train.optimizer))]
    pub optimizer: Option<OptimizerKind>,
    /// Weight decay (L2 for SGD, decoupled for AdamW and LAMB). Default 0.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Keep weight decay off batch norms, biases and the neurons' decays.
    #[arg(long)]
    pub no_decay_bn_and_neurons: bool,
    /// Under mpirun/srun: batch norms normalise with the statistics of the whole batch over
    /// all ranks (synchronised batch norm), not of each rank's part. One process: no change.
    #[arg(long)]
    pub sync_bn: bool,
    /// Augmentation: random crop after zero padding by N pixels (CIFAR: 4).
    #[arg(long, value_name = "N")]
    pub pad_crop: Option<usize>,
    /// Augmentation: horizontal flip with probability 1/2.
    #[arg(long)]
    pub flip: bool,
    /// Augmentation: Cutout, one N x N square set to 0 (CIFAR-10: 16, CIFAR-100: 8).
    #[arg(long, value_name = "N")]
    pub cutout: Option<usize>,
    /// Augmentation: roll (wrapping shift) by up to N pixels each way (event frames: 5).
    #[arg(long, value_name = "N")]
    pub roll: Option<usize>,
    /// Augmentation: AutoAugment's CIFAR-10 policy on the 8-bit pixels (RGB images).
    #[arg(long)]
    pub auto_augment: bool,
    /// Mixup with this alpha (lambda ~ Beta(alpha, alpha); 0.2-1 are usual). Default off.
    #[arg(long, value_name = "ALPHA")]
    pub mixup: Option<f64>,
    /// CutMix with this alpha (1 is usual). With --mixup too, each batch uses one of the two.
    #[arg(long, value_name = "ALPHA")]
    pub cutmix: Option<f64>,
    /// Label smoothing of the cross-entropy (0.1 is common). Default 0.
    #[arg(long)]
    pub label_smoothing: Option<f32>,
    /// Train with the TET loss (mean of per-step cross-entropies) instead of the
    /// cross-entropy of the mean logits.
    #[arg(long)]
    pub tet: bool,
    /// Seeds the weights and the batch order: the same seed gives the same numbers on the CPU.
    /// Default 0.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `--data`'s help: the embedded and generated data sets, described, then the downloaded
/// ones.
fn data_help() -> String {
    let downloaded = |k: DatasetKind| k.info().origin == Origin::Downloaded;
    let own: Vec<String> = (DatasetKind::ALL.iter().filter(|&&k| !downloaded(k)))
        .map(|&k| {
            let default = if k == DataConfig::default().name {
                ", the default"
            } else {
                ""
            };
            format!("{k} ({}{default})", k.info().about)
        })
        .collect();
    format!(
        "Data set: {}, or from --data-root: {}.",
        own.join(", "),
        DatasetKind::list(downloaded)
    )
}

fn parse_size(s: &str) -> Result<[usize; 2], String> {
    let parse = |v: &str| v.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match s.split_once(['x', 'X']) {
        Some((h, w)) => parse(h).zip(parse(w)).map(|(h, w)| [h, w]),
        None => parse(s).map(|n| [n, n]),
    }
    .ok_or_else(|| format!("'{s}' is not a size like 48x48 or 48"))
}

fn parse_pair(s: &str) -> Result<[f64; 2], String> {
    match s
        .split_once(',')
        .map(|(a, b)| (a.trim().parse(), b.trim().parse()))
    {
        Some((Ok(a), Ok(b))) => Ok([a, b]),
        _ => Err(format!("'{s}' is not two numbers like 0.5,0.5")),
    }
}

fn parse_normalization(s: &str) -> Result<dalif_data::Normalization, String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|x| x.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("'{s}': {e}"))?;
    match v[..] {
        [m0, m1, m2, s0, s1, s2] => Ok(dalif_data::Normalization {
            mean: [m0, m1, m2],
            std: [s0, s1, s2],
        }),
        _ => Err(format!(
            "'{s}' is not six numbers (mean R,G,B then std R,G,B)"
        )),
    }
}

impl ConfigArgs {
    /// The preset (or the defaults) with these flags applied.
    pub fn resolve(&self) -> Result<RunConfig> {
        let mut c = match &self.preset {
            Some(name) => crate::presets::load(name)?,
            None => RunConfig::default(),
        };
        if let Some(v) = &self.data {
            c.data.name = *v;
        }
        if let Some(v) = &self.data_root {
            c.data.root = Some(v.clone());
        }
        if let Some(v) = self.frame_size {
            c.data.frame_size = Some(v);
        }
        if let Some(v) = self.split_by {
            c.data.split_by = v;
        }
        if let Some(v) = self.cifar10dvs_split {
            c.data.cifar10dvs_split = v;
        }
        if let Some(v) = self.normalize {
            c.data.normalization = Some(v);
        }
        if let Some(v) = self.model {
            c.model.kind = v;
        }
        if let Some(v) = self.neuron {
            c.model.neuron = v;
        }
        if let Some(v) = self.param {
            c.model.param = v;
        }
        let m = &mut c.model;
        if let Some(v) = self.surrogate {
            m.surrogate = v;
        }
        if let Some(v) = self.v_th {
            m.v_th = v;
        }
        if let Some(v) = self.reset {
            m.reset = v;
        }
        if self.detach_reset {
            m.detach_reset = true;
        }
        if let Some(v) = self.init_scale {
            m.init_scale = v;
        }
        if self.per_channel {
            m.per_channel = true;
        }
        if let Some(v) = self.init_decays {
            m.init_decays = v;
        }
        if let Some(v) = self.tau {
            m.tau = v;
        }
        let t = &mut c.train;
        if let Some(v) = self.steps {
            t.steps = v;
        }
        if let Some(v) = self.epochs {
            t.epochs = v;
        }
        if let Some(v) = self.batch_size {
            t.batch_size = v;
        }
        if let Some(v) = self.lr {
            t.lr = v;
        }
        if let Some(v) = self.warmup_epochs {
            t.warmup_epochs = v;
        }
        if let Some(v) = self.optimizer {
            t.optimizer = v;
        }
        if let Some(v) = self.weight_decay {
            t.weight_decay = v;
        }
        if self.no_decay_bn_and_neurons {
            t.no_decay_bn_and_neurons = true;
        }
        if self.sync_bn {
            t.sync_bn = true;
        }
        if let Some(v) = self.pad_crop {
            t.augmentation.pad_crop = v;
        }
        if self.flip {
            t.augmentation.flip = true;
        }
        if let Some(v) = self.cutout {
            t.augmentation.cutout = v;
        }
        if let Some(v) = self.roll {
            t.augmentation.roll = v;
        }
        if self.auto_augment {
            t.augmentation.auto_augment = true;
        }
        if let Some(v) = self.mixup {
            t.mixing.mixup = v;
        }
        if let Some(v) = self.cutmix {
            t.mixing.cutmix = v;
        }
        if let Some(v) = self.label_smoothing {
            t.label_smoothing = v;
        }
        if self.tet {
            t.readout = Readout::Tet;
        }
        if let Some(v) = self.seed {
            t.seed = v;
        }
        c.validate()
            .context("invalid run configuration (its keys are the flags' names)")?;
        Ok(c)
    }
}

/// Where computations run.
#[derive(Args, Debug)]
pub struct DeviceArgs {
    /// cpu (burn's Flex backend, the default), or, in builds with the feature of that name:
    /// wgpu, wgpu:N (the N-th discrete GPU), wgpu:cpu (a software Vulkan driver); cuda:N;
    /// tch (libtorch on the CPU), tch-cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceSpec,
}

impl DeviceArgs {
    /// The device, without autodiff.
    pub fn device(&self) -> Result<Device> {
        Ok(self.device.device()?)
    }
}

/// Where and how training computes.
#[derive(Args, Debug)]
pub struct TrainDeviceArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Trade compute for memory in training: the backward recomputes each spiking block's
    /// batch norm, neurons and spikes from the block's convolution output instead of keeping
    /// them (burn's balanced gradient checkpointing). The results are the same.
    #[arg(long)]
    pub checkpointing: bool,
}

impl TrainDeviceArgs {
    /// The device for training: autodiff, checkpointed with `--checkpointing`.
    pub fn autodiff(&self) -> Result<Device> {
        let device = self.device.device()?.autodiff();
        Ok(if self.checkpointing {
            device.gradient_checkpointing()
        } else {
            device
        })
    }
}

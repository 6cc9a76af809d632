//! Where a run computes, named as on the command line (`--device`): burn's backends behind one
//! spelling, checked against the features this build has.
//!
//! ```
//! use dalif::device::DeviceSpec;
//!
//! assert_eq!("cpu".parse(), Ok(DeviceSpec::Cpu));
//! assert_eq!("cuda:1".parse(), Ok(DeviceSpec::Cuda(1)));
//! assert_eq!("wgpu".parse(), Ok(DeviceSpec::Wgpu(None)));
//! assert!("gpu".parse::<DeviceSpec>().is_err());
//! assert!(DeviceSpec::Cpu.device().is_ok());
//! ```

use burn::tensor::Device;
use std::fmt;
use std::str::FromStr;

/// A device by name: `cpu`, `wgpu`, `wgpu:N`, `wgpu:cpu`, `cuda:N`, `tch`, `tch-cuda:N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn's pure-Rust CPU backend Flex, with the fused neuron kernel: the default.
    Cpu,
    /// wgpu (Vulkan, Metal, DX12): the default adapter (`None`), the N-th discrete GPU, or a
    /// software driver (`wgpu:cpu`, e.g. Mesa's lavapipe).
    Wgpu(Option<WgpuAdapter>),
    /// burn's CUDA backend on GPU N (`cuda` is `cuda:0`).
    Cuda(usize),
    /// libtorch on the CPU.
    Tch,
    /// libtorch on CUDA GPU N.
    TchCuda(usize),
}

/// Which wgpu adapter `wgpu:...` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WgpuAdapter {
    /// `wgpu:N`, the N-th discrete GPU.
    Discrete(usize),
    /// `wgpu:cpu`, a software driver.
    Cpu,
}

/// A `--device` that is not a device, or names one this build cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// Not one of the spellings.
    #[error(
        "unknown device '{0}' (expected cpu, wgpu, wgpu:N, wgpu:cpu, cuda:N, tch or tch-cuda:N; \
         N may be `local`, the rank's place on its machine in an mpirun or srun job)"
    )]
    Unknown(String),
    /// `N = local` outside a job launched by mpirun or srun.
    #[error(
        "the device '{0}' names this process's local rank, but no launcher (mpirun, srun) \
         started it: give the device's number"
    )]
    NoLocalRank(String),
    /// The backend could not start the device (no such adapter, no driver).
    #[error("the device '{device}' is not available: {reason}")]
    Unavailable {
        /// The device asked for.
        device: String,
        /// What the backend said.
        reason: String,
    },
    /// The backend's cargo feature is not in this build.
    #[error(
        "this dalif was built without the '{feature}' feature, which '{device}' needs: rebuild \
         with `cargo install --path crates/dalif-cli --features {feature}`"
    )]
    NotBuilt {
        /// The device asked for.
        device: String,
        /// The cargo feature it needs.
        feature: &'static str,
    },
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(s.to_string());
        let index = |i: Option<&str>| match i {
            None => Ok(0),
            Some("local") => {
                crate::distributed::local_rank().ok_or_else(|| DeviceError::NoLocalRank(s.into()))
            }
            Some(i) => i.parse::<usize>().map_err(|_| unknown()),
        };
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        match (name, arg) {
            ("cpu", None) => Ok(Self::Cpu),
            ("wgpu", None) => Ok(Self::Wgpu(None)),
            ("wgpu", Some("cpu")) => Ok(Self::Wgpu(Some(WgpuAdapter::Cpu))),
            ("wgpu", i) => Ok(Self::Wgpu(Some(WgpuAdapter::Discrete(index(i)?)))),
            ("cuda", i) => Ok(Self::Cuda(index(i)?)),
            ("tch", None) => Ok(Self::Tch),
            ("tch-cuda", i) => Ok(Self::TchCuda(index(i)?)),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Wgpu(None) => write!(f, "wgpu"),
            Self::Wgpu(Some(WgpuAdapter::Cpu)) => write!(f, "wgpu:cpu"),
            Self::Wgpu(Some(WgpuAdapter::Discrete(i))) => write!(f, "wgpu:{i}"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
            Self::Tch => write!(f, "tch"),
            Self::TchCuda(i) => write!(f, "tch-cuda:{i}"),
        }
    }
}

impl DeviceSpec {
    /// The cargo feature of dalif (and of the CLI) that builds this backend in.
    pub fn feature(&self) -> Option<&'static str> {
        match self {
            Self::Cpu => None,
            Self::Wgpu(_) => Some("wgpu"),
            Self::Cuda(_) => Some("cuda"),
            Self::Tch | Self::TchCuda(_) => Some("tch"),
        }
    }

    /// Whether the device is a GPU's (started and checked by [`device`](Self::device)).
    pub fn is_gpu(&self) -> bool {
        !matches!(self, Self::Cpu | Self::Tch)
    }

    /// burn's device, or why this build or this machine cannot run it. A GPU device is
    /// started here (GPU backends fail on first use when the adapter or driver is missing).
    pub fn device(&self) -> Result<Device, DeviceError> {
        let device = self.unchecked()?;
        if self.is_gpu() {
            self.probe(&device)?;
        }
        Ok(device)
    }

    /// Runs one tiny operation on `device`. The GPU backends panic, on a worker thread and
    /// then on the caller's, when they cannot start: the panic becomes an error carrying the
    /// backend's message, and the message is not printed as a crash.
    fn probe(&self, device: &Device) -> Result<(), DeviceError> {
        use std::sync::{Arc, Mutex};
        let first_message = Arc::new(Mutex::new(None::<String>));
        let previous = std::panic::take_hook();
        let sink = first_message.clone();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            if let Ok(mut first) = sink.lock() {
                first.get_or_insert(message);
            }
        }));
        let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            burn::tensor::Tensor::<1>::zeros([1], device).into_scalar::<f32>()
        }));
        std::panic::set_hook(previous);
        match answered {
            Ok(_) => Ok(()),
            Err(_) => Err(DeviceError::Unavailable {
                device: self.to_string(),
                reason: first_message
                    .lock()
                    .ok()
                    .and_then(|m| m.clone())
                    .unwrap_or_else(|| "the backend failed to start".into()),
            }),
        }
    }

    fn unchecked(&self) -> Result<Device, DeviceError> {
        let not_built = |feature| DeviceError::NotBuilt {
            device: self.to_string(),
            feature,
        };
        match *self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu(adapter) => {
                use burn::tensor::DeviceKind;
                Ok(Device::wgpu(match adapter {
                    None => DeviceKind::default(),
                    Some(WgpuAdapter::Cpu) => DeviceKind::Cpu,
                    Some(WgpuAdapter::Discrete(i)) => DeviceKind::DiscreteGpu(i),
                }))
            }
            #[cfg(feature = "cuda")]
            Self::Cuda(i) => Ok(Device::cuda(i)),
            // burn 0.22 marks libtorch deprecated; dalif keeps it (see neuron::op).
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            Self::Tch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            Self::TchCuda(i) => Ok(Device::libtorch_cuda(i)),
            // A guard, not a pattern: with every feature built in, nothing reaches it.
            #[allow(unreachable_patterns)]
            _ => Err(not_built(self.feature().unwrap_or("cpu"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_and_prints_back() {
        for s in [
            "cpu",
            "wgpu",
            "wgpu:0",
            "wgpu:2",
            "wgpu:cpu",
            "cuda:0",
            "cuda:3",
            "tch",
            "tch-cuda:1",
        ] {
            let spec: DeviceSpec = s.parse().unwrap();
            assert_eq!(spec.to_string(), s);
        }
        assert_eq!("cuda".parse(), Ok(DeviceSpec::Cuda(0)));
        assert_eq!("tch-cuda".parse(), Ok(DeviceSpec::TchCuda(0)));
    }

    #[test]
    fn bad_names_are_refused_with_the_spellings() {
        for s in ["", "gpu", "cuda:x", "cpu:1", "tch:1", "wgpu:-1", "cuda:1:2"] {
            let err = s.parse::<DeviceSpec>().unwrap_err();
            assert_eq!(err, DeviceError::Unknown(s.to_string()));
            assert!(err.to_string().contains("tch-cuda:N"), "{err}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_backend_not_built_names_its_feature() {
        let err = DeviceSpec::Cuda(0).device().unwrap_err();
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }
}

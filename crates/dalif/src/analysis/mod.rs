//! What a trained network learned and what it costs: operation counts and energy
//! ([`energy`]), the report of `dalif analyze` ([`Analysis`]) and its charts ([`plot`]); and
//! the statistics over the seeds of a series of runs ([`stats`]).

pub mod energy;
pub mod plot;
mod report;
pub mod stats;

pub use report::{Analysis, LayerReport, ReportError};

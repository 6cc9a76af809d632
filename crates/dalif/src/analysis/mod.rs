//! What a trained network learned and what it costs: operation counts and energy
//! ([`energy`]), the report of `dalif analyze` ([`Analysis`]) and its charts ([`plot`]).

pub mod energy;
pub mod plot;
mod report;

pub use report::{Analysis, LayerReport, ReportError};

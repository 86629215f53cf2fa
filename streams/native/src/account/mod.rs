//! The per-partition account stage: admission, template extraction and account profiles of
//! one requests partition, one call per batch of raw records (`agents.stages.account` is its
//! thin Python shell).  The in-process detector (`streams.detector`) runs the same profiles.
//!
//! Profiles reproduce the former Python implementation bit for bit (same f64 operations in
//! the same order) and write the same checkpoint bytes, so old checkpoints restore and live,
//! replay and a restarted worker agree.

pub mod admission;
pub mod checkpoint;
pub mod config;
pub mod profile;
pub mod pyfloat;
pub mod sketch;
pub mod stage;
pub mod state;

pub use config::Config;
pub use profile::{EventOutput, Extraction, Message, Profiles, Snapshot};
pub use stage::{BatchOutput, Letter, Partition, Record};

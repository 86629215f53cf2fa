//! DistillWatch's native hot path, imported from Python as `streams._native`.
//!
//! Pure Rust modules hold the computations; `python` (behind the default feature of that
//! name) is the only module that knows PyO3, so `cargo test --no-default-features` tests the
//! core without a Python interpreter.

pub mod account;
pub mod minhash;
pub mod signatures;
pub mod templates;

#[cfg(feature = "python")]
mod python;

/// Request events: decoding and validation of raw records (pure Rust).
pub mod request;

//! The PyO3 module `streams._native`: batch entry points, GIL released while they run.

use pyo3::prelude::*;

// The account stage, the in-process profiler and signatures (streams._native.AccountPartition, ...).
mod account;

// Stable hashing and MinHash (streams._native.stable_hash64, MinHasher).
mod minhash;
// Request-event decoding (streams._native.decode_requests).
mod request;
// Template extraction (streams._native.Extractor).
mod templates;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    account::register(m)?;
    minhash::register(m)?;
    request::register(m)?;
    templates::register(m)?;
    Ok(())
}

//! The PyO3 module `streams._native`: batch entry points, GIL released while they run.

use pyo3::prelude::*;

// Request-event decoding (streams._native.decode_requests).
mod request;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    request::register(m)?;
    Ok(())
}

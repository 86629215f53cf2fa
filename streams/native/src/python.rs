//! The PyO3 module `streams._native`: batch entry points, GIL released while they run.

use pyo3::prelude::*;

#[pymodule]
fn _native(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

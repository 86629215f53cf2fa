//! Stable hashing and MinHash (streams._native.stable_hash64, streams._native.MinHasher).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::minhash::{blake2b8, MinHasher as Core};

/// `streams.sketches.minhash.stable_hash64`: 8-byte BLAKE2b of the token's UTF-8, read
/// little-endian.  A str holding lone surrogates is hashed as its `surrogatepass` bytes.
#[pyfunction]
fn stable_hash64(token: &Bound<'_, PyString>) -> PyResult<u64> {
    let digest = match token.to_str() {
        Ok(s) => blake2b8(s.as_bytes()),
        Err(_) => {
            let bytes = token.call_method1("encode", ("utf-8", "surrogatepass"))?;
            blake2b8(bytes.extract::<&[u8]>()?)
        }
    };
    Ok(u64::from_le_bytes(digest))
}

/// `num_perm` multiply-shift permutations of scrambled 64-bit hashes (seeded as numpy's
/// `Generator(PCG64(seed))`).
#[pyclass(module = "streams._native", frozen)]
struct MinHasher {
    core: Core,
}

#[pymethods]
impl MinHasher {
    #[new]
    fn new(num_perm: usize, seed: u64) -> PyResult<Self> {
        if num_perm < 1 {
            return Err(PyValueError::new_err("num_perm must be >= 1"));
        }
        Ok(MinHasher {
            core: Core::new(num_perm, seed),
        })
    }

    /// Signature (`num_perm` ints) of a set given as 64-bit hashes; empty: all `MAX_HASH`.
    fn signature_from_hashes(&self, py: Python<'_>, hashes: Vec<u64>) -> Vec<u32> {
        py.detach(|| self.core.signature_from_hashes(&hashes))
    }

    #[getter]
    fn num_perm(&self) -> usize {
        self.core.num_perm()
    }
}

/// Adds the hashing functions and class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stable_hash64, m)?)?;
    m.add_class::<MinHasher>()?;
    Ok(())
}

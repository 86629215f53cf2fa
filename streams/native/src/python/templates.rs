//! Template extraction (streams._native.Extractor), GIL released while a batch runs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::templates::{
    canonical_tokens as core_canonical_tokens, normalise as core_normalise,
    skeleton as core_skeleton, Config, Extractor as Core, TemplateMatch, UNIDATA_VERSION,
};

/// Why one item of a batch has no match: a text that is not valid Unicode scalar values
/// (lone surrogates, which Rust strings cannot hold), an extraction error, or a panic.
enum Failure {
    Surrogates,
    Error(String),
    Panic(String),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Surrogates => "surrogates: text holds lone surrogates".to_string(),
            Failure::Error(e) => format!("error: {e}"),
            Failure::Panic(e) => format!("panic: {e}"),
        }
    }
}

/// `None`, or the text; `Err` for a str that cannot become UTF-8 (lone surrogates).
fn text_of(value: &Bound<'_, PyAny>) -> PyResult<Result<Option<String>, ()>> {
    if value.is_none() {
        return Ok(Ok(None));
    }
    let s = value.cast::<PyString>()?;
    Ok(match s.to_str() {
        Ok(t) => Ok(Some(t.to_owned())),
        Err(_) => Err(()),
    })
}

/// Template extraction of `streams.templates.TemplateExtractor` (without its cache).
#[pyclass(module = "streams._native", frozen)]
struct Extractor {
    core: Core,
}

#[pymethods]
impl Extractor {
    #[new]
    #[pyo3(signature = (
        num_perm=64, seed=1, shingle_size=2, id_tokens=4, plain_id_tokens=16,
        min_wrapper_tokens=5, wrapper_cue_share=0.5, label_max_tokens=4,
        max_prompt_chars=16000, length_buckets=vec![100, 300, 1000, 3000],
        slot_quotes=true, slot_named_entities=true, slot_list_markers=true,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        num_perm: usize,
        seed: u64,
        shingle_size: usize,
        id_tokens: usize,
        plain_id_tokens: usize,
        min_wrapper_tokens: usize,
        wrapper_cue_share: f64,
        label_max_tokens: usize,
        max_prompt_chars: usize,
        length_buckets: Vec<usize>,
        slot_quotes: bool,
        slot_named_entities: bool,
        slot_list_markers: bool,
    ) -> PyResult<Self> {
        let config = Config {
            num_perm,
            seed,
            shingle_size,
            id_tokens,
            plain_id_tokens,
            min_wrapper_tokens,
            wrapper_cue_share,
            label_max_tokens,
            max_prompt_chars,
            length_buckets,
            slot_quotes,
            slot_named_entities,
            slot_list_markers,
        };
        let core = Core::new(config).map_err(PyValueError::new_err)?;
        Ok(Extractor { core })
    }

    /// Matches of many `(prompt, system_prompt)` pairs (each `str` or `None`).
    ///
    /// Each item is `(template_id, exact_id, minhash, sorted features, wrapper, skeleton)`,
    /// or a `str` saying why that item has no match ("surrogates: ...", "error: ...",
    /// "panic: ..."); `TemplateExtractor` replaces lone surrogates and retries, and maps
    /// the others to a plain match of their own.
    fn extract_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut inputs = Vec::with_capacity(texts.len());
        for (prompt, system) in &texts {
            inputs.push(match (text_of(prompt)?, text_of(system)?) {
                (Ok(p), Ok(s)) => Ok((p, s)),
                _ => Err(Failure::Surrogates),
            });
        }
        let core = &self.core;
        let results: Vec<Result<TemplateMatch, Failure>> = py.detach(|| {
            inputs
                .into_iter()
                .map(|input| {
                    let (p, s) = input?;
                    match catch_unwind(AssertUnwindSafe(|| {
                        core.extract(p.as_deref(), s.as_deref())
                    })) {
                        Ok(Ok(m)) => Ok(m),
                        Ok(Err(e)) => Err(Failure::Error(e.to_string())),
                        Err(payload) => Err(Failure::Panic(
                            payload
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| payload.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".to_string()),
                        )),
                    }
                })
                .collect()
        });
        let out = PyList::empty(py);
        for result in results {
            match result {
                Ok(m) => {
                    let item = PyTuple::new(
                        py,
                        [
                            m.template_id.into_pyobject(py)?.into_any(),
                            m.exact_id.into_pyobject(py)?.into_any(),
                            m.minhash.into_pyobject(py)?.into_any(),
                            m.features.into_pyobject(py)?.into_any(),
                            m.wrapper.into_pyobject(py)?.to_owned().into_any(),
                            m.skeleton.into_pyobject(py)?.into_any(),
                        ],
                    )?;
                    out.append(item)?;
                }
                Err(f) => out.append(f.message())?,
            }
        }
        Ok(out)
    }

    #[getter]
    fn num_perm(&self) -> usize {
        self.core.config().num_perm
    }
}

/// The first step of extraction: case and space folded, volatile material slotted.
/// Raises `ValueError` when a pattern gives up on pathological input.
#[pyfunction]
#[pyo3(signature = (text, slot_quotes=true, slot_named_entities=true, slot_list_markers=true))]
fn normalise(
    py: Python<'_>,
    text: &str,
    slot_quotes: bool,
    slot_named_entities: bool,
    slot_list_markers: bool,
) -> PyResult<String> {
    let cfg = Config {
        slot_quotes,
        slot_named_entities,
        slot_list_markers,
        ..Config::default()
    };
    py.detach(|| core_normalise(text, &cfg))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The second step: `(skeleton text, has_payload)` of a normalised prompt.
#[pyfunction]
#[pyo3(signature = (normalised, label_max_tokens=4, wrapper_cue_share=0.5))]
fn skeleton(normalised: &str, label_max_tokens: usize, wrapper_cue_share: f64) -> (String, bool) {
    let sk = core_skeleton(normalised, label_max_tokens, wrapper_cue_share);
    (sk.text, sk.has_payload)
}

/// The tokens a template id hashes: instruction synonyms folded, stop words dropped.
#[pyfunction]
fn canonical_tokens(text: &str) -> Vec<String> {
    core_canonical_tokens(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Adds the template-extraction class and step functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Extractor>()?;
    m.add_function(wrap_pyfunction!(normalise, m)?)?;
    m.add_function(wrap_pyfunction!(skeleton, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_tokens, m)?)?;
    m.add("UNIDATA_VERSION", UNIDATA_VERSION)?;
    Ok(())
}

//! The account stage and profiler classes (`streams._native.AccountPartition`, `Profiler`,
//! `SignatureBook`, `SignatureMatcher`): one call per batch, GIL released while it runs.
//!
//! Results come back compact: dead letters as `(index, reason, detail)` (the shell builds
//! the `DeadLetter` with the original bytes), envelope entries already in the tuple shape
//! `agents.stages.envelope.Entry` has, and account_extraction findings as tuples the Python
//! side turns into an alert and its action.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PyString, PyTuple};

use crate::account::admission::{Admission, Refused};
use crate::account::checkpoint;
use crate::account::config::{Config, Feature};
use crate::account::profile::{EventOutput, Message, Profiles};
use crate::account::stage::{Letter, Partition, Record};
use crate::account::state::METRICS;
use crate::request::{Event, Fingerprint};
use crate::signatures::{Book, Parts, Signature};
use crate::templates::{Config as TemplateConfig, Extractor, TemplateMatch};

fn item<'py, T>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    match d.get_item(key)? {
        Some(v) => v.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            PyTypeError::new_err(format!("account stage setting {key}: {e}"))
        }),
        None => Err(PyTypeError::new_err(format!(
            "account stage setting {key} is missing"
        ))),
    }
}

/// The stage's `Config` of a dict of `DetectorConfig` fields (`streams.stages.profile`
/// builds it); `templates` is a dict of `TemplateConfig` fields, `family_caps` the caps in
/// family order, `risk_weights` and `severity_bands` pairs.
fn config_of(d: &Bound<'_, PyDict>) -> PyResult<Config> {
    let t: Bound<'_, PyDict> = item(d, "templates")?;
    let templates = TemplateConfig {
        num_perm: item(&t, "num_perm")?,
        seed: item(&t, "seed")?,
        shingle_size: item(&t, "shingle_size")?,
        id_tokens: item(&t, "id_tokens")?,
        plain_id_tokens: item(&t, "plain_id_tokens")?,
        min_wrapper_tokens: item(&t, "min_wrapper_tokens")?,
        wrapper_cue_share: item(&t, "wrapper_cue_share")?,
        label_max_tokens: item(&t, "label_max_tokens")?,
        max_prompt_chars: item(&t, "max_prompt_chars")?,
        length_buckets: item(&t, "length_buckets")?,
        slot_quotes: item(&t, "slot_quotes")?,
        slot_named_entities: item(&t, "slot_named_entities")?,
        slot_list_markers: item(&t, "slot_list_markers")?,
    };
    let caps: Vec<usize> = item(d, "family_caps")?;
    let family_caps: [usize; 9] = caps
        .try_into()
        .map_err(|_| PyValueError::new_err("family_caps must list the 9 token families"))?;
    let weights: Vec<(String, f64)> = item(d, "risk_weights")?;
    let risk_weights = weights
        .into_iter()
        .map(|(name, w)| {
            Feature::parse(&name)
                .map(|f| (f, w))
                .ok_or_else(|| PyValueError::new_err(format!("unknown risk feature {name:?}")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Config {
        templates,
        max_prompt_bytes: item(d, "max_prompt_bytes")?,
        max_record_bytes: item(d, "max_record_bytes")?,
        max_lateness_s: item(d, "max_lateness_s")?,
        max_future_s: item(d, "max_future_s")?,
        dedup_max_ids: item(d, "dedup_max_ids")?,
        max_accounts: item(d, "max_accounts")?,
        cap_evict_share: item(d, "cap_evict_share")?,
        hot_accounts: item(d, "hot_accounts")?,
        account_ttl_s: item(d, "account_ttl_s")?,
        gap_ewma_alpha: item(d, "gap_ewma_alpha")?,
        gap_cap_s: item(d, "gap_cap_s")?,
        snapshot_first_after: item(d, "snapshot_first_after")?,
        snapshot_every: item(d, "snapshot_every")?,
        snapshot_on_new_tokens: item(d, "snapshot_on_new_tokens")?,
        snapshot_min_events_between: item(d, "snapshot_min_events_between")?,
        snapshot_max_interval_s: item(d, "snapshot_max_interval_s")?,
        kmv_k: item(d, "kmv_k")?,
        family_caps,
        max_categories: item(d, "max_categories")?,
        created_bucket_s: item(d, "created_bucket_s")?,
        created_wide_bucket_s: item(d, "created_wide_bucket_s")?,
        temperature_bucket: item(d, "temperature_bucket")?,
        risk_min_events: item(d, "risk_min_events")?,
        young_account_days: item(d, "young_account_days")?,
        old_account_days: item(d, "old_account_days")?,
        asn_rotation_low: item(d, "asn_rotation_low")?,
        asn_rotation_high: item(d, "asn_rotation_high")?,
        rotation_share_events: item(d, "rotation_share_events")?,
        ip_rotation_low: item(d, "ip_rotation_low")?,
        ip_rotation_high: item(d, "ip_rotation_high")?,
        diurnal_low_hours: item(d, "diurnal_low_hours")?,
        diurnal_high_hours: item(d, "diurnal_high_hours")?,
        volume_low_per_hour: item(d, "volume_low_per_hour")?,
        volume_high_per_hour: item(d, "volume_high_per_hour")?,
        breadth_low: item(d, "breadth_low")?,
        breadth_high: item(d, "breadth_high")?,
        diversity_low: item(d, "diversity_low")?,
        diversity_high: item(d, "diversity_high")?,
        structured_low: item(d, "structured_low")?,
        structured_high: item(d, "structured_high")?,
        cot_low: item(d, "cot_low")?,
        cot_high: item(d, "cot_high")?,
        ratio_low: item(d, "ratio_low")?,
        ratio_high: item(d, "ratio_high")?,
        throttle_low: item(d, "throttle_low")?,
        throttle_high: item(d, "throttle_high")?,
        regularity_cv_high: item(d, "regularity_cv_high")?,
        regularity_cv_low: item(d, "regularity_cv_low")?,
        risk_weights,
        extraction_min_events: item(d, "extraction_min_events")?,
        extraction_threshold: item(d, "extraction_threshold")?,
        extraction_min_automation: item(d, "extraction_min_automation")?,
        extraction_min_harvest: item(d, "extraction_min_harvest")?,
        df_window_s: item(d, "df_window_s")?,
        signature_min_events: item(d, "signature_min_events")?,
        severity_bands: item(d, "severity_bands")?,
        evict_interval_s: item(d, "evict_interval_s")?,
    })
}

// -- signatures ---------------------------------------------------------------------------

/// One signature's matchable parts, compiled (`streams.stages.signatures.CompiledSignature`
/// builds it; an invalid part raises `ValueError`).
#[pyclass(module = "streams._native", frozen)]
pub struct SignatureMatcher {
    inner: Signature,
}

#[pymethods]
impl SignatureMatcher {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        signature_id: String,
        confidence: f64,
        valid_from: f64,
        valid_until: f64,
        templates: Vec<String>,
        patterns: Vec<String>,
        networks: Vec<(String, u8)>,
        values: Vec<(String, Vec<String>)>,
        behaviour: Vec<(String, String, f64)>,
    ) -> PyResult<Self> {
        let parts = Parts {
            id: signature_id,
            confidence,
            valid_from,
            valid_until,
            templates,
            patterns,
            networks,
            values,
            behaviour,
        };
        Signature::compile(parts)
            .map(|inner| SignatureMatcher { inner })
            .map_err(PyValueError::new_err)
    }
}

/// The live signatures every account stage of the process matches against; a change is a
/// new book (copy on write), so a batch in flight keeps the book it started with.
#[pyclass(module = "streams._native", frozen)]
pub struct SignatureBook {
    inner: Mutex<Arc<Book>>,
}

impl SignatureBook {
    fn current(&self) -> Arc<Book> {
        self.inner
            .lock()
            .map(|b| Arc::clone(&b))
            .unwrap_or_default()
    }

    fn change(&self, f: impl FnOnce(&mut Book)) {
        if let Ok(mut guard) = self.inner.lock() {
            let mut book = (**guard).clone();
            f(&mut book);
            *guard = Arc::new(book);
        }
    }
}

#[pymethods]
impl SignatureBook {
    #[new]
    fn new() -> Self {
        SignatureBook {
            inner: Mutex::new(Arc::new(Book::default())),
        }
    }

    fn put(&self, matcher: &SignatureMatcher) {
        let sig = matcher.inner.clone();
        self.change(|book| {
            book.signatures.insert(sig.id.clone(), sig);
        });
    }

    fn remove(&self, signature_id: &str) {
        self.change(|book| {
            book.signatures.remove(signature_id);
        });
    }

    fn __len__(&self) -> usize {
        self.current().signatures.len()
    }
}

// -- shared conversions -------------------------------------------------------------------

/// What result building needs from Python, looked up once per call.
struct Ctx<'py> {
    entry: Option<Bound<'py, PyAny>>,
    tuple_new: Bound<'py, PyAny>,
}

impl<'py> Ctx<'py> {
    fn new(py: Python<'py>, entry: Option<Bound<'py, PyAny>>) -> PyResult<Self> {
        Ok(Ctx {
            entry,
            tuple_new: py.get_type::<PyTuple>().getattr("__new__")?,
        })
    }
}

fn strings<'py>(py: Python<'py>, items: &[String]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items.iter().map(|s| PyString::new(py, s)))
}

/// `(kind, payload)` of one message, the payload as `envelope.message_payload` lays it out.
fn payload<'py>(
    py: Python<'py>,
    e: &Event,
    msg: &Message,
) -> PyResult<(&'static str, Bound<'py, PyList>)> {
    let account = PyString::new(py, &e.account_id).into_any();
    Ok(match msg {
        Message::Hit { template_id, risk } => (
            "t",
            PyList::new(
                py,
                [
                    PyString::new(py, template_id).into_any(),
                    account,
                    PyString::new(py, &e.org_id).into_any(),
                    e.ts.into_pyobject(py)?.into_any(),
                    risk.into_pyobject(py)?.into_any(),
                ],
            )?,
        ),
        Message::Snapshot(s) => {
            let behaviour: Vec<f64> = s.behaviour.iter().map(|&x| f64::from(x)).collect();
            let features = PyTuple::new(
                py,
                s.features
                    .iter()
                    .map(|(i, v)| (METRICS[*i], *v).into_pyobject(py))
                    .collect::<PyResult<Vec<_>>>()?,
            )?;
            (
                "s",
                PyList::new(
                    py,
                    [
                        account,
                        PyString::new(py, &s.org_id).into_any(),
                        e.ts.into_pyobject(py)?.into_any(),
                        s.first_ts.into_pyobject(py)?.into_any(),
                        s.n_events.into_pyobject(py)?.into_any(),
                        strings(py, &s.tokens)?.into_any(),
                        strings(py, &s.new_tokens)?.into_any(),
                        s.recount.into_pyobject(py)?.to_owned().into_any(),
                        PyList::new(py, behaviour)?.into_any(),
                        s.risk.into_pyobject(py)?.into_any(),
                        features.into_any(),
                    ],
                )?,
            )
        }
        Message::Signature {
            id,
            matched,
            confidence,
        } => (
            "g",
            PyList::new(
                py,
                [
                    PyString::new(py, id).into_any(),
                    account,
                    PyString::new(py, &e.org_id).into_any(),
                    e.ts.into_pyobject(py)?.into_any(),
                    strings(py, matched)?.into_any(),
                    confidence.into_pyobject(py)?.into_any(),
                ],
            )?,
        ),
    })
}

/// An account_extraction finding as `(account_id, ts, revision, severity, risk, metrics,
/// infrastructure, first_ts, last_ts)`.
fn extraction<'py>(
    py: Python<'py>,
    e: &Event,
    out: &EventOutput,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some(x) = &out.extraction else {
        return Ok(None);
    };
    let metrics = PyDict::new(py);
    for (name, value) in METRICS.iter().zip(x.metrics.0.iter()) {
        if let Some(v) = value {
            metrics.set_item(name, v)?;
        }
    }
    let infra = PyDict::new(py);
    infra.set_item("asns", PyList::new(py, &x.asns)?)?;
    infra.set_item("ip_prefixes", PyList::new(py, &x.ip_prefixes)?)?;
    infra.set_item("user_agents", PyList::new(py, &x.user_agents)?)?;
    infra.set_item(
        "payment_fingerprints",
        PyList::new(py, &x.payment_fingerprints)?,
    )?;
    Ok(Some(PyTuple::new(
        py,
        [
            PyString::new(py, &e.account_id).into_any(),
            e.ts.into_pyobject(py)?.into_any(),
            x.revision.into_pyobject(py)?.into_any(),
            PyString::new(py, &x.severity).into_any(),
            x.risk.into_pyobject(py)?.into_any(),
            metrics.into_any(),
            infra.into_any(),
            x.first_ts.into_pyobject(py)?.into_any(),
            x.last_ts.into_pyobject(py)?.into_any(),
        ],
    )?))
}

fn text_attr(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let value = obj.getattr(name)?;
    Ok(value.cast::<PyString>()?.to_string_lossy().into_owned())
}

fn opt_text_attr(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    let value = obj.getattr(name)?;
    if value.is_none() {
        return Ok(None);
    }
    Ok(Some(
        value.cast::<PyString>()?.to_string_lossy().into_owned(),
    ))
}

/// A `streams.records.RequestEvent` as the native event (unknown fields are not needed).
fn event_of(obj: &Bound<'_, PyAny>) -> PyResult<Event> {
    let fingerprint = obj.getattr("prompt_fingerprint")?;
    let prompt_fingerprint = if fingerprint.is_none() {
        None
    } else {
        Some(Fingerprint {
            template_id: text_attr(&fingerprint, "template_id")?,
            minhash: fingerprint.getattr("minhash")?.extract()?,
        })
    };
    Ok(Event {
        event_id: text_attr(obj, "event_id")?,
        ts: obj.getattr("ts")?.extract()?,
        account_id: text_attr(obj, "account_id")?,
        org_id: text_attr(obj, "org_id")?,
        api_key_id: text_attr(obj, "api_key_id")?,
        ip: text_attr(obj, "ip")?,
        asn: obj.getattr("asn")?.extract()?,
        country: text_attr(obj, "country")?,
        user_agent: text_attr(obj, "user_agent")?,
        model: text_attr(obj, "model")?,
        endpoint: text_attr(obj, "endpoint")?,
        prompt: opt_text_attr(obj, "prompt")?,
        system_prompt: opt_text_attr(obj, "system_prompt")?,
        prompt_tokens: obj.getattr("prompt_tokens")?.extract()?,
        completion_tokens: obj.getattr("completion_tokens")?.extract()?,
        response_format: text_attr(obj, "response_format")?,
        temperature: obj.getattr("temperature")?.extract()?,
        n: obj.getattr("n")?.extract()?,
        stream: obj.getattr("stream")?.is_truthy()?,
        status: obj.getattr("status")?.extract()?,
        latency_ms: obj.getattr("latency_ms")?.extract()?,
        account_created_at: obj.getattr("account_created_at")?.extract()?,
        payment_fingerprint: opt_text_attr(obj, "payment_fingerprint")?,
        prompt_fingerprint,
        extra: Vec::new(),
    })
}

/// A `streams.templates.extractor.TemplateMatch` as the native match (no MinHash needed).
fn match_of(obj: &Bound<'_, PyAny>) -> PyResult<TemplateMatch> {
    let features = obj.getattr("features")?;
    let features = features.cast::<PyFrozenSet>()?;
    let mut names = Vec::with_capacity(features.len());
    for f in features.iter() {
        names.push(f.cast::<PyString>()?.to_string_lossy().into_owned());
    }
    Ok(TemplateMatch {
        template_id: text_attr(obj, "template_id")?,
        exact_id: text_attr(obj, "exact_id")?,
        minhash: Vec::new(),
        features: names,
        wrapper: obj.getattr("wrapper")?.is_truthy()?,
        skeleton: String::new(),
    })
}

fn state_bytes<'py>(
    py: Python<'py>,
    profiles: &Profiles,
    account: &str,
) -> Option<Bound<'py, PyBytes>> {
    profiles.map.get(account).map(|t| {
        let mut s = String::new();
        t.encode(&mut s);
        PyBytes::new(py, s.as_bytes())
    })
}

fn decode_state(data: &[u8], config: &Config) -> PyResult<crate::account::state::AccountState> {
    let row: serde_json::Value = serde_json::from_slice(data)
        .map_err(|e| PyValueError::new_err(format!("account state is not JSON: {e}")))?;
    checkpoint::decode(&row, config).map_err(PyValueError::new_err)
}

/// `(metrics, suspicion, risk)` of one account.
type Judged<'py> = (Bound<'py, PyDict>, Bound<'py, PyDict>, f64);

const FEATURE_NAMES: [&str; 12] = [
    "young",
    "asn_rotation",
    "ip_rotation",
    "diurnal",
    "volume",
    "breadth",
    "diversity",
    "structured",
    "cot",
    "ratio",
    "throttle",
    "regularity",
];

/// Events of the in-process profiler between two trims of its decoded states.
const TRIM_EVERY: usize = 1024;

// -- the in-process profiler --------------------------------------------------------------

/// Account profiles of the in-process detector: one event at a time, in the detector's order.
#[pyclass(module = "streams._native")]
pub struct Profiler {
    config: Config,
    profiles: Profiles,
    /// Events since the decoded states were last trimmed to `hot_accounts`.
    untrimmed: usize,
}

#[pymethods]
impl Profiler {
    #[new]
    fn new(config: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(Profiler {
            config: config_of(config)?,
            profiles: Profiles::default(),
            untrimmed: 0,
        })
    }

    /// `([(kind, payload), ...], extraction or None)` of one event and its template match.
    fn process<'py>(
        &mut self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
        template: &Bound<'py, PyAny>,
        book: &SignatureBook,
    ) -> PyResult<(Bound<'py, PyList>, Option<Bound<'py, PyTuple>>)> {
        let e = event_of(event)?;
        let m = match_of(template)?;
        let book = book.current();
        let (profiles, config) = (&mut self.profiles, &self.config);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            profiles.process(&e, &m, &book, config)
        }))
        .map_err(|_| PyValueError::new_err("account profile fault (panic)"))?;
        self.untrimmed += 1;
        if self.untrimmed >= TRIM_EVERY {
            self.untrimmed = 0;
            self.profiles.trim(self.config.hot_accounts);
        }
        let messages = PyList::empty(py);
        for msg in &out.messages {
            messages.append(payload(py, &e, msg)?)?;
        }
        Ok((messages, extraction(py, &e, &out)?))
    }

    /// `(metrics, suspicion, risk)` of an account as its next snapshot would judge them, or
    /// None: what the profile shows, for tests and tools.
    fn judge<'py>(&self, py: Python<'py>, account: &str) -> PyResult<Option<Judged<'py>>> {
        let Some(t) = self.profiles.map.get(account) else {
            return Ok(None);
        };
        let c = &self.config;
        let state = &t.view(c);
        let m = state.metrics(c);
        let s = state.suspicion(&m, c);
        let metrics = PyDict::new(py);
        for (name, value) in METRICS.iter().zip(m.0.iter()) {
            if let Some(v) = value {
                metrics.set_item(name, v)?;
            }
        }
        let suspicion = PyDict::new(py);
        for name in FEATURE_NAMES {
            if let Some(v) = Feature::parse(name).and_then(|f| s.get(f)) {
                suspicion.set_item(name, v)?;
            }
        }
        Ok(Some((metrics, suspicion, state.risk(&s, c))))
    }

    fn enforce_cap(&mut self) -> Vec<String> {
        self.profiles.enforce_cap(&self.config)
    }

    fn evict(&mut self, watermark: f64) -> Vec<String> {
        self.profiles.evict(watermark, &self.config)
    }

    fn retract_signature(&mut self, signature_id: &str) -> Vec<String> {
        self.profiles.retract_signature(signature_id, &self.config)
    }

    /// How many profiles are held decoded (at most `hot_accounts` after a trim).
    fn decoded(&self) -> usize {
        self.profiles.decoded()
    }

    /// Pack the least recently used decoded profiles beyond `hot_accounts`.
    fn trim(&mut self) {
        self.profiles.trim(self.config.hot_accounts);
    }

    fn __len__(&self) -> usize {
        self.profiles.len()
    }

    fn __contains__(&self, account: &str) -> bool {
        self.profiles.map.contains_key(account)
    }

    /// Account ids in insertion order.
    fn accounts(&self) -> Vec<String> {
        self.profiles
            .ordered()
            .into_iter()
            .map(|(a, _)| a.to_string())
            .collect()
    }

    /// The account's checkpoint bytes (`AccountState.to_bytes`), or None.
    fn state<'py>(&self, py: Python<'py>, account: &str) -> Option<Bound<'py, PyBytes>> {
        state_bytes(py, &self.profiles, account)
    }

    /// Load an account from its checkpoint bytes.
    fn put(&mut self, account: &str, data: &[u8]) -> PyResult<()> {
        let state = decode_state(data, &self.config)?;
        self.profiles.put_packed(account, state, -1);
        Ok(())
    }
}

// -- the partitioned stage ----------------------------------------------------------------

/// One requests partition's account stage.
#[pyclass(module = "streams._native")]
pub struct AccountPartition {
    config: Config,
    extractor: Extractor,
    part: Partition,
}

#[pymethods]
impl AccountPartition {
    #[new]
    fn new(config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let config = config_of(config)?;
        let extractor = Extractor::new(config.templates.clone()).map_err(PyValueError::new_err)?;
        Ok(AccountPartition {
            config,
            extractor,
            part: Partition::new(),
        })
    }

    /// Apply one batch of this partition's records (all at or after its next offset), in
    /// offset order.  Returns `(letters, entries, findings, counts)`: dead letters as
    /// `(index, reason, detail)` (`detail` a str, or for admission refusals the values the
    /// Python side words it from), `Entry` tuples (`entry` is that class), account_extraction
    /// findings, and `(events, skipped, misrouted, evicted, fingerprint_mismatch)`.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn process<'py>(
        &mut self,
        py: Python<'py>,
        keys: Vec<Option<Vec<u8>>>,
        values: &Bound<'py, PyList>,
        offsets: Vec<i64>,
        timestamps: Vec<Option<f64>>,
        book: &SignatureBook,
        entry: Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyList>,
        Bound<'py, PyList>,
        Bound<'py, PyList>,
        (usize, usize, usize, usize, usize),
    )> {
        let count = values.len();
        if keys.len() != count || offsets.len() != count || timestamps.len() != count {
            return Err(PyTypeError::new_err(
                "keys, values, offsets and timestamps differ in length",
            ));
        }
        let raws: Vec<Bound<'py, PyBytes>> = values
            .iter()
            .map(|v| v.cast_into::<PyBytes>().map_err(PyErr::from))
            .collect::<PyResult<_>>()?;
        let records: Vec<Record<'_>> = raws
            .iter()
            .enumerate()
            .map(|(i, raw)| Record {
                key: keys[i].as_deref(),
                value: raw.as_bytes(),
                offset: offsets[i],
                broker_ts: timestamps[i],
            })
            .collect();
        let book = book.current();
        let (part, extractor, config) = (&mut self.part, &self.extractor, &self.config);
        let result = py.detach(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                part.process(&records, extractor, &book, config)
            }))
        });
        let letters = PyList::empty(py);
        let entries = PyList::empty(py);
        let findings = PyList::empty(py);
        let out = match result {
            Ok(out) => out,
            Err(panic) => {
                // A fault outside the per-record guards: every record of the batch is refused.
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                for index in 0..count {
                    letters.append((
                        index,
                        "internal_error",
                        format!("account stage fault panic: {why}"),
                    ))?;
                }
                return Ok((letters, entries, findings, (0, 0, 0, 0, 0)));
            }
        };
        let orjson_loads = py.import("orjson")?.getattr("loads")?;
        for (index, letter) in &out.letters {
            match letter {
                Letter::Decode(refusal) => {
                    let (reason, detail) = match super::request::render(
                        py,
                        &orjson_loads,
                        &raws[*index],
                        &refusal.detail,
                    ) {
                        Ok(detail) => (refusal.reason.as_str(), detail),
                        Err(err) => ("internal_error", super::request::fault(py, &err)),
                    };
                    letters.append((*index, reason, detail))?;
                }
                Letter::Admission(Refused::Future { ts, record_ts }) => {
                    letters.append((*index, "future_event", (*ts, *record_ts)))?;
                }
                Letter::Admission(Refused::Late { ts, watermark }) => {
                    letters.append((*index, "late_event", (*ts, *watermark)))?;
                }
                Letter::Admission(Refused::Duplicate { event_id }) => {
                    letters.append((*index, "duplicate_event", event_id))?;
                }
                Letter::Internal(why) => letters.append((*index, "internal_error", why))?,
            }
        }
        let ctx = Ctx::new(py, Some(entry))?;
        for applied in &out.applied {
            let offset = records[applied.index].offset;
            for (i, msg) in applied.output.messages.iter().enumerate() {
                let (kind, body) = payload(py, &applied.event, msg)?;
                let row = PyTuple::new(
                    py,
                    [
                        applied.order_ts.into_pyobject(py)?.into_any(),
                        PyString::new(py, &applied.event.account_id).into_any(),
                        offset.into_pyobject(py)?.into_any(),
                        i.into_pyobject(py)?.into_any(),
                        PyString::new(py, kind).into_any(),
                        body.into_any(),
                    ],
                )?;
                let cls = ctx.entry.as_ref().expect("entry class");
                entries.append(ctx.tuple_new.call1((cls, row))?)?;
            }
            if let Some(found) = extraction(py, &applied.event, &applied.output)? {
                findings.append(found)?;
            }
        }
        Ok((
            letters,
            entries,
            findings,
            (
                out.events,
                out.skipped,
                out.misrouted,
                out.evicted,
                out.fingerprint_mismatch,
            ),
        ))
    }

    /// Changed accounts and tombstones, by account id: `(key, value or None)`.
    fn checkpoint<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (account, value) in self.part.checkpoint() {
            let key = PyBytes::new(py, account.as_bytes());
            match value {
                Some(v) => out.append((key, PyBytes::new(py, v.as_bytes())))?,
                None => out.append((key, py.None()))?,
            }
        }
        Ok(out)
    }

    /// A checkpoint value `{"o": offset, "s": state}` of an account.
    fn restore_account(&mut self, account: &str, value: &[u8]) -> PyResult<()> {
        let row: serde_json::Value = serde_json::from_slice(value)
            .map_err(|e| PyValueError::new_err(format!("account checkpoint is not JSON: {e}")))?;
        let applied = row
            .get("o")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| PyValueError::new_err("account checkpoint has no offset 'o'"))?;
        let state = row
            .get("s")
            .ok_or_else(|| PyValueError::new_err("account checkpoint has no state 's'"))?;
        let state = checkpoint::decode(state, &self.config).map_err(PyValueError::new_err)?;
        self.part.profiles.put_packed(account, state, applied);
        Ok(())
    }

    /// `(watermark or None, remembered identities)` of the admission, for the checkpoint.
    fn admission<'py>(&self, py: Python<'py>) -> (Option<f64>, Bound<'py, PyBytes>) {
        let a = &self.part.admission;
        let wm = (a.watermark != f64::NEG_INFINITY).then_some(a.watermark);
        (wm, PyBytes::new(py, &a.ids()))
    }

    fn restore_admission(&mut self, watermark: Option<f64>, ids: &[u8]) {
        self.part.admission = Admission::restore(watermark, ids);
    }

    #[getter]
    fn watermark(&self) -> f64 {
        self.part.admission.watermark
    }

    /// Forget a retracted signature as matched; the accounts changed go in the checkpoint.
    fn retract_signature(&mut self, signature_id: &str) -> Vec<String> {
        let changed = self
            .part
            .profiles
            .retract_signature(signature_id, &self.config);
        for account in &changed {
            if let Some(t) = self.part.profiles.map.get_mut(account.as_str()) {
                t.dirty = true;
            }
        }
        changed
    }

    fn __len__(&self) -> usize {
        self.part.profiles.len()
    }

    fn __contains__(&self, account: &str) -> bool {
        self.part.profiles.map.contains_key(account)
    }

    fn accounts(&self) -> Vec<String> {
        self.part
            .profiles
            .ordered()
            .into_iter()
            .map(|(a, _)| a.to_string())
            .collect()
    }

    fn state<'py>(&self, py: Python<'py>, account: &str) -> Option<Bound<'py, PyBytes>> {
        state_bytes(py, &self.part.profiles, account)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SignatureMatcher>()?;
    m.add_class::<SignatureBook>()?;
    m.add_class::<Profiler>()?;
    m.add_class::<AccountPartition>()?;
    // The metrics a signature may bound: the list `streams.stages.signatures` validates against.
    m.add("BEHAVIOUR_METRICS", METRICS.to_vec())?;
    Ok(())
}

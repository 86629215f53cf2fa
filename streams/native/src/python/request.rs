//! `streams._native.decode_requests`: a batch of raw request records to the project's own
//! `RequestEvent`/`DeadLetter` objects, as `streams.codecs.decode_requests` gives them.
//!
//! Parsing and validation run with the GIL released; the objects are built afterwards.  Parts
//! of a few details only the interpreter can print exactly (`repr` of a value, `str` of a set,
//! orjson's wording of a syntax error) are rendered here, on the refusal path only.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyFrozenSet, PyList, PySet, PyString, PyTuple};
use pyo3::PyTypeInfo;

use crate::request::decode::{decode_batch, Limits, MAX_EXTRA_DEPTH};
use crate::request::json::{num, Num, Value};
use crate::request::timeparse::{MAX_EPOCH, MIN_EPOCH};
use crate::request::validate::contract_fields;
use crate::request::{Detail, Event, Reason, Refusal};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MAX_EXTRA_DEPTH", MAX_EXTRA_DEPTH)?;
    m.add_function(wrap_pyfunction!(decode_requests, m)?)
}

/// Classes and helpers looked up once per call.
struct Context<'py> {
    request_event: Bound<'py, PyAny>,
    dead_letter: Bound<'py, PyAny>,
    prompt_fingerprint: Bound<'py, PyAny>,
    orjson_loads: Bound<'py, PyAny>,
    /// `object.__new__` and the field names of RequestEvent, in its order.
    object_new: Bound<'py, PyAny>,
    event_fields: Vec<Bound<'py, PyString>>,
}

/// Decode raw request record values of one topic partition, in order; never raises for a bad
/// record (it becomes a `DeadLetter` labelled with `topic`, `partition`, its offset and broker
/// timestamp).  Records over `max_record_bytes` are refused before they are parsed.
#[pyfunction]
#[pyo3(signature = (
    values, topic=None, partition=None, offsets=None, timestamps=None,
    max_prompt_bytes=65536, max_record_bytes=262144,
))]
#[allow(clippy::too_many_arguments)]
fn decode_requests<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyList>,
    topic: Option<Bound<'py, PyAny>>,
    partition: Option<Bound<'py, PyAny>>,
    offsets: Option<Bound<'py, PyList>>,
    timestamps: Option<Bound<'py, PyList>>,
    max_prompt_bytes: u64,
    max_record_bytes: u64,
) -> PyResult<Bound<'py, PyList>> {
    let count = values.len();
    for (name, list) in [("offsets", &offsets), ("timestamps", &timestamps)] {
        if let Some(list) = list {
            if list.len() != count {
                return Err(PyTypeError::new_err(format!(
                    "{name} has {} items for {count} values",
                    list.len()
                )));
            }
        }
    }
    let raws: Vec<Bound<'py, PyBytes>> = values
        .iter()
        .map(|v| v.cast_into::<PyBytes>().map_err(PyErr::from))
        .collect::<PyResult<_>>()?;
    let slices: Vec<&[u8]> = raws.iter().map(|b| b.as_bytes()).collect();
    let limits = Limits {
        max_prompt_bytes,
        max_record_bytes,
    };
    let decoded = py.detach(|| decode_batch(&slices, limits));

    let records = py.import("streams.records")?;
    let ctx = Context {
        request_event: records.getattr("RequestEvent")?,
        dead_letter: records.getattr("DeadLetter")?,
        prompt_fingerprint: records.getattr("PromptFingerprint")?,
        orjson_loads: py.import("orjson")?.getattr("loads")?,
        object_new: py
            .import("builtins")?
            .getattr("object")?
            .getattr("__new__")?,
        event_fields: EVENT_FIELDS
            .iter()
            .map(|name| PyString::intern(py, name))
            .collect(),
    };
    if event_field_names(&ctx.request_event)? != EVENT_FIELDS {
        return Err(PyTypeError::new_err(
            "RequestEvent fields differ from the native decoder's",
        ));
    }
    let none = py.None().into_bound(py);
    let out = PyList::empty(py);
    for (i, (result, raw)) in decoded.into_iter().zip(&raws).enumerate() {
        let built = match result {
            Ok(event) => event_object(py, &ctx, event),
            Err(refusal) => Err(refusal),
        };
        let object = match built {
            Ok(object) => object,
            Err(refusal) => {
                let offset = match &offsets {
                    Some(list) => list.get_item(i)?,
                    None => none.clone(),
                };
                let ts = match &timestamps {
                    Some(list) => broker_timestamp(list.get_item(i)?)?,
                    None => none.clone(),
                };
                let (reason, detail) = match render(py, &ctx.orjson_loads, raw, &refusal.detail) {
                    Ok(detail) => (refusal.reason.as_str(), detail),
                    Err(err) => (Reason::InternalError.as_str(), fault(py, &err)),
                };
                let args = (
                    reason,
                    detail,
                    raw,
                    topic.as_ref().unwrap_or(&none),
                    partition.as_ref().unwrap_or(&none),
                    offset,
                    ts,
                );
                ctx.dead_letter.call1(args)?
            }
        };
        out.append(object)?;
    }
    Ok(out)
}

/// A broker timestamp as a dead letter keeps it: unknown (-1, NaN, out of range) is None.
fn broker_timestamp(ts: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyAny>> {
    if ts.is_none() {
        return Ok(ts);
    }
    let value: f64 = ts.extract()?;
    if (MIN_EPOCH..MAX_EPOCH).contains(&value) {
        Ok(ts)
    } else {
        Ok(ts.py().None().into_bound(ts.py()))
    }
}

/// `streams.codecs._describe_fault` of a Python error met while building a result.
pub(crate) fn fault(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let message = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    format!("decoder fault {name}: {message}")
}

fn event_object<'py>(
    py: Python<'py>,
    ctx: &Context<'py>,
    event: Event,
) -> Result<Bound<'py, PyAny>, Refusal> {
    build_event(py, ctx, event).map_err(|err| Refusal::text(Reason::InternalError, fault(py, &err)))
}

fn build_event<'py>(py: Python<'py>, ctx: &Context<'py>, e: Event) -> PyResult<Bound<'py, PyAny>> {
    let fingerprint = match e.prompt_fingerprint {
        None => py.None().into_bound(py),
        Some(fp) => ctx
            .prompt_fingerprint
            .call1((fp.template_id, PyTuple::new(py, fp.minhash)?))?,
    };
    let extra = PyDict::new(py);
    for (key, value) in &e.extra {
        extra.set_item(key, to_py(py, value)?)?;
    }
    let args: [Bound<'py, PyAny>; 25] = [
        PyString::new(py, &e.event_id).into_any(),
        PyFloat::new(py, e.ts).into_any(),
        PyString::new(py, &e.account_id).into_any(),
        PyString::new(py, &e.org_id).into_any(),
        PyString::new(py, &e.api_key_id).into_any(),
        PyString::new(py, &e.ip).into_any(),
        e.asn.into_pyobject(py)?.into_any(),
        PyString::new(py, &e.country).into_any(),
        PyString::new(py, &e.user_agent).into_any(),
        PyString::new(py, &e.model).into_any(),
        PyString::new(py, &e.endpoint).into_any(),
        e.prompt.into_pyobject(py)?.into_any(),
        e.system_prompt.into_pyobject(py)?.into_any(),
        e.prompt_tokens.into_pyobject(py)?.into_any(),
        e.completion_tokens.into_pyobject(py)?.into_any(),
        PyString::new(py, &e.response_format).into_any(),
        PyFloat::new(py, e.temperature).into_any(),
        e.n.into_pyobject(py)?.into_any(),
        e.stream.into_pyobject(py)?.to_owned().into_any(),
        e.status.into_pyobject(py)?.into_any(),
        PyFloat::new(py, e.latency_ms).into_any(),
        e.account_created_at.into_pyobject(py)?.into_any(),
        e.payment_fingerprint.into_pyobject(py)?.into_any(),
        fingerprint,
        extra.into_any(),
    ];
    // What the frozen dataclass's __init__ does (object.__setattr__ per field), without
    // running its Python code: the same instance, several times faster.
    let event = ctx.object_new.call1((&ctx.request_event,))?;
    for (name, value) in ctx.event_fields.iter().zip(&args) {
        // SAFETY: all three pointers are live objects held by this frame, the GIL is held.
        let status = unsafe {
            pyo3::ffi::PyObject_GenericSetAttr(event.as_ptr(), name.as_ptr(), value.as_ptr())
        };
        if status != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    Ok(event)
}

/// RequestEvent's fields in declaration order (its constructor's positional order).
const EVENT_FIELDS: [&str; 25] = [
    "event_id",
    "ts",
    "account_id",
    "org_id",
    "api_key_id",
    "ip",
    "asn",
    "country",
    "user_agent",
    "model",
    "endpoint",
    "prompt",
    "system_prompt",
    "prompt_tokens",
    "completion_tokens",
    "response_format",
    "temperature",
    "n",
    "stream",
    "status",
    "latency_ms",
    "account_created_at",
    "payment_fingerprint",
    "prompt_fingerprint",
    "extra",
];

fn event_field_names(cls: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    cls.getattr("__dataclass_fields__")?
        .call_method0("keys")?
        .try_iter()?
        .map(|name| name?.extract())
        .collect()
}

/// The Python value orjson gives for a JSON value.
fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => match i64::try_from(i) {
                Ok(small) => small.into_pyobject(py)?.into_any(),
                Err(_) => (i as u64).into_pyobject(py)?.into_any(),
            },
            Num::Float(f) => PyFloat::new(py, f).into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `streams.codecs._preview`: `repr` cut to 80 characters.
fn preview(py: Python<'_>, value: &Value) -> PyResult<String> {
    let text = to_py(py, value)?.repr()?.to_string();
    if text.chars().count() <= 80 {
        return Ok(text);
    }
    let head: String = text.chars().take(77).collect();
    Ok(format!("{head}..."))
}

/// A dict of `keys` in record order, for set arithmetic done as the Python decoder does it.
fn keys_dict<'py>(py: Python<'py>, keys: &[String]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for key in keys {
        dict.set_item(key, py.None())?;
    }
    Ok(dict)
}

/// The detail of a refusal as the Python decoder words it (`orjson_loads` is `orjson.loads`).
pub(crate) fn render(
    py: Python<'_>,
    orjson_loads: &Bound<'_, PyAny>,
    raw: &Bound<'_, PyBytes>,
    detail: &Detail,
) -> PyResult<String> {
    Ok(match detail {
        Detail::Text(text) => text.clone(),
        Detail::Preview { head, value, tail } => format!("{head}{}{tail}", preview(py, value)?),
        Detail::Syntax(message) => match orjson_loads.call1((raw,)) {
            Err(err) => err.value(py).str()?.to_string(),
            Ok(_) => message.clone(), // orjson would have loaded it: the detail shows the gap
        },
        Detail::UnknownFingerprintKeys { keys, value } => {
            // fastjsonschema: set(fingerprint.keys()) less the two known keys, printed with str.
            let unknown =
                PySet::type_object(py).call1((keys_dict(py, keys)?.call_method0("keys")?,))?;
            unknown.call_method1("discard", ("template_id",))?;
            unknown.call_method1("discard", ("minhash",))?;
            format!(
                "field 'prompt_fingerprint' must not contain {} properties, got {}",
                unknown.str()?,
                preview(py, value)?
            )
        }
        Detail::TooDeep { keys, deep } => {
            // streams.codecs iterates `obj.keys() - _REQUEST_FIELDS` and names the first.
            let fields = PyFrozenSet::new(py, contract_fields())?;
            let extra = keys_dict(py, keys)?
                .call_method0("keys")?
                .call_method1("__sub__", (fields,))?;
            let mut first = None;
            for key in extra.try_iter()? {
                let key = key?;
                let name: String = key.extract()?;
                if deep.contains(&name) {
                    first = Some(key);
                    break;
                }
            }
            let key = match first {
                Some(key) => key.repr()?.to_string(),
                None => format!("'{}'", deep[0]),
            };
            format!("field {key} nests deeper than {MAX_EXTRA_DEPTH} levels")
        }
    })
}

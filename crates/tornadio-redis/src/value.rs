//! Values between msgpack as node's `notepack.io` writes it and tornadio's
//! arguments: JSON values whose binary parts are placeholders
//! (`{"_placeholder":true,"num":N}`) pointing into a list of attachments.
//! Pure functions, no IO.

use bytes::Bytes;
use rmpv::Value as Pack;
use serde_json::{Map, Number, Value};

/// A msgpack value as JSON; each `bin` becomes a placeholder and its bytes
/// go to `binary`, in the order met.
pub(crate) fn to_json(value: &Pack, binary: &mut Vec<Bytes>) -> Value {
    match value {
        Pack::Nil => Value::Null,
        Pack::Boolean(b) => Value::Bool(*b),
        Pack::Integer(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                Value::Null
            }
        }
        Pack::F32(f) => float(f64::from(*f)),
        Pack::F64(f) => float(*f),
        Pack::String(s) => Value::String(match s.as_str() {
            Some(text) => text.to_owned(),
            None => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        }),
        Pack::Binary(bytes) => placeholder(binary, Bytes::copy_from_slice(bytes)),
        Pack::Array(items) => Value::Array(items.iter().map(|v| to_json(v, binary)).collect()),
        Pack::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match key {
                    Pack::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                    other => to_json(other, &mut Vec::new()).to_string(),
                };
                map.insert(key, to_json(value, binary));
            }
            Value::Object(map)
        }
        Pack::Ext(kind, data) => ext(*kind, data, binary),
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn placeholder(binary: &mut Vec<Bytes>, bytes: Bytes) -> Value {
    let num = binary.len();
    binary.push(bytes);
    let mut map = Map::new();
    map.insert("_placeholder".into(), Value::Bool(true));
    map.insert("num".into(), Value::from(num));
    Value::Object(map)
}

/// Extension types: `-1` is a timestamp (a JS `Date`, which JSON writes
/// as its ISO string); notepack's type `0` is `undefined` (one zero byte)
/// or an `ArrayBuffer`.
fn ext(kind: i8, data: &[u8], binary: &mut Vec<Bytes>) -> Value {
    match (kind, data) {
        (-1, _) => timestamp(data).map_or(Value::Null, Value::String),
        (0, [0]) => Value::Null,
        (0, _) => placeholder(binary, Bytes::copy_from_slice(data)),
        _ => Value::Null,
    }
}

/// A msgpack timestamp as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn timestamp(data: &[u8]) -> Option<String> {
    let (secs, nanos) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().ok()?)), 0u32),
        8 => {
            let word = u64::from_be_bytes(data.try_into().ok()?);
            ((word & 0x3_ffff_ffff) as i64, (word >> 34) as u32)
        }
        12 => {
            let nanos = u32::from_be_bytes(data[..4].try_into().ok()?);
            let secs = i64::from_be_bytes(data[4..].try_into().ok()?);
            (secs, nanos)
        }
        _ => return None,
    };
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        nanos / 1_000_000
    ))
}

/// Year, month and day of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A JSON value as msgpack; placeholders that point into `binary` become
/// `bin`, objects maps with string keys, integers their smallest form.
pub(crate) fn to_pack(value: &Value, binary: &[Bytes]) -> Pack {
    match value {
        Value::Null => Pack::Nil,
        Value::Bool(b) => Pack::Boolean(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Pack::from(u)
            } else if let Some(i) = n.as_i64() {
                Pack::from(i)
            } else {
                Pack::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Pack::from(s.as_str()),
        Value::Array(items) => Pack::Array(items.iter().map(|v| to_pack(v, binary)).collect()),
        Value::Object(map) => match attachment(map, binary) {
            Some(bytes) => Pack::Binary(bytes.to_vec()),
            None => Pack::Map(
                map.iter()
                    .map(|(k, v)| (Pack::from(k.as_str()), to_pack(v, binary)))
                    .collect(),
            ),
        },
    }
}

/// The attachment a placeholder object points to.
fn attachment<'a>(map: &Map<String, Value>, binary: &'a [Bytes]) -> Option<&'a Bytes> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let num = usize::try_from(map.get("num")?.as_u64()?).ok()?;
    binary.get(num)
}

/// A JSON value with placeholders replaced by what node's `JSON.stringify`
/// makes of a Buffer, `{"type":"Buffer","data":[..]}`: for the requests
/// that travel as JSON.
pub(crate) fn to_plain_json(value: &Value, binary: &[Bytes]) -> Value {
    match value {
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| to_plain_json(v, binary)).collect())
        }
        Value::Object(map) => match attachment(map, binary) {
            Some(bytes) => serde_json::json!({"type": "Buffer", "data": bytes.to_vec()}),
            None => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), to_plain_json(v, binary)))
                    .collect(),
            ),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binary_becomes_numbered_placeholders_and_back() {
        let pack = Pack::Array(vec![
            Pack::from("news"),
            Pack::Binary(vec![9, 8]),
            Pack::Map(vec![(Pack::from("f"), Pack::Binary(vec![1]))]),
        ]);
        let mut binary = Vec::new();
        let json = to_json(&pack, &mut binary);
        assert_eq!(
            json,
            json!(["news", {"_placeholder": true, "num": 0}, {"f": {"_placeholder": true, "num": 1}}])
        );
        assert_eq!(
            binary,
            vec![Bytes::from_static(&[9, 8]), Bytes::from_static(&[1])]
        );
        assert_eq!(to_pack(&json, &binary), pack);
    }

    #[test]
    fn scalars_keep_their_meaning() {
        let json = json!([null, true, -3, 70000, 1.5, "é", {"1": 2}]);
        let pack = to_pack(&json, &[]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &pack).unwrap();
        // Smallest integer forms, as notepack writes them.
        assert!(
            buf.windows(1).any(|w| w == [0xfd]),
            "-3 as a negative fixint"
        );
        assert!(
            buf.windows(5).any(|w| w == [0xce, 0, 1, 0x11, 0x70]),
            "70000 as uint32"
        );
        let back = rmpv::decode::read_value(&mut &buf[..]).unwrap();
        assert_eq!(to_json(&back, &mut Vec::new()), json);
    }

    #[test]
    fn a_placeholder_without_its_attachment_stays_an_object() {
        let json = json!({"_placeholder": true, "num": 3});
        assert!(matches!(to_pack(&json, &[]), Pack::Map(_)));
    }

    #[test]
    fn extensions_read_as_javascript_does() {
        let mut binary = Vec::new();
        // 2024-02-29T23:59:59.250Z as a timestamp 64 (250 ms in the nanoseconds).
        let word: u64 = (250_000_000u64 << 34) | 1_709_251_199;
        let date = Pack::Ext(-1, word.to_be_bytes().to_vec());
        assert_eq!(
            to_json(&date, &mut binary),
            json!("2024-02-29T23:59:59.250Z")
        );
        let before_1970 = Pack::Ext(
            -1,
            [0u8, 0, 0, 0]
                .iter()
                .chain(&(-86_400i64).to_be_bytes())
                .copied()
                .collect(),
        );
        assert_eq!(
            to_json(&before_1970, &mut binary),
            json!("1969-12-31T00:00:00.000Z")
        );
        assert_eq!(to_json(&Pack::Ext(0, vec![0]), &mut binary), Value::Null);
        assert_eq!(
            to_json(&Pack::Ext(0, vec![1, 2]), &mut binary),
            json!({"_placeholder": true, "num": 0})
        );
        assert_eq!(to_json(&Pack::Ext(5, vec![]), &mut binary), Value::Null);
    }

    #[test]
    fn buffers_in_json_requests_read_as_node_writes_them() {
        let binary = [Bytes::from_static(&[1, 2])];
        let json = json!(["x", {"_placeholder": true, "num": 0}]);
        assert_eq!(
            to_plain_json(&json, &binary),
            json!(["x", {"type": "Buffer", "data": [1, 2]}])
        );
    }
}

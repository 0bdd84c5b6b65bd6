//! Reader-entered findings merged over automatic ones: the reader's value wins, the automatic
//! value is kept in `reader_overrides[]`.
//!
//! The reader file has the shape of `findings.json` with only the parts the reader entered.
//! Objects merge key by key; arrays (collections, sites, accumulations) and scalars are replaced
//! as a whole, because a reader who lists the collections means that list.

use serde_json::{Map, Value};

use crate::ReaderOverride;

/// Keys the reader cannot override.
const FIXED_TOP_LEVEL: [&str; 3] = ["schema_version", "tool_version", "reader_overrides"];

/// Merge `reader` over `automatic` (both `findings.json`-shaped JSON) and return the merged
/// document and the overrides, sorted by path.
pub fn merge_values(automatic: &Value, reader: &Value) -> (Value, Vec<ReaderOverride>) {
    let mut merged = automatic.clone();
    let mut overrides = Vec::new();
    if let (Value::Object(dst), Value::Object(src)) = (&mut merged, reader) {
        for (k, v) in src {
            if FIXED_TOP_LEVEL.contains(&k.as_str()) {
                continue;
            }
            merge_into(dst, k, v, k, &mut overrides);
        }
    }
    overrides.sort_by(|a, b| a.path.cmp(&b.path));
    (merged, overrides)
}

fn merge_into(
    dst: &mut Map<String, Value>,
    key: &str,
    src: &Value,
    path: &str,
    out: &mut Vec<ReaderOverride>,
) {
    match (dst.get_mut(key), src) {
        (Some(Value::Object(d)), Value::Object(s)) => {
            for (k, v) in s {
                let p = format!("{path}.{k}");
                merge_into(d, k, v, &p, out);
            }
        }
        (existing, _) => {
            let old = existing.map_or(Value::Null, |v| v.clone());
            if old != *src {
                out.push(ReaderOverride {
                    path: path.to_owned(),
                    automatic: old,
                    reader: src.clone(),
                });
            }
            dst.insert(key.to_owned(), src.clone());
        }
    }
}

/// Dotted paths of keys in `input` that did not survive a round trip through the typed
/// document `roundtrip` (unknown or misspelt keys). `null`, empty objects and empty arrays are
/// ignored because serialization may omit them.
pub fn unknown_keys(input: &Value, roundtrip: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_unknown(input, roundtrip, "", &mut out);
    out
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn walk_unknown(input: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (input, known) {
        (Value::Object(i), Value::Object(k)) => {
            for (key, v) in i {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    Some(kv) => walk_unknown(v, kv, &p, out),
                    None if is_empty_value(v) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(i), Value::Array(k)) => {
            for (n, (iv, kv)) in i.iter().zip(k).enumerate() {
                walk_unknown(iv, kv, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reader_wins_and_original_is_kept() {
        let auto = json!({"schema_version": "1", "brain": {"mamillopontine_distance_mm": 7.1, "venous_distension": false}});
        let reader = json!({"schema_version": "1", "brain": {"mamillopontine_distance_mm": 5.0}});
        let (m, o) = merge_values(&auto, &reader);
        assert_eq!(m["brain"]["mamillopontine_distance_mm"], json!(5.0));
        assert_eq!(m["brain"]["venous_distension"], json!(false));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].path, "brain.mamillopontine_distance_mm");
        assert_eq!(o[0].automatic, json!(7.1));
        assert_eq!(o[0].reader, json!(5.0));
    }

    #[test]
    fn arrays_replace_and_new_sections_insert() {
        let auto = json!({"spine": {"epidural_fluid": {"status": "present", "collections": [{"from_level": "L1"}, {"from_level": "L3"}]}}});
        let reader = json!({"spine": {"epidural_fluid": {"collections": [{"from_level": "T11"}]}}, "brain": {"subdural_fluid": true}});
        let (m, o) = merge_values(&auto, &reader);
        assert_eq!(
            m["spine"]["epidural_fluid"]["collections"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(m["brain"]["subdural_fluid"], json!(true));
        let paths: Vec<_> = o.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["brain", "spine.epidural_fluid.collections"]);
        assert_eq!(o[0].automatic, Value::Null);
    }

    #[test]
    fn identical_values_are_not_overrides() {
        let auto = json!({"brain": {"subdural_fluid": true}});
        let (_, o) = merge_values(&auto, &auto);
        assert!(o.is_empty());
    }

    #[test]
    fn unknown_key_paths() {
        let input = json!({"a": {"b": 1, "typo": 2, "n": null}, "arr": [{"x": 1, "y": 2}]});
        let known = json!({"a": {"b": 1}, "arr": [{"x": 1}]});
        assert_eq!(unknown_keys(&input, &known), ["a.typo", "arr[0].y"]);
    }
}

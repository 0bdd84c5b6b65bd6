//! The published schema copies under `schema/` are what this build generates
//! (`UPDATE_SCHEMA=1 cargo test -p csfleak-criteria --test schema` rewrites them).
#![allow(
    clippy::unwrap_used,
    reason = "helper of a test: a failed unwrap is a failed test"
)]

use std::path::Path;

fn check(name: &str, schema: &schemars::Schema) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let mut now = serde_json::to_string_pretty(schema).unwrap();
    now.push('\n');
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    // Compared as JSON values: key order may depend on serde_json features elsewhere.
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
    let now: serde_json::Value = serde_json::from_str(&now).unwrap();
    assert!(
        published == now,
        "{} is stale: run UPDATE_SCHEMA=1 cargo test -p csfleak-criteria --test schema",
        path.display()
    );
}

#[test]
fn published_schemas_are_current() {
    check(
        "assessment.schema.json",
        &csfleak_criteria::assessment_schema(),
    );
    check("clinical.schema.json", &csfleak_criteria::clinical_schema());
    check("rules.schema.json", &csfleak_criteria::rules_schema());
}

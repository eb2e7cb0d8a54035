//! A JSON Schema validator for exactly the keywords `item_schema.json` uses: `$ref`
//! (local), `type`, `required`, `properties`, `additionalProperties` (boolean), `enum`,
//! `const`, `minLength`, `maxLength`, `minimum`, `minItems`, `items`, `oneOf`, `allOf`
//! and `if`/`then`. Any other keyword makes validation fail loudly, so a schema change
//! cannot be silently ignored.

use serde_json::Value;

const ANNOTATIONS: [&str; 4] = ["$schema", "$id", "title", "description"];

/// `(class, message)` of each trace of an item's `data.body.trace_chain`, in order.
pub fn chain_links(data: &Value) -> Vec<(&str, &str)> {
    data["body"]["trace_chain"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            (
                t["exception"]["class"].as_str().unwrap_or_default(),
                t["exception"]["message"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

pub struct Schema {
    root: Value,
}

impl Schema {
    pub fn load() -> Schema {
        // Included, not read at run time: the tests of every package use it, each from
        // its own manifest directory.
        let text = include_str!("../../tests/data/item_schema.json");
        Schema {
            root: serde_json::from_str(text).expect("parse item_schema.json"),
        }
    }

    /// Errors of `item` against `$defs/strictNotifierItem`; empty when valid.
    pub fn strict_errors(&self, item: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let strict = &self.root["$defs"]["strictNotifierItem"];
        self.check(strict, item, "", &mut errors);
        errors
    }

    /// Panics with the errors unless `item` meets the strict profile.
    pub fn assert_strict(&self, item: &Value) {
        let errors = self.strict_errors(item);
        assert!(errors.is_empty(), "schema errors: {errors:#?}\nin {item:#}");
    }

    fn resolve(&self, reference: &str) -> &Value {
        if reference == "#" {
            return &self.root;
        }
        let pointer = reference.strip_prefix('#').expect("local $ref");
        self.root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("bad $ref {reference}"))
    }

    fn valid(&self, schema: &Value, value: &Value) -> bool {
        let mut errors = Vec::new();
        self.check(schema, value, "", &mut errors);
        errors.is_empty()
    }

    fn check(&self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            panic!("schema at {path} is not an object");
        };
        for (keyword, arg) in schema {
            match keyword.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "$defs" => {}
                "$ref" => self.check(self.resolve(arg.as_str().unwrap()), value, path, errors),
                "type" => {
                    let types: Vec<&str> = match arg {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        _ => panic!("bad type keyword"),
                    };
                    if !types.iter().any(|t| is_type(value, t)) {
                        errors.push(format!("{path}: expected type {types:?}, got {value}"));
                    }
                }
                "required" => {
                    if let Some(obj) = value.as_object() {
                        for name in arg.as_array().unwrap() {
                            let name = name.as_str().unwrap();
                            if !obj.contains_key(name) {
                                errors.push(format!("{path}: missing required {name:?}"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(obj) = value.as_object() {
                        for (name, sub) in arg.as_object().unwrap() {
                            if let Some(v) = obj.get(name) {
                                self.check(sub, v, &format!("{path}/{name}"), errors);
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    let allowed = arg.as_bool().expect("boolean additionalProperties");
                    if let (false, Some(obj)) = (allowed, value.as_object()) {
                        let props = schema.get("properties").and_then(Value::as_object);
                        for name in obj.keys() {
                            if !props.is_some_and(|p| p.contains_key(name)) {
                                errors.push(format!("{path}: unexpected property {name:?}"));
                            }
                        }
                    }
                }
                "enum" => {
                    if !arg.as_array().unwrap().contains(value) {
                        errors.push(format!("{path}: {value} not in {arg}"));
                    }
                }
                "const" => {
                    if arg != value {
                        errors.push(format!("{path}: {value} is not {arg}"));
                    }
                }
                "minLength" | "maxLength" => {
                    if let Some(s) = value.as_str() {
                        let n = s.chars().count() as u64;
                        let limit = arg.as_u64().unwrap();
                        if (keyword == "minLength" && n < limit)
                            || (keyword == "maxLength" && n > limit)
                        {
                            errors.push(format!("{path}: length {n} breaks {keyword} {limit}"));
                        }
                    }
                }
                "minimum" => {
                    if let Some(n) = value.as_f64() {
                        if n < arg.as_f64().unwrap() {
                            errors.push(format!("{path}: {n} below minimum {arg}"));
                        }
                    }
                }
                "minItems" => {
                    if let Some(items) = value.as_array() {
                        if (items.len() as u64) < arg.as_u64().unwrap() {
                            errors.push(format!("{path}: fewer than {arg} items"));
                        }
                    }
                }
                "items" => {
                    if let Some(items) = value.as_array() {
                        for (i, item) in items.iter().enumerate() {
                            self.check(arg, item, &format!("{path}/{i}"), errors);
                        }
                    }
                }
                "allOf" => {
                    for sub in arg.as_array().unwrap() {
                        self.check(sub, value, path, errors);
                    }
                }
                "oneOf" => {
                    let n = arg
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|sub| self.valid(sub, value))
                        .count();
                    if n != 1 {
                        errors.push(format!("{path}: matches {n} of oneOf, expected exactly 1"));
                    }
                }
                "if" => {
                    if self.valid(arg, value) {
                        if let Some(then) = schema.get("then") {
                            self.check(then, value, path, errors);
                        }
                    }
                }
                "then" => {}
                other => panic!("unsupported schema keyword {other:?} at {path}"),
            }
        }
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

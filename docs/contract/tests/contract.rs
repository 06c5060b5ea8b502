//! The contract and what serves it cannot drift apart: the committed `docs/openapi.json` is what
//! the routers generate; every operation is a route of the SAM template's HTTP API that reaches
//! the function whose router serves it, and of `cargo lambda watch`'s router (Cargo.toml); and
//! every template route leads to an operation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(function, METHOD, path)` for every operation of the generated document.
fn operations() -> BTreeSet<(String, String, String)> {
    let doc = serde_json::to_value(hound_contract::document()).unwrap();
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let tags = operation["tags"]
                .as_array()
                .expect("every operation is tagged");
            assert_eq!(tags.len(), 1, "{method} {path}: one function");
            let function = tags[0].as_str().unwrap().to_owned();
            found.insert((function, method.to_uppercase(), path.clone()));
        }
    }
    found
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = hound_contract::document_json();
    let committed = read("docs/openapi.json");
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `make openapi` and commit the result"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_every_answer_described() {
    let doc = serde_json::to_value(hound_contract::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = &reference[..reference.find('"').unwrap()];
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas.contains_key(name), "dangling reference {target}");
    }
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            let id = operation["operationId"]
                .as_str()
                .expect("every operation has an id");
            assert!(
                ids.insert(id.to_owned()),
                "{what}: operationId {id} repeats"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what}: no success answer"
            );
            for (status, response) in responses {
                if !status.starts_with('2') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{what} {status}: errors carry the envelope"
                    );
                }
                assert!(
                    response["headers"]["x-request-id"].is_object(),
                    "{what} {status}: x-request-id"
                );
            }
            // Every `{name}` in the path is a declared path parameter.
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_path, "{what}: path parameters");
        }
    }
    // The envelope is API.md's.
    let error = &schemas["Error"];
    assert_eq!(error["required"], serde_json::json!(["error"]));
    let inner = &error["properties"]["error"];
    for field in ["code", "message", "details"] {
        assert!(inner["properties"][field].is_object(), "error.{field}");
    }
}

/// One HTTP API route of the template: the function (binary) it invokes, its method (or `ANY`)
/// and its path.
#[derive(Debug)]
struct TemplateRoute {
    function: String,
    method: String,
    path: String,
}

fn template_routes() -> Vec<TemplateRoute> {
    let template: yaml_serde::Value = yaml_serde::from_str(&read("infra/template.yaml")).unwrap();
    let mut routes = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (name, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let function = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name:?}: an HTTP function is a workspace binary"));
            let properties = &event["Properties"];
            routes.push(TemplateRoute {
                function: function.to_owned(),
                method: properties["Method"].as_str().unwrap().to_uppercase(),
                path: properties["Path"].as_str().unwrap().to_owned(),
            });
        }
    }
    routes
}

/// Path parameters compared by position, not name (`{releaseId}` = `{release_id}`).
fn shape(path: &str) -> Vec<&str> {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect()
}

/// Does API Gateway's route `pattern` (`{name}` one segment, `{proxy+}` the rest) take `path`?
fn gateway_matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix("{proxy+}") {
        return path.starts_with(prefix) && path.len() > prefix.len();
    }
    shape(pattern) == shape(path)
}

/// API Gateway picks the most specific route: an exact (or parameterised) one before a greedy one.
fn gateway_target<'a>(routes: &'a [TemplateRoute], method: &str, path: &str) -> Option<&'a str> {
    let matching = |greedy: bool| {
        routes.iter().find(|r| {
            r.path.ends_with("{proxy+}") == greedy
                && (r.method == method || r.method == "ANY")
                && gateway_matches(&r.path, path)
        })
    };
    matching(false)
        .or_else(|| matching(true))
        .map(|r| r.function.as_str())
}

#[test]
fn every_operation_reaches_its_function_through_the_template() {
    let routes = template_routes();
    let operations = operations();
    assert!(operations.len() >= 27, "{} operations", operations.len());
    for (function, method, path) in &operations {
        assert_eq!(
            gateway_target(&routes, method, path),
            Some(function.as_str()),
            "{method} {path} must reach the {function} function through infra/template.yaml"
        );
    }
    // And no template route leads nowhere: each names an operation of its function.
    for route in &routes {
        let served = operations.iter().any(|(function, method, path)| {
            *function == route.function
                && (route.method == *method || route.method == "ANY")
                && gateway_matches(&route.path, path)
        });
        assert!(
            served,
            "{route:?} serves no operation of {}",
            route.function
        );
    }
}

#[test]
fn every_operation_reaches_its_function_under_cargo_lambda_watch() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let router: BTreeMap<String, String> =
        manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
            .as_table()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
    for (function, method, path) in operations() {
        // matchit: an exact route wins over a catch-all.
        let target = router.get(&path).or_else(|| {
            router.iter().find_map(|(pattern, target)| {
                let prefix = pattern.strip_suffix("{*rest}")?;
                path.starts_with(prefix).then_some(target)
            })
        });
        assert_eq!(
            target,
            Some(&function),
            "{method} {path}: the watch router must send it to {function}"
        );
    }
}

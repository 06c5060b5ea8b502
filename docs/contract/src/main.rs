//! `hound-openapi`: print the API's OpenAPI document (`make openapi` writes it to
//! `docs/openapi.json`).

fn main() {
    print!("{}", hound_contract::document_json());
}

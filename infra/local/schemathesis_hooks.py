"""Hooks for the contract fuzz (infra/local/schemathesis.toml).

`cargo lambda watch`, the local stand-in for API Gateway, cannot carry a request body that is
not UTF-8: it answers its own 500 (a problem+json body, no x-request-id) before any Hound code
runs, and restarts the function. API Gateway hands such a body to the function, which refuses it
with 400 (functions/auth/tests/api/http_errors.rs, a_json_body_that_is_not_utf8_is_a_400). So
raw negative bodies are sent here as the same bytes with each invalid sequence replaced by
U+FFFD: still not the JSON the operation wants, and still checked against the contract.
"""

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, (bytes, bytearray)):
        try:
            bytes(case.body).decode("utf-8")
        except UnicodeDecodeError:
            case.body = bytes(case.body).decode("utf-8", "replace").encode("utf-8")

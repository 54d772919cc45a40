"""A check of ours for scripts/rest-schemathesis (loaded through SCHEMATHESIS_HOOKS).

positive_data_acceptance lets get_stdlib refuse schema-valid arguments with 422 (a section
its document does not have, a cursor that is not its own: data the schema cannot describe),
for that operation alone. This check holds that allowance to its reason: such a 422 must be
the tool's own refusal, JSON-RPC code -32050, never an input-schema error (-32602) or any
other, which would be a real disagreement between the document and the server."""

import schemathesis

TOOL_ERROR = -32050


@schemathesis.check
def get_stdlib_refuses_valid_data_only_as_the_tool(ctx, response, case):  # noqa: ANN001, ARG001
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if case.operation.path != "/tools/get_stdlib" or response.status_code != 422:
        return None
    try:
        code = response.json()["error"]["code"]
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"a 422 without a JSON-RPC error: {e}: {response.text[:300]}") from e
    if code != TOOL_ERROR:
        raise AssertionError(f"schema-valid arguments refused with code {code}, not {TOOL_ERROR}: {response.text[:300]}")
    return None

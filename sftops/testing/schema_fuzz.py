"""Fuzz a running server through its own OpenAPI schema (schemathesis + hypothesis): no input may cause a 5xx."""

from __future__ import annotations


def fuzz_openapi(base_url: str, required: set[str], max_examples: int = 30) -> list[int]:
    """Call every operation in `base_url`'s /openapi.json with generated cases; fail on any 5xx answer.

    `required`: operations ("POST /v1/predict") the schema must list. Returns every status code seen.
    """
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    results = list(schema.get_all_operations())
    broken = [result.err() for result in results if not isinstance(result, Ok)]
    assert not broken, f"the schema has operations schemathesis cannot read: {broken}"
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    listed = {f"{op.method.upper()} {op.path}" for op in operations}
    assert listed >= required, f"the schema lacks {sorted(required - listed)}"
    seen: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"

        fuzz()
    return seen

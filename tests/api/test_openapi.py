"""The OpenAPI document is valid and every operation shows examples of what it takes and returns."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tests.api.server_thread import ServerThread


def _has_example(content: dict[str, Any], spec: dict[str, Any]) -> bool:
    for media in content.values():
        if "example" in media or "examples" in media:
            return True
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
        if "examples" in schema or "example" in schema:
            return True
    return False


def test_openapi_validates_and_every_route_has_examples(server: ServerThread) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
    validate(spec)
    expected = {
        ("post", "/v1/embed/video"),
        ("post", "/v1/embed/video/upload"),
        ("post", "/v1/embed/text"),
        ("post", "/v1/embeddings"),
        ("get", "/v1/models"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("post", "/v1/jobs"),
        ("get", "/v1/jobs/{job_id}/segments"),
    }
    found = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert expected <= found
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            success = next(code for code in op["responses"] if code.startswith("2"))  # 202 for POST /v1/jobs
            ok = _has_example(op["responses"][success].get("content", {}), spec)
            body = op.get("requestBody")
            if body is not None and not body["content"].get("multipart/form-data"):
                ok = ok and _has_example(body["content"], spec)
            if not ok:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_validation_failures_are_documented_as_the_400_the_server_answers(server: ServerThread) -> None:
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        answer = client.post("/v1/embed/text", json={"texts": "not a list"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_request"
    operations = [
        (f"{method.upper()} {path}", op) for path, ops in spec["paths"].items() for method, op in ops.items()
    ]
    fastapi_422 = [
        name
        for name, op in operations
        if op["responses"].get("422", {}).get("description") == "Validation Error"
    ]
    assert fastapi_422 == []
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    validated = [(name, op) for name, op in operations if op.get("requestBody") or op.get("parameters")]
    assert validated, "no route takes input?"
    assert [name for name, op in validated if "400" not in op["responses"]] == []

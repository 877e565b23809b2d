"""The official `openai` client, unchanged, against `/v1/embeddings` (its default is base64 encoding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openai
import pytest
import sentencepiece as spm

from tests.api.server_thread import ServerThread


def test_openai_client_float_and_base64(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.http_url}/v1", api_key="unused", max_retries=0)
    default = client.embeddings.create(model="videoprism", input=["a cat on a mat", "rain on a window"])
    floats = client.embeddings.create(model="videoprism", input="a cat on a mat", encoding_format="float")
    native = server.client().post("/v1/embed/text", json={"texts": ["a cat on a mat"]}).json()
    assert len(default.data) == 2 and [d.index for d in default.data] == [0, 1]
    assert len(default.data[0].embedding) == 16 and default.usage.prompt_tokens > 0
    np.testing.assert_allclose(default.data[0].embedding, floats.data[0].embedding, atol=1e-6)
    np.testing.assert_allclose(floats.data[0].embedding, native["data"][0]["embedding"], atol=1e-6)


def test_openai_client_sees_error_codes(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.http_url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="videoprism", input=["x"], dimensions=3)
    assert raised.value.status_code == 400
    assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "invalid_request"


def _vocab_ids(text: str, bundle: Path) -> list[int]:
    """The ids the served bundle's own tokenizer gives `text` (what a client tokenizing with it sends)."""
    processor = spm.SentencePieceProcessor(model_file=str(bundle / "tokenizer.model"))
    ids: list[int] = processor.EncodeAsIds(text)
    return ids


def test_openai_client_token_ids_embed_like_their_text(server: ServerThread, api_bundle_dir: Path) -> None:
    client = openai.OpenAI(base_url=f"{server.http_url}/v1", api_key="unused", max_retries=0)
    ids_a, ids_b = (
        _vocab_ids("a cat on a mat", api_bundle_dir),
        _vocab_ids("rain on a window", api_bundle_dir),
    )
    texts = client.embeddings.create(
        model="videoprism", input=["a cat on a mat", "rain on a window"], encoding_format="float"
    )
    nested = client.embeddings.create(model="videoprism", input=[ids_a, ids_b], encoding_format="float")
    flat = client.embeddings.create(model="videoprism", input=ids_a, encoding_format="float")
    assert [d.index for d in nested.data] == [0, 1] and len(flat.data) == 1
    np.testing.assert_allclose(nested.data[0].embedding, texts.data[0].embedding, atol=1e-6)
    np.testing.assert_allclose(nested.data[1].embedding, texts.data[1].embedding, atol=1e-6)
    np.testing.assert_allclose(flat.data[0].embedding, texts.data[0].embedding, atol=1e-6)
    assert not np.allclose(nested.data[0].embedding, nested.data[1].embedding)


def test_token_ids_outside_the_vocabulary_are_invalid_request(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.http_url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="videoprism", input=[[1, 2, 10_000_000]])
    body = raised.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["type"], body["param"]) == (
        "invalid_request",
        "invalid_request_error",
        "input",
    )
    assert "10000000" in body["message"] and "vocabulary" in body["message"]
    bad_inputs: list[list[object]] = [[[-1]], [[]], []]
    for bad in bad_inputs:
        response = server.client().post("/v1/embeddings", json={"model": "m", "input": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"]["param"] == "input"
    # Mixed lists are no shape OpenAI defines: one clear message, not pydantic's dump of four union members.
    mixed = server.client().post("/v1/embeddings", json={"input": [1, "a"]}).json()["error"]
    assert mixed["message"] == (
        "input must be a string, a list of strings, a list of token ids, or a list of token-id lists"
    )
    # The server keeps serving after each refusal.
    assert len(client.embeddings.create(model="videoprism", input="still here").data) == 1


def test_openai_client_retrieves_the_served_model_and_404s_unknown_ids(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.http_url}/v1", api_key="unused", max_retries=0)
    served = server.client().get("/v1/models").json()["data"][0]
    model = client.models.retrieve(served["id"])
    assert (model.id, model.object, model.owned_by) == (served["id"], "model", "videoprism-service")
    assert model.model_extra is not None and model.model_extra["dim"] == served["dim"]
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("no-such-model")
    body = raised.value.body
    assert isinstance(body, dict) and raised.value.status_code == 404
    assert (body["code"], body["type"], body["param"]) == (
        "model_not_found",
        "invalid_request_error",
        "model",
    )
    assert served["id"] in body["message"]


def test_openai_error_bodies_have_message_type_param_code(server: ServerThread) -> None:
    response = server.client().post("/v1/embeddings", json={"input": "x", "dimensions": 3})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert response.json()["error"]["param"] == "dimensions"
    missing = server.client().post("/v1/embeddings", json={"model": "m"}).json()["error"]
    assert (missing["param"], missing["type"]) == ("input", "invalid_request_error")

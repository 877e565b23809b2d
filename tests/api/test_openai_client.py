"""The official `openai` client, unchanged, against `/v1/embeddings` (its default is base64 encoding)."""

from __future__ import annotations

import numpy as np
import openai
import pytest

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

"""The contract's own rules: one dtype table that matches the schema, and tokenizer errors both halves read."""

from __future__ import annotations

import typing
from pathlib import Path

import onnx
import pytest

from service.errors import InvalidRequestError
from service.text import TextTokenizer as ServiceTokenizer
from videoprism_bundle.errors import TextInputError
from videoprism_bundle.manifest import TensorSpec
from videoprism_bundle.onnx_dtypes import MANIFEST_DTYPES, manifest_dtype
from videoprism_bundle.tokenizer import TextTokenizer

DEMO_TOKENIZER = Path(__file__).resolve().parents[2] / "service" / "demo_bundle" / "tokenizer.model"


def test_the_dtype_table_names_exactly_the_dtypes_a_manifest_may_declare() -> None:
    declared = set(typing.get_args(TensorSpec.model_fields["dtype"].annotation))
    assert set(MANIFEST_DTYPES.values()) == declared
    assert manifest_dtype(onnx.TensorProto.FLOAT) == "float32"
    assert manifest_dtype(onnx.TensorProto.DOUBLE) is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.encode_ids("caf\ud800"), "unpaired surrogate at character 3"),
        (lambda t: t.decode_ids([]), "token-id input is empty"),
        (lambda t: t.decode_ids([1, 10**6]), "token id 1000000 at position 1 is outside"),
    ],
)
def test_rejected_inputs_are_contract_errors_and_invalid_requests_in_the_service(
    call: typing.Callable[[TextTokenizer], object], message: str
) -> None:
    contract = TextTokenizer(DEMO_TOKENIZER, max_length=8)
    with pytest.raises(TextInputError, match=message):
        call(contract)
    service = ServiceTokenizer(DEMO_TOKENIZER, max_length=8)
    with pytest.raises(InvalidRequestError, match=message) as caught:
        call(service)
    assert caught.value.code == "invalid_request" and caught.value.http_status == 400


def test_the_service_tokenizer_encodes_exactly_like_the_contract() -> None:
    texts = ["A dog, running!", "", "a red ball rolls to the left " * 4]
    contract = TextTokenizer(DEMO_TOKENIZER, max_length=8).encode_batch(texts)
    service = ServiceTokenizer(DEMO_TOKENIZER, max_length=8).encode_batch(texts)
    assert (contract.ids == service.ids).all() and (contract.paddings == service.paddings).all()
    assert contract.lengths[2] == 8 and contract.lengths[1] >= 1  # head-truncated; "" still encodes "."

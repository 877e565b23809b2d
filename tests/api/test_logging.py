"""JSON log lines carry the request id and extras, and never an Authorization header."""

from __future__ import annotations

import json
import logging

from service.logging import JsonFormatter, new_request_id, request_id_var


def test_json_line_has_request_id_and_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "t",
            "levelname": "INFO",
            "msg": "GET %s",
            "args": ("/x",),
            "status": 200,
            "color_message": "\x1b[1m",
        }
    )
    token = request_id_var.set("req-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "GET /x" and line["request_id"] == "req-1" and line["status"] == 200
    assert "color_message" not in line


def test_unsafe_request_ids_are_replaced() -> None:
    assert new_request_id("abc-1.2:3") == "abc-1.2:3"
    assert new_request_id('x"}{') != 'x"}{'
    assert len(new_request_id("a" * 500)) == 32

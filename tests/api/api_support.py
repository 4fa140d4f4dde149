"""What the REST API tests share beyond their fixtures (conftest.py)."""

from __future__ import annotations


def error_of(answer, code):
    """The error of `answer`, checked to be Google's error body with status `code`."""
    assert answer.status_code == code, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["code"] == code
    return body["error"]

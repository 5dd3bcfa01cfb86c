"""The loopback stand-in servers checks run (flowcamp.checks.standins)."""

import json
import time
import urllib.error
import urllib.request

import pytest

from flowcamp.checks.standins import FlakyService, Request, Response, StandIn, WebhookReceiver, bearer_or_key


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_flaky_service_fails_first_calls_then_answers_and_records_them():
    with FlakyService(payload={"members": [1, 2]}, fail_first=2) as service:
        assert service.url.startswith("http://127.0.0.1:")
        statuses = [_get(service.url + "/members?page=1")[0] for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert json.loads(_get(service.url + "/members")[1]) == {"members": [1, 2]}
        calls = service.calls
        assert len(calls) == 4 and calls[0].path == "/members" and calls[0].query == {"page": ["1"]}
        assert len(service.gaps()) == 3 and all(g >= 0 for g in service.gaps())
        service.reset(fail_first=None)
        assert service.calls == [] and _get(service.url)[0] == 503


def test_flaky_service_refuses_a_missing_or_wrong_key():
    with FlakyService(payload=[], api_key="k-123") as service:
        assert _get(service.url)[0] == 401
        assert _get(service.url, {"Authorization": "Bearer nope"})[0] == 401
        assert _get(service.url, {"Authorization": "Bearer k-123"})[0] == 200
        assert _get(service.url, {"X-API-Key": "k-123"})[0] == 200
        assert _get(service.url + "/?api_key=k-123")[0] == 200


def test_webhook_receiver_records_posts():
    with WebhookReceiver() as hook:
        body = json.dumps({"text": "hello"}).encode()
        req = urllib.request.Request(hook.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        (post,) = hook.posts()
        assert post.json() == {"text": "hello"} and post.headers["content-type"] == "application/json"
        assert "hello" in post.everything()


def test_a_handler_of_your_own_and_a_broken_one():
    def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise ValueError("bad")
        return Response(201, {"path": request.path})

    with StandIn(handler) as server:
        assert _get(server.url + "/x") == (201, '{"path": "/x"}')
        status, text = _get(server.url + "/boom")
        assert status == 500 and "ValueError" in text


def test_stopped_stand_in_has_no_url_and_frees_its_port():
    server = StandIn().start()
    url = server.url
    server.stop()
    with pytest.raises(RuntimeError):
        server.url
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=1)


def test_bearer_or_key():
    r = Request("GET", "/", {}, {"authorization": "Bearer abc"}, b"", time.monotonic())
    assert bearer_or_key(r) == "abc"
    assert bearer_or_key(Request("GET", "/", {}, {}, b"", 0.0)) is None

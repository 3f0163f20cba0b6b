"""The Akismet stand-in, driven through the real `akismet` library and Hubbub's endpoint transport."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import akismet
import httpx
import pytest

from comments_service.spam.endpoint import EndpointError, RewriteTransport, http_client

sys.path.insert(0, str(Path(__file__).parent))
from akismet_server import (  # noqa: E402
    DEFAULT_KEY,
    GARBAGE_BODY,
    SUBMISSION_RESPONSE,
    AkismetStandIn,
    akismet_fixture,
)

BLOG = "https://hubbub.example.org"
IP = "203.0.113.7"

stand_in = akismet_fixture()
_open_clients: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _open_clients:
        _open_clients.pop().close()


def make_client(server_or_url, key: str = DEFAULT_KEY, timeout: float = 2.0,
                endpoint: str | None = None) -> akismet.SyncClient:
    base = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    transport_client = http_client(endpoint or base, timeout)
    _open_clients.append(transport_client)
    return akismet.SyncClient(config=akismet.Config(key=key, url=BLOG), http_client=transport_client)


@pytest.fixture
def client(stand_in):
    return make_client(stand_in)


# -- verify-key --------------------------------------------------------------------------------

def test_verify_key_valid_and_invalid(stand_in, client):
    assert client.verify_key() is True
    assert client.verify_key(key="wrong-key", url=BLOG) is False
    assert client.verify_key(key=DEFAULT_KEY, url="not-a-url") is False
    sent = stand_in.requests_to("verify-key")
    assert [r.form for r in sent] == [
        {"key": DEFAULT_KEY, "blog": BLOG},
        {"key": "wrong-key", "blog": BLOG},
        {"key": DEFAULT_KEY, "blog": "not-a-url"},
    ]
    assert all(r.path == "/1.1/verify-key" and r.method == "POST" for r in sent)


def test_validated_client_refuses_an_invalid_key(stand_in):
    with pytest.raises(akismet.APIKeyError):
        akismet.SyncClient.validated_client(config=akismet.Config(key="nope", url=BLOG),
                                            http_client=make_client(stand_in)._http_client)
    with make_client(stand_in) as c:
        assert c.comment_check(IP, comment_author="Ann") == akismet.CheckResponse.HAM


# -- verdicts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, verdict", [
    ({"comment_author": "Ann", "comment_content": "Nice post"}, akismet.CheckResponse.HAM),
    ({"comment_author": "akismet-guaranteed-spam"}, akismet.CheckResponse.SPAM),
    ({"comment_author": "Ann", "comment_author_email": "akismet-guaranteed-spam@example.com"},
     akismet.CheckResponse.SPAM),
    ({"comment_author": "akismet-discard"}, akismet.CheckResponse.DISCARD),
    ({"comment_author": "akismet-guaranteed-spam", "user_role": "administrator"}, akismet.CheckResponse.HAM),
    ({"comment_author": "akismet-discard", "user_role": "administrator"}, akismet.CheckResponse.HAM),
])
def test_comment_check_verdicts(client, fields, verdict):
    assert client.comment_check(IP, is_test=True, **fields) == verdict


def test_comment_check_records_every_field(stand_in, client):
    fields = {
        "user_agent": "Mozilla/5.0", "referrer": "https://hubbub.example.org/", "permalink": f"{BLOG}/posts/x/",
        "comment_type": "comment", "comment_author": "Ann", "comment_author_email": "ann@example.com",
        "comment_author_url": "https://ann.example", "comment_content": "Hello *there*",
        "comment_date_gmt": "2026-11-23T10:00:00Z", "comment_post_modified_gmt": "2026-11-01T09:00:00Z",
        "blog_lang": "en", "blog_charset": "UTF-8", "honeypot_field_name": "contact_me_by_fax_only",
    }
    client.comment_check(IP, is_test=True, **fields)
    (seen,) = stand_in.requests_to("comment-check")
    assert seen.form == {"api_key": DEFAULT_KEY, "blog": BLOG, "user_ip": IP, "is_test": "true", **fields}
    assert seen.mode == "ok"
    assert seen.headers["User-Agent"].startswith("akismet.py/")


def test_discard_answer_carries_the_pro_tip_header(stand_in):
    data = {"api_key": DEFAULT_KEY, "blog": BLOG, "user_ip": IP, "comment_author": "akismet-discard"}
    spam = httpx.post(f"{stand_in.url}/1.1/comment-check", data={**data, "comment_author": "akismet-guaranteed-spam"})
    discard = httpx.post(f"{stand_in.url}/1.1/comment-check", data=data)
    assert (spam.text, discard.text) == ("true", "true")
    assert "X-akismet-pro-tip" not in spam.headers
    assert discard.headers["X-akismet-pro-tip"] == "discard"


@pytest.mark.parametrize("method, endpoint", [("submit_spam", "submit-spam"), ("submit_ham", "submit-ham")])
def test_submissions_are_thanked_and_recorded(stand_in, client, method, endpoint):
    assert getattr(client, method)(IP, comment_author="Ann", comment_content="Buy now") is True
    (seen,) = stand_in.requests_to(endpoint)
    assert seen.form["comment_content"] == "Buy now" and seen.form["user_ip"] == IP
    raw = httpx.post(f"{stand_in.url}/1.1/{endpoint}", data={"api_key": DEFAULT_KEY, "blog": BLOG, "user_ip": IP})
    assert raw.text == SUBMISSION_RESPONSE


def test_missing_user_ip_is_a_protocol_error(stand_in, client):
    with pytest.raises(akismet.ProtocolError, match="Missing required field"):
        client.comment_check("")


# -- invalid key -------------------------------------------------------------------------------

def test_invalid_key_answers_invalid_with_debug_help(stand_in):
    bad = make_client(stand_in, key="not-the-key")
    with pytest.raises(akismet.APIKeyError):
        bad.comment_check(IP, comment_author="Ann")
    with pytest.raises(akismet.APIKeyError):
        bad.submit_spam(IP, comment_author="Ann")
    raw = httpx.post(f"{stand_in.url}/1.1/comment-check", data={"api_key": "x", "blog": BLOG, "user_ip": IP})
    assert raw.text == "invalid"
    assert raw.headers["X-akismet-debug-help"]


def test_invalid_key_mode_rejects_even_the_right_key(stand_in, client):
    stand_in.set_mode("invalid_key")
    assert client.verify_key() is False
    with pytest.raises(akismet.APIKeyError):
        client.comment_check(IP, comment_author="Ann")
    stand_in.set_mode("ok")
    assert client.verify_key() is True


# -- faults and recovery -----------------------------------------------------------------------

def test_refuse_closes_the_port_and_recovers_on_the_same_port(stand_in, client):
    assert client.comment_check(IP, comment_author="Ann") == akismet.CheckResponse.HAM  # pooled connection
    port = stand_in.port
    stand_in.set_mode("refuse")
    with pytest.raises(akismet.RequestError) as caught:
        client.comment_check(IP, comment_author="Ann")
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{stand_in.url}/1.1/verify-key", data={"key": DEFAULT_KEY, "blog": BLOG})
    stand_in.set_mode("ok")
    assert stand_in.port == port
    assert client.comment_check(IP, comment_author="akismet-guaranteed-spam") == akismet.CheckResponse.SPAM


def test_503_is_a_request_error_and_recovers(stand_in, client):
    stand_in.set_mode("503")
    with pytest.raises(akismet.RequestError, match="503"):
        client.comment_check(IP, comment_author="Ann")
    with pytest.raises(akismet.RequestError, match="503"):
        client.verify_key()
    assert [r.mode for r in stand_in.requests] == ["503", "503"]
    stand_in.set_mode("ok")
    assert client.comment_check(IP, comment_author="Ann") == akismet.CheckResponse.HAM


@pytest.mark.parametrize("operation", ["verify_key", "comment_check", "submit_ham"])
def test_garbage_is_a_protocol_error_and_recovers(stand_in, client, operation):
    stand_in.set_mode("garbage")
    call = getattr(client, operation)
    args = () if operation == "verify_key" else (IP,)
    with pytest.raises(akismet.ProtocolError) as caught:
        call(*args)
    assert "Akismet is having a nap" in str(caught.value) and "nap" in GARBAGE_BODY
    stand_in.set_mode("ok")
    expected = {"verify_key": True, "comment_check": akismet.CheckResponse.HAM, "submit_ham": True}[operation]
    assert call(*args) == expected


def test_hang_times_out_then_recovers(stand_in):
    stand_in.set_mode("hang", hang_seconds=60)
    impatient = make_client(stand_in, timeout=0.3)
    with pytest.raises(akismet.RequestError, match="timed out"):
        impatient.comment_check(IP, comment_author="Ann")
    stand_in.set_mode("ok")  # releases the hanging handler
    assert impatient.comment_check(IP, comment_author="akismet-discard") == akismet.CheckResponse.DISCARD


def test_hanging_requests_are_handled_concurrently_and_released_by_a_mode_change(stand_in):
    stand_in.set_mode("hang", hang_seconds=60)
    results: list = []

    def call():
        c = make_client(stand_in, timeout=30)
        results.append(c.comment_check(IP, comment_author="akismet-guaranteed-spam"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    # All three reach the server while none has been answered: one hang does not block the others.
    stand_in.wait_for_requests("comment-check", count=3)
    assert results == []
    stand_in.set_mode("ok")
    for t in threads:
        t.join(timeout=20)
    assert results == [akismet.CheckResponse.SPAM] * 3


def test_stop_releases_hanging_requests():
    server = AkismetStandIn(hang_seconds=60).start()
    server.set_mode("hang")
    outcome: list = []

    def call():
        try:
            outcome.append(make_client(server, timeout=30).comment_check(IP))
        except akismet.AkismetError as exc:
            outcome.append(exc)

    t = threading.Thread(target=call)
    t.start()
    server.wait_for_requests("comment-check")
    server.stop()
    t.join(timeout=20)
    assert not t.is_alive(), "a hanging request kept its client waiting after stop()"
    assert len(outcome) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{server.url}/1.1/verify-key", data={})


def test_unknown_mode_is_refused(stand_in):
    with pytest.raises(ValueError, match="unknown mode"):
        stand_in.set_mode("sulk")


def test_unknown_path_is_404(stand_in):
    assert httpx.post(f"{stand_in.url}/1.1/not-an-endpoint", data={}).status_code == 404
    assert httpx.get(f"{stand_in.url}/").status_code == 404


# -- the endpoint transport --------------------------------------------------------------------

def test_transport_sends_host_header_and_keeps_a_path_prefix(stand_in):
    c = make_client(stand_in, endpoint=stand_in.url + "/akismet/")
    assert c.comment_check(IP, comment_author="Ann") == akismet.CheckResponse.HAM
    (seen,) = stand_in.requests
    assert seen.path == "/akismet/1.1/comment-check"
    assert seen.headers["Host"] == f"127.0.0.1:{stand_in.port}"


def test_rewrite_keeps_path_and_query():
    transport = RewriteTransport("http://10.0.0.5:8765/base")
    url = transport.rewrite(httpx.URL("https://rest.akismet.com/1.2/usage-limit?api_key=k"))
    assert str(url) == "http://10.0.0.5:8765/base/1.2/usage-limit?api_key=k"
    default_port = RewriteTransport("https://akismet.internal")
    assert str(default_port.rewrite(httpx.URL("https://rest.akismet.com/1.1/verify-key"))) == \
        "https://akismet.internal/1.1/verify-key"


def test_default_endpoint_is_not_rewritten():
    for endpoint in (None, "", "https://rest.akismet.com", "https://rest.akismet.com/"):
        with http_client(endpoint, 1.0) as c:
            assert not isinstance(c._transport, RewriteTransport)
    with http_client("http://127.0.0.1:1", 1.5) as c:
        assert isinstance(c._transport, RewriteTransport)
        assert c.timeout.read == 1.5
        assert c.headers["User-Agent"] == akismet.USER_AGENT


@pytest.mark.parametrize("endpoint", ["ftp://akismet.example", "rest.akismet.com", "http://", "http://h/?q=1"])
def test_bad_endpoints_are_named_in_the_error(endpoint):
    with pytest.raises(EndpointError, match="HUBBUB_AKISMET_ENDPOINT"):
        RewriteTransport(endpoint)


# -- standalone --------------------------------------------------------------------------------

def test_standalone_server_with_http_control(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "akismet_server.py"), "--port", "0", "--key", "k1"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("Akismet stand-in on http://127.0.0.1:"), banner
        base = banner.split()[3]
        c = make_client(base, key="k1", timeout=5.0)
        assert c.comment_check(IP, comment_author="akismet-guaranteed-spam") == akismet.CheckResponse.SPAM
        assert httpx.post(f"{base}/_control/mode", data={"mode": "503"}).text == "503"
        with pytest.raises(akismet.RequestError):
            c.comment_check(IP)
        assert httpx.post(f"{base}/_control/mode", data={"mode": "refuse", "seconds": "0.5"}).text == "refuse"
        with pytest.raises(akismet.RequestError):
            make_client(base, key="k1").verify_key()
        # After the refusal period it listens again, in the mode it was told (ok).
        for _attempt in range(100):
            try:
                assert make_client(base, key="k1").verify_key() is True
                break
            except akismet.RequestError:
                threading.Event().wait(0.1)
        else:
            pytest.fail("the standalone stand-in did not listen again after refuse seconds=0.5")
        seen = httpx.get(f"{base}/_control/requests").json()
        assert [r["endpoint"] for r in seen][:2] == ["comment-check", "comment-check"]
        assert seen[0]["form"]["comment_author"] == "akismet-guaranteed-spam"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()

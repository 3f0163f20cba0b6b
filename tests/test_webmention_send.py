"""Sending webmentions: endpoint discovery as the spec (and webmention.rocks' cases) describe it,
and posts announced after real builds to real local servers playing the linked sites."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner
from service_helpers import hub_of, run_jobs
from web_helpers import Route, Site

from comments_service.webmention import send as sending
from comments_service.webmention.discover import endpoint
from comments_service.webmention.fetch import Page, fetch
from hubbub.build import build_site


def page(body: str = "", links: list[str] | None = None, url: str = "https://target.example/post/1") -> Page:
    headers = httpx.Headers([("Link", value) for value in links or []])
    return Page(url=url, status=200, headers=headers, body=body.encode(), content_type="text/html", charset="utf-8")


@pytest.mark.parametrize("links, body, expected", [
    (['</wm/1>; rel=webmention'], "", "https://target.example/wm/1"),  # relative, unquoted
    (['<https://other.example/wm>; rel="webmention"'], "", "https://other.example/wm"),  # absolute, quoted
    (['<wm/3>; rel="somethingelse webmention"'], "", "https://target.example/post/wm/3"),  # several rels
    (['<https://a.example/x>; rel="other"', '</wm/4>; rel="webmention"'], "", "https://target.example/wm/4"),
    (['<https://a.example/x>; rel="other", </wm/5>; rel="webmention"'], "", "https://target.example/wm/5"),
    (['</wm/6>; REL="WebMention"'], "", "https://target.example/wm/6"),  # casing
    (['</wm/header>; rel="webmention"'], '<link rel="webmention" href="/wm/html">', "https://target.example/wm/header"),
    ([], '<head><link rel="webmention" href="/wm/7"></head>', "https://target.example/wm/7"),
    ([], '<a rel="webmention" href="https://a.example/wm/8">endpoint</a>', "https://a.example/wm/8"),
    ([], '<link rel="not-webmention" href="/no"><a href="/wm/9" rel="nofollow webmention">x</a>',
     "https://target.example/wm/9"),
    ([], '<!-- <link rel="webmention" href="/commented"> --><link rel="webmention" href="/wm/10">',
     "https://target.example/wm/10"),
    ([], '<link rel="webmention" href="">', "https://target.example/post/1"),  # empty: the page itself
    ([], '<link rel="webmention" href="/wm/12?version=1">', "https://target.example/wm/12?version=1"),
    ([], '<a rel="webmention">no href</a><link rel="webmention" href="/wm/13">', "https://target.example/wm/13"),
    ([], "<p>no endpoint</p>", None),
])
def test_endpoint_discovery(links, body, expected):
    assert endpoint(page(body, links)) == expected


def test_relative_endpoints_resolve_against_the_address_after_redirects():
    with Site() as site:
        site.routes["/start"] = Route(b"", 302, {"Location": "/deep/page"})
        site.page("/deep/page", '<link rel="webmention" href="endpoint">')
        assert endpoint(fetch(site.url("/start"), allow_private=True)) == site.url("/deep/endpoint")


POST = """Title: Links to friends
Date: 2026-11-25 10:00
Author: Dana Okafor
Category: Networking
Slug: links-to-friends

I read [one post]({a}) and [another]({b}); also [our own archive](/archives/).
"""


@pytest.fixture
def sites():
    with Site() as one, Site() as two:
        for site in (one, two):
            site.page("/post", '<html><head><link rel="webmention" href="/webmention"></head><body>hi</body></html>')
            site.routes["/webmention"] = Route(b"Accepted", 202, {"Content-Type": "text/plain"})
        yield one, two


def write_post(site_dir, a: str, b: str) -> None:
    (site_dir / "content" / "posts" / "links-to-friends.md").write_text(POST.format(a=a, b=b), encoding="utf-8")
    build_site(site_dir)


def posts_to(site: Site) -> list[dict]:
    return [r.form for r in site.requests if r.method == "POST"]


def test_changed_posts_announce_their_links_once_and_removed_links_too(make_app, service_env, site_dir, sites):
    one, two = sites
    write_post(site_dir, one.url("/post"), two.url("/post"))
    app = make_app({**service_env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE": "1"})
    hub = hub_of(app)
    source = hub.threads.get("links-to-friends")["absolute_url"]
    assert hub.threads.get("links-to-friends")["links"] == sorted([one.url("/post"), two.url("/post")])

    sending.scan_job(hub, {})  # the first look at the site records it: nothing is sent
    run_jobs(app)
    assert posts_to(one) == [] and posts_to(two) == []

    write_post(site_dir, one.url("/post"), two.url("/post") + "?edited")  # the post changes
    sending.scan_job(hub, {})
    run_jobs(app)
    assert posts_to(one) == [{"source": source, "target": one.url("/post")}]
    assert posts_to(two) == [{"source": source, "target": two.url("/post") + "?edited"},
                             {"source": source, "target": two.url("/post")}]  # the link it lost

    build_site(site_dir)  # unchanged: nothing more goes out
    sending.scan_job(hub, {})
    run_jobs(app)
    assert len(posts_to(one)) == 1 and len(posts_to(two)) == 2

    from comments_service.webmention.models import SentWebmention

    with hub.sessions() as s:
        rows = {r.target: (r.status, r.linked, r.endpoint) for r in s.query(SentWebmention)}
    assert rows[one.url("/post")] == ("sent", True, one.url("/webmention"))
    assert rows[two.url("/post")][:2] == ("sent", False)


def test_sending_can_be_turned_off(make_app, service_env, site_dir, sites):
    one, two = sites
    write_post(site_dir, one.url("/post"), two.url("/post"))
    app = make_app({**service_env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE": "1", "HUBBUB_WEBMENTION_SEND": "0"})
    for _ in range(2):
        sending.scan_job(hub_of(app), {})
        run_jobs(app)
    assert one.requests == [] and two.requests == []


def test_a_development_site_sends_nothing(make_app, service_env, site_dir, sites):
    one, two = sites
    write_post(site_dir, one.url("/post"), two.url("/post"))
    app = make_app(service_env)  # SITEURL is http://127.0.0.1:8000: nobody could verify us
    assert not sending.public_site(hub_of(app))


def test_the_send_command_shows_then_sends_one_post(service_env, site_dir, sites, monkeypatch):
    from hubbub.cli import main

    one, two = sites
    write_post(site_dir, one.url("/post"), two.url("/post"))
    for name, value in {**service_env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE": "1"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    shown = runner.invoke(main, ["webmention", "send", "--dry-run", "links-to-friends"])
    assert shown.exit_code == 0, shown.output
    assert f"would-send {one.url('/webmention')}" in shown.output and "nothing was sent" in shown.output
    assert posts_to(one) == [] and posts_to(two) == []

    done = runner.invoke(main, ["webmention", "send", "links-to-friends"])
    assert done.exit_code == 0, done.output
    assert "Sent 2 of 2" in done.output and len(posts_to(one)) == 1 and len(posts_to(two)) == 1
    again = runner.invoke(main, ["webmention", "send"])  # the first look records the site: nothing more
    assert again.exit_code == 0 and "Nothing to send" in again.output
    bad = runner.invoke(main, ["webmention", "send", "no-such-post"])
    assert bad.exit_code != 0 and "not a post of the built site" in bad.output

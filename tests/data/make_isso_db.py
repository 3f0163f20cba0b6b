"""Make tests/data/isso-comments.db with the real Isso 0.14, for tests/test_import_isso.py.

Isso is not a dependency of Hubbub: run this with the Python of an environment that has it,
from the repository's root:

    python3 -m venv bench/envs/isso && bench/envs/isso/bin/pip install isso==0.14.0
    bench/envs/isso/bin/python tests/data/make_isso_db.py

Every comment goes through Isso's own HTTP API (POST /new, like, dislike, DELETE), driven with
werkzeug's test client as Isso's own tests drive it, with moderation on; a moderator's
activation is Isso's db.comments.activate, and the times are then set to fixed values with
db.comments.update so the file comes out the same every run (bar Isso's random voter filters).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

from isso import Isso, config, core
from werkzeug.test import Client
from werkzeug.wrappers import Response

OUT = Path(__file__).resolve().with_name("isso-comments.db")

# Old blog addresses: by path segment, by the new site's URL, by title only, and one post that
# has no article on the new site.
SOCIAL = "/2009/09/social-media-and-network-marketing/"
SEO = "/posts/local-seo-for-small-businesses-start-with-the-map/"
EMAIL = "/blog/?p=77"
GONE = "/2012/01/a-post-that-was-never-moved/"


class App(Isso, core.Mixin):
    pass


class AsClient:
    """Requests as from one reader's address; Isso keeps it, anonymised (the last octet zeroed)."""

    def __init__(self, app, ip: str):
        def with_ip(environ, start_response):
            environ["REMOTE_ADDR"] = ip
            return app(environ, start_response)

        self.client = Client(with_ip, Response)

    def comment(self, uri: str, title: str, **fields) -> int:
        r = self.client.post("/new?" + urlencode({"uri": uri}), data=json.dumps({"title": title, **fields}),
                             content_type="application/json")
        assert r.status_code in (201, 202), r.get_data(as_text=True)
        return json.loads(r.get_data(as_text=True))["id"]

    def vote(self, comment_id: int, how: str) -> None:
        r = self.client.post(f"/id/{comment_id}/{how}", content_type="application/json")
        assert r.status_code == 200, r.get_data(as_text=True)

    def delete(self, comment_id: int) -> None:
        r = self.client.delete(f"/id/{comment_id}", content_type="application/json")
        assert r.status_code == 200, r.get_data(as_text=True)


def main() -> None:
    OUT.unlink(missing_ok=True)
    conf = config.load(config.default_file())
    conf.set("general", "dbpath", str(OUT))
    conf.set("moderation", "enabled", "true")
    conf.set("guard", "enabled", "off")
    conf.set("hash", "algorithm", "none")
    app = App(conf)
    db = app.db

    nina, alan, omar = AsClient(app, "203.0.113.21"), AsClient(app, "198.51.100.40"), AsClient(app, "192.0.2.77")
    first = nina.comment(SOCIAL, "Social Media and Network Marketing", author="Nina Petrova",
                         email="nina@readers.example", website="nina.example",
                         text="I agree with **most** of this.\n\nSee [my notes](https://nina.example/notes).")
    reply = alan.comment(SOCIAL, "", author="Alan & Co <Consulting>", email="alan@example.org", parent=first,
                         notification=1, text="Trust comes first, then the *marketing*.")
    # Isso keeps replies two levels deep: a reply to a reply is stored under the first comment.
    again = nina.comment(SOCIAL, "", author="Nina Petrova", email="nina@readers.example", parent=reply,
                         text="Thanks both!")
    waiting = AsClient(app, "100.64.3.3").comment(SOCIAL, "", author="Waiting Reader", text="Still in the queue.")
    shop = omar.comment(SEO, "Local SEO for Small Businesses: Start With the Map", author="Omar's Corner Shop",
                        email="omar@shop.example", text="Claiming the listing took *ten* minutes.")
    regret = AsClient(app, "100.64.4.4")
    regretted = regret.comment(SEO, "", author="Regretful Reader", email="regret@example.org", text="I take it back.")
    under = alan.comment(SEO, "", author="Alan & Co <Consulting>", parent=regretted, text="Too late, I read it.")
    vanished = regret.comment(SEO, "", author="Regretful Reader", text="And this one too.")
    pat = AsClient(app, "100.64.5.5").comment(EMAIL, "Email Lists Are Built on Permission", author="Pat",
                                              website="https://pat.example/?a=1&b='x'", text="Double opt-in, always.")
    lost = omar.comment(GONE, "A post that was never moved", author="Omar's Corner Shop", text="Where did it go?")

    for comment_id in (first, reply, again, shop, regretted, under, vanished, pat, lost):
        db.comments.activate(comment_id)  # what a moderator's "activate" link does
    AsClient(app, "198.51.100.7").vote(first, "like")
    AsClient(app, "192.0.2.9").vote(first, "like")
    AsClient(app, "100.64.9.9").vote(first, "dislike")
    omar.vote(pat, "like")
    regret.delete(regretted)  # has a reply: Isso keeps an empty placeholder (mode 4)
    regret.delete(vanished)  # no reply: removed

    start = dt.datetime(2011, 3, 1, 9, 0, tzinfo=dt.UTC)
    for n, comment_id in enumerate((first, reply, again, waiting, shop, regretted, under, pat, lost)):
        db.comments.update(comment_id, {"created": (start + dt.timedelta(hours=n)).timestamp()})
    db.execute("VACUUM")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    sys.exit(main())

"""Webmentions (W3C): other sites' replies, likes, reposts and mentions of our articles, and ours of theirs.

Receiving is another entrance to a comment's journey (journey.py):
    receive.py   POST /api/webmention: cheap checks, store, 202 with a status URL
    verify.py    job "webmention-verify": fetch the source (fetch.py, SSRF-guarded), find the link,
                 read its h-entry (mf2.py), and make or update a comment of kind "webmention"
                 (store.py), which the usual check, moderation and publisher then handle
Sending: send.py notices new or changed posts in the build's manifest and sends to their links'
endpoints (discover.py); cli.py is `hubbub webmention send`. models.py holds both tables.
"""

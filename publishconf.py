"""Production settings: `hubbub build --publish`. Everything in pelicanconf.py, plus absolute URLs."""

import os

from hubbub.settings import pelicanconf_settings

globals().update(pelicanconf_settings(__file__))

SITEURL = os.environ.get("HUBBUB_SITEURL", "https://hubbub.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
# The comment service may live on another origin; the service allows exactly SITEURL by CORS.
COMMENTS_URL = os.environ.get("HUBBUB_COMMENTS_URL", SITEURL)
DELETE_OUTPUT_DIRECTORY = False

"""Production settings: `hubbub build --publish`. Everything in pelicanconf.py, plus absolute URLs."""

import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: E402,F401,F403

SITEURL = os.environ.get("HUBBUB_SITEURL", "https://hubbub.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
# The comment service may live on another origin; the service allows exactly SITEURL by CORS.
COMMENTS_URL = os.environ.get("HUBBUB_COMMENTS_URL", SITEURL)
DELETE_OUTPUT_DIRECTORY = False

"""Production settings: `hubbub build --publish`. Everything in pelicanconf.py, plus absolute URLs."""

import importlib.util
import os
from pathlib import Path

# Load the pelicanconf.py beside this file by path: an import by module name could pick up
# another site's pelicanconf already loaded in the same process.
_spec = importlib.util.spec_from_file_location("_hubbub_pelicanconf", Path(__file__).with_name("pelicanconf.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
globals().update({k: v for k, v in vars(_base).items() if k.isupper()})

SITEURL = os.environ.get("HUBBUB_SITEURL", "https://hubbub.example.org")
RELATIVE_URLS = False
FEED_DOMAIN = SITEURL
# The comment service may live on another origin; the service allows exactly SITEURL by CORS.
COMMENTS_URL = os.environ.get("HUBBUB_COMMENTS_URL", SITEURL)
DELETE_OUTPUT_DIRECTORY = False

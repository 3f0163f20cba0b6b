"""Keep the translation catalogs in step with the code: `python -m hubbub.core.catalogs`.

Extracts every message from Hubbub's Python code (_, ngettext, N_) and templates (the theme, the
comment templates, the comment service's pages), writes hubbub/locale/hubbub.pot, and merges it
into each language's hubbub.po: new messages arrive empty, changed ones fuzzy, both to translate.
The tests extract the same way and fail while a catalog misses a message (tests/test_languages.py).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import DOMAIN, LOCALE_DIR, catalog_path, languages

PACKAGES = Path(__file__).resolve().parents[2]
# (package directory, [(file pattern, extractor)]): where the messages are.
SOURCES = [
    ("hubbub", [("starter/**", "ignore"), ("**.py", "python"), ("theme/templates/**.html", "jinja2"),
                ("templates/**.html", "jinja2")]),
    ("comments_service", [("migrations/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]),
]
JINJA_OPTIONS = {"silent": "false", "trim_blocks": "true", "lstrip_blocks": "true"}
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"


def extract() -> Catalog:
    """Every message the sources use, with where it is used."""
    catalog = Catalog(domain=DOMAIN, project="Hubbub", charset="utf-8", fuzzy=False)
    for package, methods in SOURCES:
        options = {pattern: JINJA_OPTIONS for pattern, method in methods if method == "jinja2"}
        for filename, lineno, message, comments, context in extract_from_dir(
            PACKAGES / package, methods, options, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
        ):
            catalog.add(message, None, [(f"{package}/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def read(lang: str) -> Catalog:
    with open(catalog_path(lang), "rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, omit_header=False, include_lineno=False)


def update() -> None:
    template = extract()
    template.creation_date = datetime(2026, 1, 1)  # a stable header: the file changes only with its messages
    write(TEMPLATE, template)
    for lang in languages():
        catalog = read(lang)
        catalog.update(template, no_fuzzy_matching=False)
        if lang == "en":  # English is the source text: its catalog says so for every message
            for message in catalog:
                forms = message.string if isinstance(message.string, tuple) else (message.string,)
                if message.id and (not all(forms) or message.fuzzy):
                    message.string = message.id
                    message.flags.discard("fuzzy")
        write(catalog_path(lang), catalog)
        print(f"{catalog_path(lang)}: {len([m for m in catalog if m.id])} messages")


if __name__ == "__main__":
    update()
    sys.exit(0)

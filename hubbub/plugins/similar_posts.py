"""Similar posts: each article gets `similar_posts`, its closest articles by TF-IDF cosine.

Words come from the title, the tags and the body, with the title and tags weighted up because a
writer chooses them to say what the post is about. Ties in relevance go to the newer post; an
article is never its own neighbour.

The scoring works on numpy arrays: blog-sized corpora are small and very sparse, and a whole
site is scored again on every build (a new post changes every word's weight), so it must be fast:
- each post keeps only its SIMILAR_POSTS_TERMS strongest terms (TF-IDF weight), which bounds the
  work per post and drops words that say little about its topic;
- each term's posting list keeps the SIMILAR_POSTS_CANDIDATES_PER_TERM posts where it weighs most,
  so a word shared by thousands of posts cannot make scoring quadratic (on a site with fewer
  posts than that the cap changes nothing);
- a post is scored only against posts that share one of its terms;
- the words of each post are counted once and kept between builds (hubbub build's cache), by the
  post's title, tags and text.
Ties between equal weights are settled by the order of the words, never by how terms are numbered,
so a build from scratch and an incremental build find the same neighbours.

Settings (defaults in DEFAULTS): SIMILAR_POSTS_MAX (0 turns the plugin off), SIMILAR_POSTS_MIN_SCORE,
SIMILAR_POSTS_TITLE_WEIGHT, SIMILAR_POSTS_TAG_WEIGHT, SIMILAR_POSTS_BODY_WEIGHT,
SIMILAR_POSTS_TERMS, SIMILAR_POSTS_CANDIDATES_PER_TERM, SIMILAR_POSTS_STOPWORDS (extra words).
"""

from __future__ import annotations

import hashlib
import html
import logging
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from pelican import signals

log = logging.getLogger("hubbub.similar_posts")

DEFAULTS = {
    "SIMILAR_POSTS_MAX": 5,
    "SIMILAR_POSTS_MIN_SCORE": 0.05,
    "SIMILAR_POSTS_TITLE_WEIGHT": 3.0,
    "SIMILAR_POSTS_TAG_WEIGHT": 3.0,
    "SIMILAR_POSTS_BODY_WEIGHT": 1.0,
    "SIMILAR_POSTS_TERMS": 24,
    "SIMILAR_POSTS_CANDIDATES_PER_TERM": 64,
    "SIMILAR_POSTS_STOPWORDS": (),
}

STOPWORDS = frozenset(
    """
    about above after again against all also although always among and another any are around
    because been before being below between both but can cannot could did does doing done down
    during each either else even ever every few for from further get gets getting give given going
    got had has have having her here hers herself him himself his how however into its itself just
    know last least less let like made make makes making many may might more most much must myself
    near need never new next not now off often once one only other others our ours ourselves out
    over own per put quite rather really said same say says see seem seems several she should
    since some something still such than that the their theirs them themselves then there these
    they thing things think this those though three through thus too two under until upon use
    used using very want was way ways well were what when where whether which while who whom whose
    why will with within without would yet you your yours yourself yourselves
    don doesn didn isn aren wasn weren haven hasn hadn couldn shouldn wouldn
    """.split()
)

_TAGS = re.compile(r"<[^>]*>")
_WORDS = re.compile(r"[^\W\d_][^\W_]*")


@dataclass(frozen=True)
class Weights:
    title: float = 3.0
    tags: float = 3.0
    body: float = 1.0


def setting(settings: dict, name: str):
    return settings.get(name, DEFAULTS[name])


class Terms:
    """Turns text into normalised terms: lower case, no stopwords, plural 's' folded, memoised."""

    def __init__(self, extra_stopwords=()):
        self.stopwords = STOPWORDS | {w.lower() for w in extra_stopwords}
        self._memo: dict[str, str | None] = {}

    def _normalise(self, word: str) -> str | None:
        if len(word) < 3 or word in self.stopwords:
            return None
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
            word = word[:-1]
        return None if len(word) < 3 or word in self.stopwords else word

    def counts(self, text: str) -> Counter:
        memo = self._memo
        counts: Counter = Counter()
        for word, n in Counter(_WORDS.findall(text.lower())).items():
            if word not in memo:
                memo[word] = self._normalise(word)
            term = memo[word]
            if term:
                counts[term] += n
        return counts


def plain_text(html_text: str) -> str:
    return html.unescape(_TAGS.sub(" ", html_text or ""))


def weighted_terms(title: str, tags, body: str, terms: Terms, weights: Weights) -> dict[str, float]:
    """Term frequencies (sublinear per field) with the field weights applied.

    A tag counts both as its words and as a whole-tag term, so "social media" the tag is closer
    to another "social media" tag than to a post that merely mentions social and media.
    """
    weighted: dict[str, float] = defaultdict(float)
    tag_text = " ".join(tags)
    for text, weight in ((plain_text(title), weights.title), (tag_text, weights.tags), (body, weights.body)):
        for term, n in terms.counts(text).items():
            weighted[term] += weight * (1.0 + math.log(n))
    for tag in tags:
        weighted["#" + tag.lower()] += weights.tags
    return weighted


@dataclass
class Vectors:
    """Unit-length TF-IDF vectors: document i has terms[start[i]:start[i+1]] with those weights."""

    terms: np.ndarray
    weights: np.ndarray
    start: np.ndarray

    def __len__(self) -> int:
        return len(self.start) - 1

    def __getitem__(self, i: int) -> dict[int, float]:
        span = slice(self.start[i], self.start[i + 1])
        return dict(zip(self.terms[span].tolist(), self.weights[span].tolist(), strict=True))

    @classmethod
    def from_dicts(cls, vectors: list[dict[str, float]]) -> Vectors:
        """Vectors given as {term: weight} (taken as they are, not normalised)."""
        vocabulary = Vocabulary()
        encoded = [vocabulary.encode(v) for v in vectors]
        lengths = [len(e.ids) for e in encoded]
        return cls(np.concatenate([e.ids for e in encoded]), np.concatenate([e.tf for e in encoded]),
                   np.r_[0, np.cumsum(lengths)])


@dataclass
class Encoded:
    """A document's weighted terms as arrays: term ids (a Vocabulary's) in the order of the words."""

    ids: np.ndarray
    tf: np.ndarray


class Vocabulary(dict):
    """term -> id, growing as new words appear; ids never decide an order."""

    def encode(self, document: dict[str, float]) -> Encoded:
        words = sorted(document)
        ids = np.fromiter((self.setdefault(w, len(self)) for w in words), dtype=np.int64, count=len(words))
        return Encoded(ids, np.fromiter((document[w] for w in words), dtype=np.float64, count=len(words)))


def _ranks(groups: np.ndarray) -> np.ndarray:
    """For entries sorted by group: each entry's position within its group (0, 1, 2, ...)."""
    if not len(groups):
        return groups
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, counts)


def tfidf_vectors(documents: list[Encoded | dict], max_terms: int) -> Vectors:
    """Unit-length TF-IDF vectors, each cut to its `max_terms` strongest terms (ties: word order)."""
    if documents and isinstance(documents[0], dict):
        vocabulary = Vocabulary()
        documents = [vocabulary.encode(d) for d in documents]
    n = len(documents)
    lengths = np.fromiter((len(d.ids) for d in documents), dtype=np.int64, count=n)
    ids = np.concatenate([d.ids for d in documents]) if n else np.zeros(0, np.int64)
    tf = np.concatenate([d.tf for d in documents]) if n else np.zeros(0)
    doc = np.repeat(np.arange(n), lengths)
    df = np.bincount(ids)
    weights = tf * (np.log((1 + n) / (1 + df[ids])) + 1.0)
    order = np.lexsort((-weights, doc))  # by document, strongest first; stable: word order breaks ties
    keep = order[_ranks(doc[order]) < max_terms]
    doc, ids, weights = doc[keep], ids[keep], weights[keep]
    norms = np.sqrt(np.bincount(doc, weights * weights, minlength=n))
    weights = weights / np.where(norms > 0, norms, 1.0)[doc]
    start = np.searchsorted(doc, np.arange(n + 1))
    return Vectors(ids, weights, start)


def rank_similar(vectors: Vectors, recency, limit: int, min_score: float, per_term: int) -> list[list[int]]:
    """For each vector, the indexes of up to `limit` most similar others, best first.

    `recency[i]` orders ties (higher = newer wins). Scores below `min_score` are not listed.
    """
    n = len(vectors)
    recency = np.asarray(recency, dtype=np.float64)
    doc = np.repeat(np.arange(n), np.diff(vectors.start))
    # Posting lists: per term, the documents where it weighs most (ties: the earlier document).
    order = np.lexsort((-vectors.weights, vectors.terms))
    order = order[_ranks(vectors.terms[order]) < per_term]
    posting_terms, posting_docs, posting_weights = vectors.terms[order], doc[order], vectors.weights[order]
    vocabulary_size = int(vectors.terms.max()) + 1 if len(vectors.terms) else 0
    posting_start = np.searchsorted(posting_terms, np.arange(vocabulary_size + 1))
    results = []
    for i in range(n):
        span = slice(vectors.start[i], vectors.start[i + 1])
        terms, weights = vectors.terms[span], vectors.weights[span]
        if not len(terms):
            results.append([])
            continue
        firsts, lasts = posting_start[terms], posting_start[terms + 1]
        sizes = lasts - firsts
        index = np.repeat(firsts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
        # Every document's score at once; those no term reaches score 0 (weights are positive).
        totals = np.bincount(posting_docs[index], np.repeat(weights, sizes) * posting_weights[index], minlength=n)
        candidates = np.flatnonzero(totals)
        scores = totals[candidates]
        others = candidates != i
        candidates, scores = candidates[others], scores[others]
        if not len(scores):
            results.append([])
            continue
        # Everything tied with the limit-th best is considered, then ties go to the newer post.
        kth = np.partition(scores, -limit)[-limit] if len(scores) > limit else scores.min()
        chosen = (scores >= kth - 1e-9) & (scores >= min_score)
        candidates, scores = candidates[chosen], np.round(scores[chosen], 9)
        best = np.lexsort((-recency[candidates], -scores))[:limit]
        results.append(candidates[best].tolist())
    return results


def _words_cache(weights: Weights, stopwords: tuple) -> dict:
    """The build's cache of counted words (a plain dict outside a Hubbub build)."""
    from hubbub.build import current_build

    build = current_build()
    if build is None:
        return {}
    cache = build.cache("similar-posts-words")
    settings_key = (weights, stopwords)
    if cache.get("settings") != settings_key:
        cache.clear()
        cache["settings"] = settings_key
    return cache


def find_similar_posts(generator) -> None:
    """Handler of article_generator_finalized: sets `similar_posts` on every published article."""
    settings = generator.settings
    limit = int(setting(settings, "SIMILAR_POSTS_MAX"))
    articles = list(generator.articles)
    for article in articles:
        article.similar_posts = []
    if limit <= 0 or len(articles) < 2:
        return
    started = time.perf_counter()
    weights = Weights(
        title=float(setting(settings, "SIMILAR_POSTS_TITLE_WEIGHT")),
        tags=float(setting(settings, "SIMILAR_POSTS_TAG_WEIGHT")),
        body=float(setting(settings, "SIMILAR_POSTS_BODY_WEIGHT")),
    )
    stopwords = tuple(setting(settings, "SIMILAR_POSTS_STOPWORDS"))
    terms = Terms(stopwords)
    # The words of each post, counted once and kept between builds (see the module docstring).
    cache = _words_cache(weights, stopwords)
    vocabulary = cache.setdefault("vocabulary", Vocabulary())
    known = cache.setdefault("documents", {})
    seen = {}
    documents, keys = [], []
    for article in articles:
        tags = [tag.name for tag in getattr(article, "tags", ())]
        content = getattr(article, "_content", "") or ""
        key = hashlib.blake2b("\x1f".join([article.title, *tags, content]).encode("utf-8", "surrogatepass"),
                              digest_size=16).digest()
        encoded = known.get(key)
        if encoded is None:
            encoded = vocabulary.encode(weighted_terms(article.title, tags, plain_text(content), terms, weights))
        seen[key] = encoded
        documents.append(encoded)
        keys.append(key)
    cache["documents"] = seen  # posts gone since the last build are forgotten
    recency = [article.date.timestamp() for article in articles]
    options = (int(setting(settings, "SIMILAR_POSTS_TERMS")), limit, float(setting(settings, "SIMILAR_POSTS_MIN_SCORE")),
               int(setting(settings, "SIMILAR_POSTS_CANDIDATES_PER_TERM")))
    # The same posts in the same order as last time (a build after an approval or a profile edit):
    # the same ranking, without working it out again.
    inputs = hashlib.blake2b(repr((options, recency)).encode() + b"".join(keys), digest_size=16).digest()
    kept = cache.get("ranked")
    if kept is not None and kept[0] == inputs:
        ranked = kept[1]
    else:
        max_terms, _, min_score, per_term = options
        ranked = rank_similar(tfidf_vectors(documents, max_terms), recency, limit, min_score, per_term)
        cache["ranked"] = (inputs, ranked)
    for article, neighbours in zip(articles, ranked, strict=False):
        article.similar_posts = [articles[j] for j in neighbours]
    log.debug("similar posts for %d articles in %.2fs", len(articles), time.perf_counter() - started)


def register():
    signals.article_generator_finalized.connect(find_similar_posts)

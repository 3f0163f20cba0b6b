"""Similar posts: each article gets `similar_posts`, its closest articles by TF-IDF cosine.

Words come from the title, the tags and the body, with the title and tags weighted up because a
writer chooses them to say what the post is about. Ties in relevance go to the newer post; an
article is never its own neighbour.

Why not scikit-learn: it would bring numpy and scipy (tens of megabytes of compiled code) into
every site build for one sparse dot product. Blog-sized corpora are small and very sparse, so a
dict-based implementation with an inverted index does the job in one to two seconds for 5,000
posts (bench/bench_plugins.py measures it):
- each post keeps only its SIMILAR_POSTS_TERMS strongest terms (TF-IDF weight), which bounds the
  work per post and drops words that say little about its topic;
- each term's posting list keeps the SIMILAR_POSTS_CANDIDATES_PER_TERM posts where it weighs most,
  so a word shared by thousands of posts cannot make scoring quadratic (on a site with fewer
  posts than that the cap changes nothing);
- a post is scored only against posts that share one of its terms.
Scoring exactly, with neither cap, took about 40 times longer on 5,000 generated posts, for
neighbours only about 10% closer by cosine.

Settings (defaults in DEFAULTS): SIMILAR_POSTS_MAX (0 turns the plugin off), SIMILAR_POSTS_MIN_SCORE,
SIMILAR_POSTS_TITLE_WEIGHT, SIMILAR_POSTS_TAG_WEIGHT, SIMILAR_POSTS_BODY_WEIGHT,
SIMILAR_POSTS_TERMS, SIMILAR_POSTS_CANDIDATES_PER_TERM, SIMILAR_POSTS_STOPWORDS (extra words).
"""

from __future__ import annotations

import heapq
import html
import logging
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from operator import itemgetter

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


def tfidf_vectors(documents: list[dict[str, float]], max_terms: int) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors, each cut to its `max_terms` strongest terms."""
    n = len(documents)
    df = Counter(term for doc in documents for term in doc)
    idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
    vectors = []
    for doc in documents:
        weights = [(term, tf * idf[term]) for term, tf in doc.items()]
        if len(weights) > max_terms:
            weights = heapq.nlargest(max_terms, weights, key=itemgetter(1))
        norm = math.sqrt(sum(w * w for _, w in weights)) or 1.0
        vectors.append({term: w / norm for term, w in weights})
    return vectors


def rank_similar(vectors, recency, limit: int, min_score: float, per_term: int) -> list[list[int]]:
    """For each vector, the indexes of up to `limit` most similar others, best first.

    `recency[i]` orders ties (higher = newer wins). Scores below `min_score` are not listed.
    """
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings[term].append((i, weight))
    for term, posting in postings.items():
        if len(posting) > per_term:
            postings[term] = heapq.nlargest(per_term, posting, key=itemgetter(1))

    results = []
    for i, vector in enumerate(vectors):
        scores: dict[int, float] = {}
        get = scores.get
        for term, weight in vector.items():
            for j, other in postings[term]:
                scores[j] = get(j, 0.0) + weight * other
        scores.pop(i, None)
        # Take a few more than needed by score alone, then settle ties by recency.
        pool = heapq.nlargest(limit + 8, scores.items(), key=itemgetter(1))
        if len(pool) == limit + 8 and pool[-1][1] >= pool[limit - 1][1] - 1e-9:
            cutoff = pool[limit - 1][1] - 1e-9  # a tie runs past the pool: consider all its members
            pool = [item for item in scores.items() if item[1] >= cutoff]
        pool = [(j, s) for j, s in pool if s >= min_score]
        pool.sort(key=lambda item: (round(item[1], 9), recency[item[0]]), reverse=True)
        results.append([j for j, _ in pool[:limit]])
    return results


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
    terms = Terms(setting(settings, "SIMILAR_POSTS_STOPWORDS"))
    documents = [
        weighted_terms(
            article.title,
            [tag.name for tag in getattr(article, "tags", ())],
            plain_text(getattr(article, "_content", "")),
            terms,
            weights,
        )
        for article in articles
    ]
    vectors = tfidf_vectors(documents, int(setting(settings, "SIMILAR_POSTS_TERMS")))
    recency = [article.date.timestamp() for article in articles]
    ranked = rank_similar(
        vectors,
        recency,
        limit,
        float(setting(settings, "SIMILAR_POSTS_MIN_SCORE")),
        int(setting(settings, "SIMILAR_POSTS_CANDIDATES_PER_TERM")),
    )
    for article, neighbours in zip(articles, ranked, strict=False):
        article.similar_posts = [articles[j] for j in neighbours]
    log.debug("similar posts for %d articles in %.2fs", len(articles), time.perf_counter() - started)


def register():
    signals.article_generator_finalized.connect(find_similar_posts)

"""Similar posts (plugins/similar_posts.py): real Pelican builds of generated sites."""

from __future__ import annotations

import math
import random
import re
from collections import Counter

import pytest
from profiles_helpers import build, links, make_site, plugin_module, read, section, write_post

TOPICS = {
    "gardening": "soil compost seedlings tomatoes pruning mulch perennials watering greenhouse roses weeds "
                 "fertiliser bulbs hedges lawn harvest shrubs borders vegetables herbs",
    "cycling": "bicycle gears saddle pedals chain tyres puncture helmet route climb descent cadence peloton "
               "frame brakes commute handlebars wheels sprint touring",
    "baking": "flour dough yeast oven sourdough butter sugar crust knead loaf pastry icing whisk batter cake "
              "biscuits proving rye scones bread",
    "astronomy": "telescope galaxy nebula planets orbit comet eclipse constellation stars meteor lunar saturn "
                 "jupiter observatory eyepiece aperture cosmos nova asteroid horizon",
}
# Words and tags every topic uses: they must not pull posts across topics.
FILLER = ("weekend morning friends people started simple great important little often better enjoy remember "
          "honest lesson mistake favourite season early patience practice notes plan budget beginner").split()
SHARED_TAGS = ["beginners", "weekend", "tips"]


def generated_corpus(site, per_topic: int, seed: int = 7) -> dict[str, str]:
    """Posts on clearly separated topics, sharing filler words, generic tags and a few words
    borrowed from the other topics. Returns slug -> topic."""
    rng = random.Random(seed)
    topic_of = {}
    day = 0
    for topic, vocabulary in TOPICS.items():
        words = vocabulary.split()
        others = [w for t, v in TOPICS.items() if t != topic for w in v.split()]
        for n in range(per_topic):
            day += 1
            slug = f"{topic}-{n}"
            title = f"{rng.choice(words).title()} and {rng.choice(words)}: {rng.choice(FILLER)} {rng.choice(FILLER)}"
            tags = rng.sample(words[:6], 2) + [rng.choice(SHARED_TAGS)]
            sentences = []
            for _ in range(rng.randint(8, 12)):
                sentence = []
                for _ in range(rng.randint(8, 14)):
                    draw = rng.random()  # half on topic, some words borrowed from other topics, the rest filler
                    pool = words if draw < 0.5 else others if draw < 0.6 else FILLER
                    sentence.append(rng.choice(pool))
                sentences.append(" ".join(sentence).capitalize() + ".")
            date = f"20{10 + day // 28:02d}-{1 + day % 12:02d}-{1 + day % 28:02d} 10:00"
            write_post(site, slug, title, "Test Writer", date, tags, " ".join(sentences))
            topic_of[slug] = topic
    return topic_of


def similar_slugs(out, slug: str) -> list[str]:
    block = section(read(out, f"posts/{slug}/index.html"), "similar-posts")
    return [re.search(r"posts/([^/]+)/", href).group(1) for href, _ in links(block)]


@pytest.fixture(scope="module")
def topical_site(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("topics"))
    topic_of = generated_corpus(site, per_topic=10)
    return build(site), topic_of


def test_neighbours_are_almost_all_from_the_same_topic(topical_site):
    out, topic_of = topical_site
    listed = same = 0
    for slug, topic in topic_of.items():
        neighbours = similar_slugs(out, slug)
        assert len(neighbours) == 5, slug  # the default SIMILAR_POSTS_MAX, with 9 same-topic peers available
        assert slug not in neighbours
        assert len(set(neighbours)) == len(neighbours)
        in_topic = sum(topic_of[n] == topic for n in neighbours)
        assert in_topic >= 4, (slug, neighbours)
        listed += len(neighbours)
        same += in_topic
    assert same / listed >= 0.95


def test_section_has_its_heading_and_links(topical_site):
    out, _ = topical_site
    page = read(out, "posts/baking-3/index.html")
    block = section(page, "similar-posts")
    assert '<h2 id="similar-title">Similar posts</h2>' in block
    assert all(href.startswith("../../posts/") for href, _ in links(block))


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("small"), "SIMILAR_POSTS_MAX = 2")
    text = "Sourdough starter needs flour, water and patience before the loaf rises in the oven."
    write_post(site, "twin-old", "Sourdough starter basics", "A", "2020-01-01 10:00", ["baking"], text)
    write_post(site, "twin-new", "Sourdough starter basics", "B", "2021-01-01 10:00", ["baking"], text)
    write_post(site, "probe", "Sourdough starter basics", "C", "2020-06-01 10:00", ["baking"], text)
    write_post(site, "kin", "Sourdough loaf in a cold oven", "A", "2022-01-01 10:00", ["baking"],
               "A loaf of sourdough baked from a cold oven.")
    write_post(site, "loner", "Quantum chromodynamics", "D", "2019-01-01 10:00", ["physics"],
               "Gluons bind quarks inside hadrons through colour charge.")
    return build(site)


def test_the_limit_setting_is_respected_and_ties_go_to_the_newer_post(small_site):
    assert similar_slugs(small_site, "probe") == ["twin-new", "twin-old"]  # equal scores: newer first
    assert similar_slugs(small_site, "twin-old") == ["twin-new", "probe"]
    for slug in ("twin-old", "twin-new", "probe", "kin"):
        neighbours = similar_slugs(small_site, slug)
        assert 1 <= len(neighbours) <= 2 and slug not in neighbours


def test_a_post_with_nothing_in_common_has_no_section(small_site):
    page = read(small_site, "posts/loner/index.html")
    assert "Similar posts" not in page and "similar-posts" not in page
    assert all("loner" not in similar_slugs(small_site, slug) for slug in ("probe", "kin", "twin-old"))


def test_zero_turns_the_feature_off(tmp_path):
    site = make_site(tmp_path, "SIMILAR_POSTS_MAX = 0")
    write_post(site, "one", "Compost heaps", "A", "2020-01-01 10:00", ["gardening"], "Compost and soil.")
    write_post(site, "two", "Compost bins", "A", "2020-02-01 10:00", ["gardening"], "Compost and soil.")
    assert "Similar posts" not in read(build(site), "posts/one/index.html")


# The ranking itself, without Pelican: random sparse vectors exercise the caps and the tie rule.

def test_ranking_never_lists_itself_respects_limits_and_orders_by_score():
    similar = plugin_module("similar_posts")
    rng = random.Random(3)
    vocabulary = [f"t{n}" for n in range(60)]
    documents = [{term: rng.random() * 3 for term in rng.sample(vocabulary, rng.randint(1, 12))} for _ in range(300)]
    vectors = similar.tfidf_vectors(documents, max_terms=8)
    assert all(len(v) <= 8 for v in vectors)
    recency = [rng.random() for _ in vectors]
    ranked = similar.rank_similar(vectors, recency, limit=4, min_score=0.0, per_term=10_000)
    for i, neighbours in enumerate(ranked):
        assert i not in neighbours and len(neighbours) <= 4
        exact = [sum(w * vectors[j].get(t, 0.0) for t, w in vectors[i].items()) for j in neighbours]
        assert exact == sorted(exact, reverse=True)
        best_other = max((sum(w * vectors[j].get(t, 0.0) for t, w in vectors[i].items())
                          for j in range(len(vectors)) if j != i), default=0.0)
        if neighbours:
            assert exact[0] == pytest.approx(best_other)


def test_ties_beyond_the_first_candidates_are_settled_by_recency():
    similar = plugin_module("similar_posts")
    vectors = similar.Vectors.from_dicts([{"x": 1.0}] * 30)  # everyone ties with everyone
    recency = list(range(30))
    ranked = similar.rank_similar(vectors, recency, limit=3, min_score=0.0, per_term=1000)
    assert ranked[0] == [29, 28, 27] and ranked[29] == [28, 27, 26]


def test_terms_drop_stopwords_and_fold_plurals():
    similar = plugin_module("similar_posts")
    counts = similar.Terms().counts("The routers and the router's strategies; a strategy for networks, don't.")
    assert counts == {"router": 2, "strategy": 2, "network": 1}


def test_capped_ranking_still_finds_topical_neighbours_on_a_bigger_corpus():
    """With term and posting caps far below the corpus size (as on a 5,000-post site)."""
    similar = plugin_module("similar_posts")
    rng = random.Random(11)
    vocabularies = [[f"{topic}{n}" for n in range(25)] for topic in "abcd"]
    shared = [f"common{n}" for n in range(30)]
    documents, topics = [], []
    for i in range(400):
        topic = i % 4
        words = [rng.choice(vocabularies[topic]) if rng.random() < 0.5 else rng.choice(shared) for _ in range(80)]
        documents.append({w: 1.0 + math.log(c) for w, c in Counter(words).items()})
        topics.append(topic)
    vectors = similar.tfidf_vectors(documents, max_terms=12)
    ranked = similar.rank_similar(vectors, list(range(400)), limit=5, min_score=0.0, per_term=16)
    listed = [(i, j) for i, row in enumerate(ranked) for j in row]
    assert all(len(row) == 5 and i not in row for i, row in enumerate(ranked))
    assert sum(topics[i] == topics[j] for i, j in listed) / len(listed) >= 0.95


def test_a_build_where_no_post_changed_keeps_the_ranking(tmp_path, monkeypatch):
    """An approval or a profile edit changes no post: the ranking is taken from the last build;
    an edited post makes it be worked out again. Either way the site is what --full writes."""
    import build_helpers

    from hubbub.plugins import similar_posts

    site = build_helpers.make_site(tmp_path / "site", posts=10)
    build_helpers.build(site)
    calls = []
    real = similar_posts.rank_similar
    monkeypatch.setattr(similar_posts, "rank_similar", lambda *args: calls.append(1) or real(*args))
    build_helpers.write_thread(site, "post-1", [(1, None, "A Reader"), (2, 1, "Another Reader")])
    build_helpers.assert_same_as_full(site, tmp_path)
    assert len(calls) == 1  # only the --full build worked it out
    build_helpers.write_post(site, 4, title="Post four, now about pricing and nothing else")
    build_helpers.assert_same_as_full(site, tmp_path)
    assert len(calls) == 3

"""Full-text search (issue 14): word-based matching with stems, phrases, prefixes, OR and exclusions on both
databases; a 400 naming `q` for malformed syntax; relevance order and snippets; Unicode normalisation;
`publisher=` case-insensitive and comma-safe; the same ids in the same relevance order on SQLite and
PostgreSQL."""

from __future__ import annotations

import html
import json
import re
import unicodedata

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.migrate import upgrade
from app.search.query import QuerySyntaxError, parse
from app.search.sql import snippet as _snippet
from app.search.text import words
from app.settings import Settings
from tests.helpers import DATA, POSTGRES_URL, all_pages, ids, load_into, problem, yaml_records


def texts(event: dict) -> str:
    """Every text of an event document that `q` searches (except topic descriptions, which it does not)."""
    parts = [event["title"], event["summary"], event["notes"] or "", (event["location"] or {}).get("name") or ""]
    parts += [q["text"] for q in event["quotes"]]
    parts += [p["actor"]["name"] for p in event["participants"]]
    parts += [t["label"] for t in event["topics"]]
    return " ".join(parts)


def test_q_matches_words_not_substrings(data_client):
    """`aid` is a word, not any text containing a-i-d (`said`, `paid`); `a` no longer returns everything."""
    found = data_client.get("/v1/events", params={"q": "aid", "limit": 500}).json()["items"]
    assert found, "the brief's data has an aid event"
    for event in found:
        assert "aid" in words(texts(event)), event["id"]
    everything = all_pages(data_client, "/v1/events", 500)
    containing = [e["id"] for e in everything if "aid" in texts(e).lower()]
    assert len(containing) > len(found), "some events contain 'aid' only inside other words"
    assert data_client.get("/v1/events", params={"q": "a"}).json()["total"] < len(everything)


def test_words_match_their_other_forms_and_all_of_a_topic(data_client):
    """`Kashmir mediation` finds every event of the kashmir-mediation topic (mediate, mediation, mediator…)."""
    topic = {e["id"] for e in all_pages(data_client, "/v1/events", 500, topic="kashmir-mediation")}
    assert len(topic) >= 5
    found = set(ids(data_client.get("/v1/events", params={"q": "Kashmir mediation", "limit": 500})))
    assert topic <= found


def test_actors_are_found_by_office_title_and_id(data_client):
    assert "mike-pompeo" in ids(data_client.get("/v1/actors", params={"q": "Secretary of State"}))
    assert ids(data_client.get("/v1/actors", params={"q": "imran-khan"}))[:1] == ["imran-khan"]


def test_phrase_prefix_or_and_exclusion(data_client):
    sources = "/v1/sources"
    assert ids(data_client.get(sources, params={"q": '"tactical and transactional"'})) != []
    assert ids(data_client.get(sources, params={"q": '"transactional and tactical"'})) == []
    prefixed = data_client.get("/v1/events", params={"q": "mediat*", "limit": 500}).json()["items"]
    assert prefixed and all(re.search(r"\bmediat", texts(e), re.I) for e in prefixed)
    kashmir = set(ids(data_client.get("/v1/events", params={"q": "kashmir", "limit": 500})))
    without = set(ids(data_client.get("/v1/events", params={"q": "kashmir -mediation", "limit": 500})))
    mediation = set(ids(data_client.get("/v1/events", params={"q": "mediation", "limit": 500})))
    assert without == kashmir - mediation and without
    # upper-case NOT is `-` before the next term; lower-case `not` is a word
    assert set(ids(data_client.get("/v1/events", params={"q": "kashmir NOT mediation", "limit": 500}))) == without
    assert parse("kashmir not mediation").excluded == ()
    either = set(ids(data_client.get("/v1/events", params={"q": "kashmir OR mediation", "limit": 500})))
    assert either == kashmir | mediation


def test_q_combines_with_other_filters_as_one_condition(data_client):
    """An OR inside `q` stays inside it: with `type=visit`, every match is a visit."""
    either = data_client.get("/v1/events", params={"q": "kashmir OR trump", "limit": 500}).json()["items"]
    visits = data_client.get("/v1/events", params={"q": "kashmir OR trump", "type": "visit", "limit": 500}).json()
    assert {e["id"] for e in visits["items"]} == {e["id"] for e in either if e["type"] == "visit"}
    assert len(visits["items"]) < len(either)
    # with an actor, the list walks the actor's links (plan.Shape.WALK) and probes q per event
    khan = {e["id"] for e in all_pages(data_client, "/v1/events", 500, actor="imran-khan")}
    walked = ids(data_client.get("/v1/events", params={"q": "kashmir OR trump", "actor": "imran-khan", "limit": 500}))
    assert set(walked) == khan & {e["id"] for e in either} and walked
    facets = data_client.get("/v1/events/facets", params={"q": "kashmir OR trump", "facet": "type"}).json()
    assert sum(v["count"] for v in facets["facets"]["type"]) == len(either)


@pytest.mark.parametrize(
    "query",
    [
        '"unclosed phrase',
        "media*tion",
        "*",
        "OR kashmir",
        "kashmir OR",
        "kashmir OR OR talks",
        "-kashmir",
        "—",
        "kashmir -india OR pakistan",  # OR after an exclusion: it would bind to the word before (silently)
        "kashmir , OR trump",
        "NOT",  # NOT and '-' are operators: alone, trailing, spaced or doubled they exclude nothing
        "kashmir NOT",
        "NOT kashmir",
        "kashmir NOT NOT india",
        "kashmir NOT -india",
        "kashmir NOT OR india",
        "-",
        "kashmir -",
        "kashmir - india",
        "kash**",  # like `**`: one '*', ending a word
        "**",
    ],
)
@pytest.mark.parametrize("path", ["/v1/events", "/v1/actors", "/v1/citations", "/v1/topics", "/v1/sources"])
def test_malformed_queries_are_a_400_naming_q(client, path, query):
    problem(client.get(path, params={"q": query}), 400, "q")


def test_relevance_needs_q(client):
    problem(client.get("/v1/events", params={"sort": "relevance"}), 400, "sort")
    problem(client.get("/v1/topics", params={"sort": "relevance"}), 400, "sort")


def test_relevance_pages_every_match_once_best_first_with_snippets(data_client):
    params = {"q": "kashmir OR pakistan OR trump", "sort": "relevance"}
    whole = data_client.get("/v1/events", params=params | {"limit": 500}).json()
    paged = all_pages(data_client, "/v1/events", 3, **params)
    assert [e["id"] for e in paged] == [e["id"] for e in whole["items"]]
    assert len(paged) == whole["total"] > 10
    # A record naming Kashmir in its title twice-weighted stream ranks above one naming it only in notes.
    top = data_client.get("/v1/events", params={"q": "kashmir", "sort": "relevance", "limit": 500}).json()
    first, last = top["items"][0], top["items"][-1]
    assert "kashmir" in words(first["title"]) and "kashmir" not in words(last["title"])
    snippet = top["snippets"][first["id"]]
    assert "<mark>Kashmir</mark>" in snippet
    assert data_client.get("/v1/events").json()["snippets"] is None


def test_publisher_is_case_insensitive_and_takes_commas(data_client):
    def fold(text: str | None) -> str:
        return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())

    citations = yaml_records(DATA, "citations")
    for publisher in {c["publisher"] for c in citations if c.get("publisher")}:
        expected = sorted(c["id"] for c in citations if fold(c.get("publisher")) == fold(publisher))
        for spelling in (publisher, publisher.upper(), publisher.lower()):
            found = sorted(ids(data_client.get("/v1/citations", params={"publisher": spelling, "limit": 500})))
            assert found == expected, spelling
    assert any("," in c.get("publisher", "") for c in citations), "a publisher name has a comma"
    both = {"publisher": ["reuters", "Ministry of Foreign Affairs, Pakistan"], "limit": 500}
    assert len(ids(data_client.get("/v1/citations", params=both))) == 3


UNICODE_BUNDLE = {
    "sources": [{"id": "src", "title": "Quelle", "sections": [{"key": "body", "title": "Body", "paragraphs": 3}]}],
    "topics": [{"id": "etats-unis", "label": "ÉTATS-UNIS ET SUISSE"}, {"id": "other", "label": "Other"}],
    "actors": [{"id": "renee", "name": "Renée Dœuf", "kind": "person"}],
    "events": [
        {
            "id": "zurich-talks",
            "type": "meeting",
            "title": "Talks in Zürich",
            "summary": "Delegations meet at the Straße café; “ﬁnal” text agreed.",
            "date": "2019-05-02",
            "location": {"name": "Zürich", "country": "CH"},
            "participants": [{"actor": "renee", "role": "participant"}],
            "topics": ["etats-unis"],
            "locators": [{"source": "src", "section": "body", "paragraph": 1}],
        },
        {
            "id": "zurich-plain",
            "type": "meeting",
            "title": "Talks in Zurich",
            "summary": "Spelt without the diaeresis.",
            "date": "2019-05-03",
            "participants": [{"actor": "renee", "role": "host"}],
            "topics": ["other"],
            "locators": [{"source": "src", "section": "body", "paragraph": 2}],
        },
        {
            "id": "beijing-talks",
            "type": "meeting",
            "title": "关于和平谈判的会议在北京举行",  # "a meeting on peace negotiations held in Beijing": no spaces
            "summary": "双方同意继续和平谈判。" * 40,  # a 440-character run of Chinese
            "date": "2019-05-04",
            "participants": [{"actor": "renee", "role": "host"}],
            "topics": ["other"],
            "locators": [{"source": "src", "section": "body", "paragraph": 3}],
        },
        {
            "id": "long-token",
            "type": "meeting",
            "title": "Peace talks resume",
            "summary": "Pasted: " + "x" * 5000 + " then the peace, talks went on; talks about peace.",
            "date": "2019-05-05",
            "participants": [{"actor": "renee", "role": "host"}],
            "topics": ["other"],
            "locators": [{"source": "src", "section": "body", "paragraph": 3}],
        },
    ],
}


@pytest.fixture(scope="module")
def unicode_client(databases, tmp_path_factory):
    """One database per backend for the module (each new PostgreSQL database costs a drop at the end)."""
    folder = tmp_path_factory.mktemp("unicode")
    (folder / "bundle.json").write_text(json.dumps(UNICODE_BUNDLE, ensure_ascii=False))
    url = databases.new()
    upgrade(url)
    load_into(url, folder)
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0))
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/v1/events", "zu\u0308rich", ["zurich-talks"]),  # decomposed query, composed record
        ("/v1/events", "ZÜRICH", ["zurich-talks"]),
        ("/v1/events", "zurich", ["zurich-plain"]),  # diacritics are kept: a different word
        ("/v1/events", "strasse", ["zurich-talks"]),  # ß folds to ss
        ("/v1/events", "final", ["zurich-talks"]),  # the ligature ﬁ is NFKC fi
        ("/v1/events", "e\u0301tats-unis", ["zurich-talks"]),  # by its topic label, decomposed
        ("/v1/events", "renée talks", ["zurich-talks", "zurich-plain", "long-token"]),  # by a participant's name
        ("/v1/topics", "ÉTATS-UNIS ET SUISSE", ["etats-unis"]),  # accented capitals, the exact label
        ("/v1/topics", "états-unis", ["etats-unis"]),
        ("/v1/actors", "DŒUF", ["renee"]),
        ("/v1/events", "谈判", ["beijing-talks"]),  # two characters inside a longer run (CJK bigrams)
        ("/v1/events", "北京", ["beijing-talks"]),
        ("/v1/events", "和平谈判", ["beijing-talks"]),  # a phrase of its bigrams: contiguous, in order
        ("/v1/events", "谈和平判", []),  # the same characters in another order
        ("/v1/events", "北京 会议", ["beijing-talks"]),
    ],
)
def test_unicode_is_normalised_and_case_folded(unicode_client, path, query, expected):
    assert ids(unicode_client.get(path, params={"q": query})) == expected


SNIPPET_TEXT = 240  # app.search.sql.SNIPPET_CHARS, restated: the bound the README documents


def shown(snippet: str) -> str:
    """A snippet's text as a reader sees it: marks and ellipses removed, entities decoded."""
    return html.unescape(re.sub(r"</?mark>", "", snippet)).removeprefix("… ").removesuffix(" …")


@pytest.mark.parametrize(
    ("query", "event", "marked"),
    [
        ("谈判", "beijing-talks", ["谈判"]),
        ("和平谈判", "beijing-talks", ["和平谈判"]),
        ("继续", "beijing-talks", ["继续"]),  # only in the 440-character run of the summary
        ("xxxx*", "long-token", ["x" * 5000]),  # the 5,000-character word itself, cut to the bound
        ("went", "long-token", ["went"]),  # after the 5,000-character word
    ],
)
def test_snippets_are_bounded_in_characters_and_mark_cjk_words(unicode_client, query, event, marked):
    body = unicode_client.get("/v1/events", params={"q": query}).json()
    assert [i["id"] for i in body["items"]] == [event]
    snippet = body["snippets"][event]
    assert len(shown(snippet)) <= SNIPPET_TEXT
    marks = re.findall(r"<mark>(.*?)</mark>", snippet)
    assert marks and all(marked[0].startswith(m) or m == marked[0] for m in marks), snippet
    assert marks[0] == marked[0][: len(marks[0])] and len(marks[0]) >= min(len(marked[0]), 2)


@pytest.mark.parametrize(
    ("query", "marks"),
    [
        ('"peace talks"', ["Peace talks"]),  # a phrase is one mark
        ('"peace tal*"', ["Peace talks"]),
        ("peace talks", ["Peace", "talks"]),  # separate words stay separate marks
    ],
)
def test_a_phrase_is_marked_as_one_highlight(unicode_client, query, marks):
    body = unicode_client.get("/v1/events", params={"q": query}).json()
    assert [i["id"] for i in body["items"]] == ["long-token"]
    assert re.findall(r"<mark>(.*?)</mark>", body["snippets"]["long-token"]) == marks


@pytest.mark.parametrize(
    ("query", "marks"),
    [
        ('"peace talks"', ["peace, talks"]),  # punctuation between a phrase's words is inside its mark
        ('"talks about peace"', ["talks about peace"]),
        ("peace talks", ["peace", "talks", "talks", "peace"]),
        ("peace -went", ["peace", "peace"]),  # an excluded word is never marked
    ],
)
def test_snippet_marks_of_phrases_and_words(query, marks):
    text = "then the peace, talks went on; talks about peace."
    assert re.findall(r"<mark>(.*?)</mark>", _snippet([text], parse(query))) == marks


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/export.csv", "/v1/citations"])
@pytest.mark.parametrize(
    ("query_string", "parameter"), [("q=%FF", "q"), ("q=kashmir%C3", "q"), ("topic=%FF%FE", "topic")]
)
def test_a_parameter_that_is_not_utf8_is_a_400_saying_so(client, path, query_string, parameter):
    """Undecodable bytes are refused as such, not read as U+FFFD (for `q`, a search with no word in it)."""
    body = problem(client.get(f"{path}?{query_string}"), 400, parameter)
    assert "not valid UTF-8" in body["detail"]
    assert client.get(path, params={"q": "\ufffd kashmir"}).status_code == 200  # U+FFFD sent as UTF-8 is text


def test_not_is_minus_and_punctuation_only_separates_words():
    assert parse("kashmir NOT india") == parse("kashmir -india")
    assert parse('kashmir NOT "state visit"') == parse('kashmir -"state visit"')
    assert parse("kashmir -NOT") == parse("kashmir -not")  # `-NOT`, `"NOT"`: the word
    # no fields, proximity or boosts: their punctuation separates words (README "Search")
    assert parse("title:kashmir") == parse('"title kashmir"')
    assert parse("NEAR(kashmir india)") == parse('"near kashmir" india')
    assert parse("kashmir^2") == parse('"kashmir 2"')


def test_parse_tree():
    query = parse('Kashmir "tactical and transactional" mediat* talks OR dialogue -india')
    assert [[(t.tokens, t.stream, t.prefix) for t in c] for c in query.clauses] == [
        [(("kashmir",), "stems", False)],
        [(("tactic", "and", "transact"), "stems", False)],
        [(("mediat",), "words", True)],
        [(("talk",), "stems", False), (("dialogu",), "stems", False)],
    ]
    assert [t.tokens for t in query.excluded] == [("india",)]
    assert parse("imran-khan").clauses == parse('"imran khan"').clauses
    with pytest.raises(QuerySyntaxError):
        parse(" ".join(["word"] * 21))


# --------------------------------------------------------------------------------- the two databases agree

PARITY_QUERIES = [
    "ceasefire",
    "talks",
    "summit treaty",
    "trade OR tariff",
    "mediat*",
    "negotiat*",
    '"peace talks"',
    "security -military",
    "aid OR loan OR funding",
    "islamabad",
    "Washington",
    "khan",
    "popular envoy",
    "discusses water",
    "refugee",
    "sanction*",
    '"trade and"',
    "nuclear uranium",
    "supports OR rejects",
    "ambassador -embassy",
    "d*",
    "topic",
    "BORDER crisis",
    "pipeline gas OR oil",
]


def ordered_ids(url: str, resource, queries: list[str], sorts: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """Every match of each query, in list order, as the export path reads them (plan + compiled statement)."""
    from app.db import make_engine, session_factory
    from app.queries.plan import Purpose, compile_plan, plan

    engine = make_engine(url)
    answers = {}
    with session_factory(engine)() as session:
        for query in queries:
            for sort in sorts:
                compiled = compile_plan(plan(session, resource, {"q": query, "sort": sort}, Purpose.EXPORT))
                rows = session.execute(compiled.query).all()
                answers[query, sort] = [row[0] if isinstance(row[0], str) else row[0].id for row in rows]
    engine.dispose()
    return answers


@pytest.mark.timeout(600)
@pytest.mark.skipif(not POSTGRES_URL, reason="compares SQLite with PostgreSQL (set DIPEVENTS_TEST_POSTGRES_URL)")
def test_sqlite_and_postgresql_return_the_same_ids_in_the_same_relevance_order(tmp_path, tmp_path_factory):
    """Over generated data (bench/generate.py) and the bundled data, each query finds the same ids in the
    same order on both databases, by relevance and by date."""
    from app.queries.resources import ACTORS, CITATIONS, EVENTS
    from bench.generate import generate
    from tests.helpers import DatabaseFactory

    factory = DatabaseFactory("postgresql", tmp_path_factory)
    try:
        for name in ("generated", "data"):
            answers = []
            for url in (f"sqlite:///{tmp_path / (name + '.sqlite3')}", factory.new()):
                if name == "generated":
                    generate(url, 900, seed=5, progress=False)
                else:
                    upgrade(url)
                    load_into(url, DATA)
                answer = ordered_ids(url, EVENTS, PARITY_QUERIES, ("relevance", "date"))
                answer |= ordered_ids(url, ACTORS, ["khan", "minister OR secretary", "a*"], ("relevance",))
                answer |= ordered_ids(url, CITATIONS, ["trade*", "kashmir", "pakistan OR india"], ("relevance",))
                answers.append(answer)
            assert answers[0] == answers[1], name
            ordered = [v for (q, sort), v in answers[0].items() if sort == "relevance" and len(v) > 1]
            if name == "generated":
                assert len(ordered) >= 20, "at least 20 queries have an order to compare"
    finally:
        factory.drop_all()


def test_the_dotted_capital_i_folds_like_any_other_capital() -> None:
    # Python's casefold gives "i" + U+0307 for "İ": stored text and queries must still meet as plain "istanbul".
    from app.search.text import index_text, words

    assert words("İstanbul") == words("ISTANBUL") == words("istanbul") == ["istanbul"]
    assert "istanbul" in index_text(["İstanbul Process"], []).words.split()


def test_an_index_holds_at_most_max_field_words_whatever_the_record() -> None:
    # PostgreSQL's tsvector holds 1 MB: a record of 17,500 distinct 64-letter words was a 500 there at write time.
    from app.search.text import MAX_FIELD_WORDS, index_text

    long_words = [f"{n:064d}" for n in range(17_500)]
    indexed = index_text(["title"], [" ".join(long_words), " ".join(long_words)])
    assert len(indexed.words.split()) <= MAX_FIELD_WORDS + 2  # the field breaks between streams


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_common_words_tested_per_event_give_the_same_pages(data_client, monkeypatch, sort):
    """In date order, the matches of a word matching at least plan.BROAD records are tested per event as the
    date index delivers them (SQLite) instead of driving the query: the same pages and totals either way."""
    from app.queries import plan

    queries = ["kashmir", "kashmir OR trump", '"prime minister"', "pakistan -india", "mediat*"]

    def answers() -> list:
        found = []
        for q in queries:
            body = data_client.get("/v1/events", params={"q": q, "sort": sort, "limit": 7}).json()
            found.append((q, ids_of(all_pages(data_client, "/v1/events", 7, q=q, sort=sort)), body["total"]))
            found.append(data_client.get("/v1/events", params={"q": q, "type": "visit", "sort": sort}).json()["total"])
        return found

    collected = answers()
    assert all(r[1] for r in collected if isinstance(r, tuple)), "each query should find events"
    monkeypatch.setattr(plan, "BROAD", 1)
    seen: list[str] = []
    from sqlalchemy import event as sa_event

    engine = data_client.app.state.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731  (statement text)
    sa_event.listen(engine, "before_cursor_execute", listener)
    try:
        assert answers() == collected
    finally:
        sa_event.remove(engine, "before_cursor_execute", listener)
    if engine.dialect.name == "sqlite":
        assert any("JOIN events_fts ON" in s for s in seen) and any("+events.id IN" in s for s in seen)


def ids_of(items: list[dict]) -> list[str]:
    return [i["id"] for i in items]


def test_relevance_over_too_many_matches_is_a_400_naming_sort(data_client, monkeypatch):
    """sort=relevance ranks at most plan.RANK_LIMIT matches (every filter applied); beyond, a 400 naming `sort`
    says how to narrow, for pages and exports alike; date order is unaffected."""
    from app.queries import plan

    everything = data_client.get("/v1/events", params={"q": "kashmir", "limit": 500}).json()["total"]
    narrowed = {"q": "kashmir", "start": "2019-08", "end": "2020", "limit": 500}  # a filter narrows it
    within = data_client.get("/v1/events", params=narrowed).json()["total"]
    assert everything > within > 0
    monkeypatch.setattr(plan, "RANK_LIMIT", within)
    refused = problem(data_client.get("/v1/events", params={"q": "kashmir", "sort": "relevance"}), 400, "sort")
    assert "narrow" in refused["detail"]
    problem(data_client.get("/v1/events/export.csv", params={"q": "kashmir", "sort": "relevance"}), 400, "sort")
    ranked = data_client.get("/v1/events", params=narrowed | {"sort": "relevance"})
    assert ranked.status_code == 200 and ranked.json()["total"] == within
    assert data_client.get("/v1/events", params={"q": "kashmir", "sort": "date"}).json()["total"] == everything

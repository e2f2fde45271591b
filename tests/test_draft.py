"""Drafting a bundle from a brief's Markdown: the seed brief and a synthetic one."""

from __future__ import annotations

import pytest
import yaml

from app.importers.draft import draft_bundle, dump_draft
from app.schemas.bundle import Bundle
from tests.helpers import SEED, needs_seed

SOURCE_ID = "ips-brief-draft"


@pytest.fixture(scope="module")
def seed_bundle() -> dict:
    return draft_bundle(SEED.read_text(encoding="utf-8"), SOURCE_ID)


def _by_footnote(bundle: dict) -> dict[int, dict]:
    return {c["footnote"]: c for c in bundle["citations"]}


def _sections(bundle: dict) -> dict[str, dict]:
    return {s["key"]: s for s in bundle["sources"][0]["sections"]}


@needs_seed
def test_seed_citations(seed_bundle: dict) -> None:
    cites = _by_footnote(seed_bundle)
    assert sorted(cites) == list(range(1, 9))
    assert len(seed_bundle["citations"]) == 8
    assert all(c["source"] == SOURCE_ID for c in seed_bundle["citations"])

    fn1 = cites[1]
    assert fn1["authors"] == [{"family": "Mohammed", "given": "Arshad"}, {"family": "Landay", "given": "Jonathan"}]
    assert fn1["issued"] == "2018-01-05"
    assert fn1["url"] == "https://www.reuters.com/article/us-usa-pakistan-aid-idUSKBN1ET2DX"
    assert fn1["title"] == "U.S. suspends at least $900 million in security aid to Pakistan"  # "\$" unescaped
    assert fn1["type"] == "article-newspaper"

    assert cites[2]["container_title"] == "The Diplomat"
    assert cites[3]["title"] == "Ambassador Wells' Remarks on the 'China-Pakistan Economic Corridor'"
    assert cites[3]["type"] == "webpage"
    assert cites[5]["url"].startswith("http://")
    assert cites[5]["type"] == "webpage"
    assert cites[8]["publisher"] == "Anadolu Agency"
    assert cites[8]["issued"] == "2020-01-04"
    assert cites[8]["title"] == "US resumes Pakistan military training program"
    assert not any("notes" in c for c in seed_bundle["citations"])
    assert len({c["id"] for c in seed_bundle["citations"]}) == 8


@needs_seed
def test_seed_source_and_sections(seed_bundle: dict) -> None:
    source = seed_bundle["sources"][0]
    assert source["id"] == SOURCE_ID
    assert source["title"] == "Pakistan-US Relations"
    assert source["part"] == "Policy Brief, Part-5"
    assert source["series"] == "The Conduct of Pakistan's Foreign Policy: Structure, Strengths and Issues (2018-2020)"
    assert source["period"] == "2018/2020"
    assert source["authors"] == [{"family": "Altaf", "given": "Tajammul"}]
    assert (source["publisher"], source["publisher_place"]) == ("Institute of Policy Studies", "Islamabad")
    assert source["description"] == ""

    sections = _sections(seed_bundle)
    assert {"introduction", "chronology", "high-level-visits", "analysis"} <= sections.keys()
    assert sections["introduction"]["paragraphs"] == 1
    assert sections["high-level-visits"]["paragraphs"] == 4  # the paragraph split by footnotes 1-4 counts once
    assert sections["high-level-visits"]["parent"] == "chronology"
    assert sections["other-developments-defense-cooperation"]["parent"] == "chronology"  # "##" despite numbering
    assert sections["analysis"]["paragraphs"] == 1  # credits are not Analysis paragraphs
    assert "parent" not in sections["analysis"]
    assert sections["credits"]["paragraphs"] == 2


@needs_seed
def test_seed_validates_and_round_trips(seed_bundle: dict) -> None:
    Bundle.model_validate(seed_bundle)
    text = dump_draft(seed_bundle)
    assert text.startswith("# DRAFT")
    assert yaml.safe_load(text) == seed_bundle


SYNTHETIC = """\
# Regional Outlook Papers

## (2015-2017)

### Issue 3

### Ruritania-Freedonia Ties: A Review

#### Background

Ties between the two capitals cooled after a border incident.<sup>1</sup> Talks resumed
a year later.<sup>2</sup>

#### Events

## 1. Summits

Leaders met twice in 2016 and agreed to reopen consulates in the border

<sup>1</sup> Jane Q. Public, "Border incident strains ties," *Ruritania Weekly Review*, 3 Mar. 2015, <https://example.org/a>
<sup>2</sup> "Joint statement on talks," Ministry of External Affairs, 2016-02-01, https://mea.example.gov/joint_statement

towns, a step both sides called overdue.

Trade grew afterwards.

#### Assessment

The paper calls the thaw fragile.

Written by: **Dr. Maria Lopez Garcia**
Research Fellow, Centre for Regional Studies, Strelsau

<sup>3</sup> Ann Lee, Bo Chen & Cy Park, "Trade after the thaw," Daily Courier, September 2016, <http://example.org/c> (accessed May 1, 2017)
"""


def test_synthetic_brief_generalises() -> None:
    bundle = draft_bundle(SYNTHETIC, "rfr-issue-3")
    Bundle.model_validate(bundle)
    source = bundle["sources"][0]
    assert source["title"] == "Ruritania-Freedonia Ties"
    assert source["subtitle"] == "A Review"
    assert source["series"] == "Regional Outlook Papers (2015-2017)"
    assert source["part"] == "Issue 3"
    assert source["period"] == "2015/2017"
    assert source["authors"] == [{"family": "Garcia", "given": "Maria Lopez"}]
    assert (source["publisher"], source["publisher_place"]) == ("Centre for Regional Studies", "Strelsau")

    sections = _sections(bundle)
    assert "introduction" not in sections  # no text before the first heading
    assert sections["background"]["paragraphs"] == 1
    assert sections["summits"]["parent"] == "events"
    assert sections["summits"]["paragraphs"] == 2  # split paragraph once, plus "Trade grew afterwards."
    assert sections["assessment"]["paragraphs"] == 1
    assert sections["credits"]["title"] == "Written by"

    cites = _by_footnote(bundle)
    assert cites[1]["authors"] == [{"family": "Public", "given": "Jane Q."}]
    assert cites[1]["issued"] == "2015-03-03"
    assert (cites[1]["type"], cites[1]["container_title"]) == ("article-magazine", "Ruritania Weekly Review")
    assert cites[2]["type"] == "webpage"
    assert cites[2]["publisher"] == "Ministry of External Affairs"
    assert cites[2]["issued"] == "2016-02-01"
    assert cites[2]["url"] == "https://mea.example.gov/joint_statement"
    assert [a["family"] for a in cites[3]["authors"]] == ["Lee", "Chen", "Park"]
    assert cites[3]["issued"] == "2016-09"
    assert cites[3]["accessed"] == "2017-05-01"
    assert cites[3]["publisher"] == "Daily Courier"
    assert cites[3]["url"] == "http://example.org/c"
    assert yaml.safe_load(dump_draft(bundle)) == bundle


def test_unparseable_footnote_becomes_a_note() -> None:
    markdown = (
        "# A Brief\n\n## Body\n\nSomething happened.<sup>1</sup>\n\n<sup>1</sup> Interview with an official, Capital.\n"
    )
    bundle = draft_bundle(markdown, "a-brief")
    Bundle.model_validate(bundle)
    (cite,) = bundle["citations"]
    assert cite["footnote"] == 1
    assert cite["notes"].startswith("draft: could not parse")
    assert "Interview with an official" in cite["notes"]
    assert cite["title"] == "Interview with an official, Capital"  # the footnote's own words stand in
    assert cite["id"] == "a-brief-fn-1"  # too little is known for an outlet-date-title id


def test_cli_draft_writes_a_bundle_that_check_accepts(tmp_path):
    from typer.testing import CliRunner

    from app.cli import cli

    brief = tmp_path / "brief.md"
    brief.write_text(
        "# A Series\n\n### (2001-2002)\n\n### Part-2\n\n### Foo-Bar Relations\n\nOpening words.<sup>1</sup>\n\n"
        '<sup>1</sup> Jane Roe, "A title," Daily Paper, March 3, 2001, <https://example.org/a>\n'
    )
    out = tmp_path / "draft.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["draft", str(brief), "--id", "foo-bar", "-o", str(out)]).exit_code == 0
    result = runner.invoke(cli, ["check", str(out)])
    assert result.exit_code == 0, result.output
    assert "valid (1 sources, 1 citations," in result.output  # `check` accepts an empty file too
    written = yaml.safe_load(out.read_text())
    assert [s["id"] for s in written["sources"]] == ["foo-bar"]
    assert [(c["footnote"], c["url"]) for c in written["citations"]] == [(1, "https://example.org/a")]

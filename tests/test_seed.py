"""schedule.toml against the seed text it was transcribed from.

Independent of the project's code: reads schedule.toml with tomllib and compares its texts with the
seed document (../shared/seeds/ beside the repository root). Both sides are "squashed" (page header
removed, all whitespace deleted) so that the repairs of line-break damage do not matter, while every
word and punctuation mark still has to match.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE = ROOT / "schedule.toml"
SEED = ROOT.parent / "shared" / "seeds" / "000_d37bdddf2c12fac1.txt"
PAGE_HEADER = "HMIC Online Child Sexual Exploitation (CSE) Inspection"

EXPECTED_COUNTS = {
    "overall": 7,
    "step 1": 10,
    "step 2": 17,
    "step 3": 17,
    "step 4": 6,
    "step 5": 5,
    "step 6": 6,
    "step 7": 4,
    "step 8": 13,
    "step 9": 7,
    "leadership": 15,
}
TOTAL_ITEMS = 107

#: What is left of the squashed seed once every transcribed text is taken out: the document's
#: structural labels, in document order. Each is removed once; anything else left over is seed
#: text missing from schedule.toml.
WHITELIST = (
    "AssessmentCriteria",  # the document title (schedule.title)
    "Child’sjourney",  # column headers of the overall table ("Overall assessment" is overall.title)
    "Whatmightweexpecttosee.",
    "StepsIndicators",  # column headers of the steps table
    "1",  # step numbers in column 1 (the second "8" is step 9, misnumbered in the seed)
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "8",
    ".",  # the full stop of the "Leadership, management and governance." label
)


def squash(s: str) -> str:
    """Drop the page header, then every whitespace character."""
    return re.sub(r"\s+", "", s.replace(PAGE_HEADER, ""))


@pytest.fixture(scope="module")
def seed() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed text not found at {SEED} (the shared seeds folder beside the repository)")
    return squash(SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data() -> dict:
    with SCHEDULE.open("rb") as f:
        return tomllib.load(f)


def sections(data: dict) -> list[tuple[str, dict]]:
    return [("overall", data["overall"])] + [(f"step {s['number']}", s) for s in data["steps"]] + [
        ("leadership", data["leadership"])
    ]


def all_items(data: dict) -> list[dict]:
    return [item for _, section in sections(data) for item in section["items"]]


def all_texts(data: dict) -> list[str]:
    """Every text of schedule.toml that is transcribed from the seed."""
    intro = data["introduction"]
    texts = [*intro["columns"], intro["overall"], intro["scoring"]]
    for area in data["areas"]:
        texts += [area["title"], area["description"]]
    for _, section in sections(data):
        texts += [section["title"], section["indicator"]]
        texts += [section[k] for k in ("heading", "journey", "guidance") if k in section]
        texts += [item["text"] for item in section["items"]]
    return texts


def test_item_counts(data: dict) -> None:
    counts = {name: len(section["items"]) for name, section in sections(data)}
    assert counts == EXPECTED_COUNTS
    items = all_items(data)
    assert len(items) == TOTAL_ITEMS == sum(EXPECTED_COUNTS.values())
    refs = [item["ref"] for item in items]
    assert len(set(refs)) == len(refs), "item refs repeat"


def test_items_verbatim_and_in_seed_order(seed: str, data: dict) -> None:
    pos = 0
    for item in all_items(data):
        text = squash(item["text"])
        assert text, f"{item['ref']} is empty"
        assert text in seed, f"{item['ref']} is not in the seed verbatim: {item['text']!r}"
        found = seed.find(text, pos)
        assert found >= 0, f"{item['ref']} is out of seed order: {item['text']!r}"
        pos = found + len(text)


def test_seed_fully_covered(seed: str, data: dict) -> None:
    # Longest first, once each. Repeat passes, because one text can sit inside another in the seed
    # (step 3's item 3.1 was extracted into the middle of its indicator).
    pending = sorted({squash(t) for t in all_texts(data)}, key=len, reverse=True)
    rest = seed
    progress = True
    while pending and progress:
        progress = False
        for text in list(pending):
            if text in rest:
                rest = rest.replace(text, "", 1)
                pending.remove(text)
                progress = True
    assert not pending, f"texts of schedule.toml not found in the seed: {pending}"

    leftover = rest
    for token in WHITELIST:
        assert token in leftover, f"structural label {token!r} missing from the remainder {rest!r}"
        leftover = leftover.replace(token, "", 1)
    assert leftover == "", f"seed text not in schedule.toml: {leftover!r}\n(whole remainder: {rest!r})"

"""The report page: every section present, images inline, nothing external, and a note where data is missing."""

from __future__ import annotations

from html.parser import HTMLParser

from sftops.registry import ResolvedModel
from sftops.reporting import Evidence, render_report

SECTION_IDS = ["per-label", "champion", "calibration", "mistakes", "tuning", "export"]


class _Page(HTMLParser):
    """Collects section ids, image sources, links, scripts and notes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.scripts = 0
        self.notes: list[str] = []
        self._in_note = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"] or "")
        elif tag == "img":
            self.images.append(a["src"] or "")
        elif tag in ("a", "link"):
            self.links.append(a.get("href") or "")
        elif tag == "script":
            self.scripts += 1
        self._in_note = tag == "p" and a.get("class") == "note"

    def handle_data(self, data: str) -> None:
        if self._in_note:
            self.notes.append(data)
            self._in_note = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _version(task: str) -> ResolvedModel:
    return ResolvedModel(name="m", version="3", run_id="r1", data_hash="h", tags={"sftops.task": task})


def test_a_version_with_nothing_logged_still_renders_every_section_with_a_note() -> None:
    evidence = Evidence(version=_version("classification"), task="classification",
                        notes={"evaluation": "no evaluate run found for train run None"})
    page = _parse(render_report(evidence))
    assert page.sections == SECTION_IDS and page.images == [] and page.scripts == 0
    assert len(page.notes) == len(SECTION_IDS)
    assert "no evaluate run found for train run None" in page.notes[0]


def test_token_classification_shows_types_confusion_and_span_mistakes() -> None:
    scores = {"entity_precision": 0.5, "entity_recall": 0.5, "entity_f1": 0.5, "token_accuracy": 0.9,
              "per_type": {"PER": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2},
                           "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}}}
    rows = [{"tokens": ["Ann", "met", "<Bo>", "in", "Rome"], "tags": ["B-PER", "O", "B-PER", "O", "B-LOC"],
             "predicted": ["B-PER", "O", "O", "O", "B-PER"]}]
    evidence = Evidence(version=_version("token_classification"), task="token_classification",
                        evaluation={"fine_tuned": scores, "crf": scores}, predictions=rows)
    html = render_report(evidence)
    page = _parse(html)
    assert page.sections == SECTION_IDS and page.scripts == 0
    assert len(page.images) == 2 and all(src.startswith("data:image/png;base64,iVBOR") for src in page.images)
    assert all(link.startswith("#") for link in page.links)
    # span errors: <Bo> (PER) missed, Rome gold LOC predicted PER; the word is escaped
    assert "<td>&lt;Bo&gt;</td>\n<td>PER</td>\n<td>-</td>" in html.replace("</td><td>", "</td>\n<td>")
    assert "<td>Rome</td>\n<td>LOC</td>\n<td>PER</td>" in html.replace("</td><td>", "</td>\n<td>")
    assert any("keeps word tags, not their confidence" in note for note in page.notes)

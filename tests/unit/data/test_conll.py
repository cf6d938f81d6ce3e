"""CoNLL-style token files: separators, sentence breaks, document markers and malformed lines."""

from __future__ import annotations

from sftops.data.conll import parse_conll


def test_spaces_tabs_docstart_blank_runs_and_a_last_sentence_without_a_blank_line() -> None:
    text = (
        "-DOCSTART- -X- O O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n\n"  # CoNLL-2003: four columns, tag last; a run of blank lines
        "Peter\tB-PER\nBlackburn\tI-PER\n"
        "-DOCSTART-\tO\n"  # a marker ends the sentence before it
        "Paris  \t B-LOC\t\n"  # spaces around columns and a trailing tab are no columns
        "in\tO"  # no newline at the end of the file
    )
    parsed = parse_conll(text)
    assert parsed.sentences == [
        (["EU", "rejects"], ["B-ORG", "O"]),
        (["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        (["Paris", "in"], ["B-LOC", "O"]),
    ]
    assert parsed.malformed_lines == 0


def test_the_ner_tweets_layout_a_single_tab_ends_a_sentence() -> None:
    parsed = parse_conll("It\tO\nESB\tB-facility\n\t\nFrom\tO\nGreen\tB-geo-loc\n\t\n")
    assert parsed.sentences == [(["It", "ESB"], ["O", "B-facility"]), (["From", "Green"], ["O", "B-geo-loc"])]


def test_lines_without_a_tag_are_counted_and_skipped_and_a_token_may_hold_spaces_in_tab_files() -> None:
    parsed = parse_conll("alone\nNew York\tB-LOC\nnotag\t\nis\tO\r\n\r\nok O\n")
    assert parsed.sentences == [(["New York", "is"], ["B-LOC", "O"]), (["ok"], ["O"])]
    assert parsed.malformed_lines == 2

"""Wrapping for a terminal (chaosrun.report.wrap): pure, on strings."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from chaosrun.report.wrap import HelpFormatter, columns, error_lines, tty_columns, wrap_line

# At most 10 cells: a word fits on a continuation line (8 + 2 + 10 <= 20 columns).
WORD = st.text(alphabet="abcxyz-_.:'=数", min_size=1, max_size=10).filter(
    lambda w: cell_len(w) <= 10
)


@given(
    lead=st.integers(0, 8),
    words=st.lists(WORD, min_size=1, max_size=40),
    width=st.integers(20, 100),
)
def test_lines_fit_and_keep_every_word_whole(lead: int, words: list[str], width: int) -> None:
    line = " " * lead + " ".join(words)
    out = wrap_line(line, width)
    assert all(cell_len(row) <= width for row in out)
    assert [w for row in out for w in row.split()] == words  # none cut, split, lost or added
    assert out[0].startswith(" " * lead)
    assert all(row.startswith(" " * (lead + 2)) for row in out[1:])  # continuations hang


def test_a_line_that_fits_is_left_as_it_is() -> None:
    line = "  proxy catalog          127.0.0.1:21001 -> 127.0.0.1:22001"
    assert wrap_line(line, 79) == [line]


@pytest.mark.parametrize(
    ("line", "hang"),
    [
        ("  1. slow-down-recommendations: inject latency: add toxic " + "x " * 30, 5),
        ("  proxy recommendations  127.0.0.1:<port chosen at start> -> " + "y " * 30, 25),
        ("       where: Toxiproxy API of the ephemeral lab, proxy " + "z " * 30, 14),
        ("dry run of experiments/a-long-name.yaml: some title " + "w " * 30, 4),
    ],
)
def test_continuations_hang_under_the_text_of_their_line(line: str, hang: int) -> None:
    first, *rest = wrap_line(line, 79)
    assert rest and all(row[:hang].isspace() and row[hang] != " " for row in rest)
    assert line.startswith(first)


def test_placeholders_and_arrows_stay_together() -> None:
    line = "  proxy catalog          127.0.0.1:<port chosen at start> -> 127.0.0.1:<port chosen at "
    line += "start>"
    assert wrap_line(line, 79) == [
        "  proxy catalog          127.0.0.1:<port chosen at start>",
        "                         -> 127.0.0.1:<port chosen at start>",
    ]
    assert wrap_line("title: slowed past its timeout - playback keeps its SLO", 38) == [
        "title: slowed past its timeout -",
        "       playback keeps its SLO",
    ]


def test_a_word_longer_than_the_line_is_split_after_a_slash_only() -> None:
    url = "<toxiproxy>/proxies/recommendations/toxics/chaosrun_latency_downstream"
    assert wrap_line(f"       request: DELETE {url}", 79) == [
        "       request: DELETE",
        f"         {url}",  # fits 2 past the line's indent: not split
    ]
    assert wrap_line(f"       request: DELETE {url}", 60) == [
        "       request: DELETE <toxiproxy>/proxies/recommendations/",
        "         toxics/chaosrun_latency_downstream",
    ]
    assert wrap_line("label: " + "x" * 90, 79) == ["label:", "  " + "x" * 90]  # left whole


def test_wide_characters_count_two_cells() -> None:
    rows = wrap_line("note: " + "数据 " * 30, 40)
    assert all(cell_len(row) <= 40 for row in rows) and max(len(r) for r in rows) < 30


def test_error_lines_keep_the_location_on_the_first_line() -> None:
    message = (
        "chaosrun: my experiments/three errors.yaml:12: steady-state-hypothesis.probes[0]"
        ".tolerance: float tolerances are rejected by Chaos Toolkit; use a range: "
        "{type: range, range: [0.99, 1.0]}"
    )
    assert error_lines(message, 79) == [
        "chaosrun: my experiments/three errors.yaml:12:",
        "    steady-state-hypothesis.probes[0].tolerance: float tolerances are rejected",
        "    by Chaos Toolkit; use a range: {type: range, range: [0.99, 1.0]}",
    ]
    assert error_lines("chaosrun: a.yaml:3: title: expected a string", 79) == [
        "chaosrun: a.yaml:3: title: expected a string"
    ]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("no terminal behind this one")


def test_columns_come_from_the_environment_or_default_to_80(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert (columns(io.StringIO()), tty_columns(io.StringIO())) == (80, None)
    assert tty_columns(_Tty()) is None  # a terminal whose size cannot be read
    monkeypatch.setenv("COLUMNS", "60")
    assert (columns(io.StringIO()), tty_columns(io.StringIO())) == (60, None)  # piped: no wrap
    monkeypatch.setenv("COLUMNS", "250")
    assert columns(io.StringIO()) == 100  # a person reads at most 100 columns


def test_help_keeps_list_paragraphs_one_item_a_line() -> None:
    text = (
        "exit codes (after every fault was reverted):\n"
        "  0    passed\n"
        "  4    aborted (a stop condition fired, Toxiproxy or the target became unreachable,"
        " or the\n"
        "       deadline passed)\n"
        "\n"
        "State lives in   $CHAOSRUN_HOME\n(default ~/.local/state/chaosrun)."
    )
    filled = HelpFormatter("chaosrun", width=60)._fill_text(text, 60, "")
    assert filled.splitlines() == [
        "exit codes (after every fault was reverted):",
        "  0    passed",
        "  4    aborted (a stop condition fired, Toxiproxy or the",
        "       target became unreachable, or the deadline passed)",
        "",
        "State lives in $CHAOSRUN_HOME (default",
        "~/.local/state/chaosrun).",
    ]


def test_help_never_splits_at_hyphens() -> None:
    help_text = "no-breaker, no-timeout, no-bulkhead, no-retry-cap, breaker-never-closes"
    rows = HelpFormatter("chaosrun", width=40)._split_lines(help_text, 20)
    assert [w for row in rows for w in row.split()] == help_text.split()


def test_a_label_wider_than_the_line_is_not_kept_whole() -> None:
    # found by Hypothesis (seed 3): "==:" looked like a label, and the head alone was too wide
    out = wrap_line("       ========== ==: :", 20)
    assert out == ["       ==========", "         ==: :"]
    assert all(cell_len(row) <= 20 for row in out)


def test_a_group_kept_together_comes_apart_when_it_cannot_fit() -> None:
    # found by Hypothesis: "word -" is kept together, here 12 cells where 11 fit
    out = wrap_line("       : :::::::::: - :", 20)
    assert all(cell_len(row) <= 20 for row in out)
    assert " ".join(" ".join(out).split()) == ": :::::::::: - :"

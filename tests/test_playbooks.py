"""config/playbooks.yaml: plays, reasons and the segment x factor -> play table."""

from __future__ import annotations

import pytest

from insights.analyses import playbooks
from insights.errors import ConfigError, ParameterError
from insights.metrics.snapshots import FEATURES


def test_shipped_file_covers_every_snapshot_signal():
    book = playbooks.load_playbooks()
    assert set(FEATURES) | {"segment"} <= set(book.factors)
    assert book.reason("segment") is None  # a CSM cannot act on the segment
    assert book.reason("cancellation_requested") is None  # never restated as a reason
    assert "Enterprise" in book.reason("depth", "Enterprise")


def test_segment_override_and_default():
    book = playbooks.load_playbooks()
    assert book.play_for("perceived_value", "Enterprise").key == "executive_business_review"
    assert book.play_for("perceived_value", "SMB").key == "value_review"
    assert book.play_for("perceived_value").key == "value_review"
    assert book.play_for("arr") is None


def test_unknown_factor_names_the_fix():
    with pytest.raises(ParameterError, match="add it under 'factors:'"):
        playbooks.load_playbooks().reason("nonsense")


@pytest.mark.parametrize(
    "text, message",
    [
        ("plays: {}\nfactors: {a: {reason: x}}", "'plays:' must map"),
        ("plays: {p: {name: P, lead_time_days: 30}}\nfactors: {a: {reason: x}}", "lacks"),
        ("plays: {p: {name: P, lead_time_days: -1, hours: 1}}\nfactors: {a: {reason: x}}", ">= 0"),
        (
            "plays: {p: {name: P, lead_time_days: 5, hours: 1}}\nfactors: {a: {reason: x, play: {default: q}}}",
            "unknown plays",
        ),
        ("plays: {p: {name: P, lead_time_days: 5, hours: 1}}\nfactors: {a: {play: {default: p}}}", "'reason' sentence"),
        ("plays: {p: {name: P, lead_time_days: 5, hours: 1}}\nfactors: {a: {reason: x, label: ' '}}", "'label' must"),
    ],
)
def test_malformed_files_are_refused(tmp_path, text, message):
    path = tmp_path / "playbooks.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        playbooks.load_playbooks(path)


def test_labels_are_plain_words_for_every_factor(tmp_path):
    book = playbooks.load_playbooks()
    assert book.label("perceived_value") == "perceived value"
    assert book.label("depth + breadth") == "usage depth + feature breadth"
    assert all("_" not in book.label(k) for k in book.factors)
    with pytest.raises(ParameterError, match="add it under 'factors:'"):
        book.label("nonsense")
    path = tmp_path / "playbooks.yaml"
    path.write_text("plays: {p: {name: P, lead_time_days: 5, hours: 1}}\nfactors: {ease_of_use: {reason: x}}")
    assert playbooks.load_playbooks(path).label("ease_of_use") == "ease of use"  # default: the key with spaces

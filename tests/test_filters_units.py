"""The SELF-GUIDE noise and length filters and the SeDi-Instruct ROUGE-L filter, on hand-made items."""

from __future__ import annotations

import pytest

from foveate_dspy.method.filters import (
    FilterChain,
    FilterConfig,
    FilterError,
    NoiseFilter,
    NoiseTerms,
    RougeFilter,
    length_outliers,
    parse_filters,
    read_noise_terms,
    rouge_l,
)
from foveate_dspy.method.items import Attempt, Item


def item(i: int, instruction: str, output: str, level: str = "micro", rejection: str | None = None) -> Item:
    return Item(f"a1:{level}:{i}", "a1", level, "feature", [Attempt(0, instruction, output, 0.5, rejection)])


def test_parse_filters_orders_and_rejects_unknown_names() -> None:
    assert parse_filters("length, noise") == ("noise", "length")
    assert parse_filters("") == ()
    with pytest.raises(FilterError, match="noise,rouge,length"):
        parse_filters("noise,bleu")


def test_packaged_noise_list_is_readable_and_comment_free() -> None:
    terms = read_noise_terms()
    assert "as an ai" in terms.anywhere and "[[ ##" in terms.anywhere
    assert "according to the passage" in terms.answers
    assert not any(t.startswith(("#", "[a")) for t in terms.anywhere + terms.answers)


def test_noise_filter_catches_a_refusal_in_the_answer() -> None:
    noise = NoiseFilter(read_noise_terms())
    why = noise.why("When was Acme founded?", "I’m sorry, but as an AI I cannot say.")  # curly apostrophe
    assert why == "the answer contains the noise term \"i'm sorry\""


def test_noise_filter_asks_the_refusal_classifier() -> None:
    """Refusals are no longer noise terms: the one classifier decides, on answers only."""
    noise = NoiseFilter(read_noise_terms())
    assert noise.why("When was Acme founded?", "Not stated.") == "the answer is a refusal"
    assert noise.why("When was Acme founded?", "The passage doesn’t say.") == "the answer is a refusal"
    assert noise.why("Who built the mill?", "I'm unable to find that in the article.") == "the answer is a refusal"
    # "n/a" was a noise term anywhere and dropped this genuine answer
    assert noise.why("What does N/A mean in the tables?", "N/A marks households that reported no income.") is None
    assert noise.why("Why did he stop?", "He was unable to finish the race because of an injury.") is None
    # a question about what the text leaves out is not a refusal
    assert noise.why("Which detail does the passage not mention about the fire?", "The number of victims.") is None
    # a custom list without refusal terms still drops refusals
    assert NoiseFilter(NoiseTerms(("lorem ipsum",))).why("Q?", "Unknown.") == "the answer is a refusal"


def test_noise_filter_matches_whole_words_and_template_leftovers() -> None:
    noise = NoiseFilter(NoiseTerms(("as an ai", "{{")))
    assert noise.why("Why was the grant given as an aid to farmers?", "To help them.") is None
    assert noise.why("Describe {{entity}} in the article.", "It is a company.") == (
        "the instruction contains the noise term '{{'"
    )


def test_source_pointers_count_in_answers_only() -> None:
    noise = NoiseFilter(read_noise_terms())
    assert noise.why("According to the passage, when did the fire start?", "In 1871.") is None
    assert noise.why("When did the fire start?", "According to the passage, in 1871.") == (
        "the answer contains the noise term 'according to the passage'"
    )


def test_custom_noise_list_and_unreadable_list(tmp_path) -> None:
    terms = tmp_path / "noise.txt"
    terms.write_text("# mine\n\nLorem Ipsum\n", encoding="utf-8")
    chain = FilterChain(("noise",), FilterConfig(noise_terms=str(terms)))
    kept, removed = chain.apply_article([item(0, "Q about lorem  IPSUM?", "A."), item(1, "Q?", "A.")])
    assert [i.id for i in kept] == ["a1:micro:1"]
    assert removed[0].why == "the instruction contains the noise term 'lorem ipsum'"
    with pytest.raises(FilterError, match="missing.txt"):
        FilterChain(("noise",), FilterConfig(noise_terms=str(tmp_path / "missing.txt")))


def test_rouge_l_matches_hand_computed_values() -> None:
    assert rouge_l("Who founded Acme?", "who founded acme") == 1.0
    # tokens [what did alice found in 1990] vs [who founded acme in 1990]: LCS 2, P 2/6, R 2/5 → F 4/11
    assert rouge_l("What did Alice found in 1990?", "Who founded Acme in 1990?") == pytest.approx(4 / 11)
    assert rouge_l("", "anything") == 0.0
    # Unicode letters are tokens (rouge-score's ASCII tokenizer would drop them all)
    assert rouge_l("Ποιος ίδρυσε την Acme;", "Ποιος ίδρυσε την Acme;") == 1.0


def test_rouge_filter_drops_the_later_near_duplicate_and_names_the_kept_one() -> None:
    items = [
        item(0, "Who founded Acme Rockets in 1990?", "Alice Moreau."),
        item(1, "Who founded Acme Rockets in the year 1990?", "Alice Moreau founded it."),
        item(2, "Why did Acme build its engines from recycled steel?", "To cut costs."),
    ]
    dropped = RougeFilter(0.55).near_duplicates(items)
    assert [i.id for i, _ in dropped] == ["a1:micro:1"]
    assert dropped[0][1] == "ROUGE-L 0.857 > 0.55 with a1:micro:0"  # LCS 6 of 8 and 6 tokens
    assert RougeFilter(0.95).near_duplicates(items) == []  # configurable threshold


def test_length_filter_drops_an_outlier_per_level() -> None:
    normal = [item(i, f"Q{i}?", " ".join(["word"] * (10 + i % 3))) for i in range(20)]
    outlier = item(99, "Q99?", " ".join(["word"] * 200))
    long_level = [item(i, f"M{i}?", " ".join(["word"] * 200), level="macro") for i in range(3)]
    dropped = length_outliers([*normal, outlier, *long_level])
    assert [i.id for i, _ in dropped] == ["a1:micro:99"]
    assert "answer of 200 words outside" in dropped[0][1]


def test_length_filter_keeps_levels_with_fewer_than_two_items() -> None:
    assert length_outliers([item(0, "Q?", "one two three")]) == []


def test_chain_marks_removed_items_rejected_and_reports() -> None:
    chain = FilterChain(("rouge", "noise", "length"))
    already_rejected = item(5, "Q5?", "", rejection="empty answer")
    items = [
        item(0, "Who founded Acme Rockets?", "Alice Moreau founded Acme Rockets."),
        item(1, "Who founded Acme Rockets?", "Alice Moreau."),
        item(2, "What is Toulouse?", "As an AI language model, I think it is a city."),
        already_rejected,
    ]
    kept, removed = chain.apply_article(items)
    assert [i.id for i in kept] == ["a1:micro:0"]
    assert {r.item.id: r.filter for r in removed} == {"a1:micro:2": "noise", "a1:micro:1": "rouge"}
    record = items[2].to_record("offline", "self-foveate")
    assert record["reason"].startswith("filtered: noise: the answer contains the noise term 'as an ai")
    assert record["history"][-1]["output"].startswith("As an AI")  # the dropped pair stays visible
    assert already_rejected.attempts[-1].rejection == "empty answer"
    report = chain.report()
    assert report["removed_per_filter"] == {"noise": 1, "rouge": 1, "length": 0}
    assert report["removed_per_filter_and_level"]["rouge"] == {"micro": 1}
    assert report["examples"][0]["id"] == "a1:micro:2"


def test_finalize_runs_only_the_length_filter() -> None:
    items = [item(i, f"Q{i}?", " ".join(["w"] * 10)) for i in range(12)] + [item(50, "Q?", " ".join(["w"] * 90))]
    assert FilterChain(("noise",)).finalize(items) == []
    removed = FilterChain(("length",)).finalize(items)
    assert [r.item.id for r in removed] == ["a1:micro:50"]
    assert items[-1].accepted is None

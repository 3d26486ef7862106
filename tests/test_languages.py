"""Other languages: detection, CJK words for chunking and Algorithm 1, the teacher told which
language to write in, SelfBLEU tokenizers for Chinese, and the offline teacher on German and
Chinese passages. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scripted_lm import scripted_lm

from evals.diversity import measure_diversity
from evals.selfbleu import self_bleu_diversity
from evals.tokenizers import get_tokenizer, tokenize_all
from foveate_dspy.method.budget import relevant_word_counts, unique_words
from foveate_dspy.corpus.chunking import Chunk, chunk_text
from foveate_dspy.compile import main as compile_main
from foveate_dspy.corpus.readers import Article, load_corpus
from foveate_dspy.corpus.language import SAME_AS_ARTICLE, detect_language
from foveate_dspy.corpus.text import split_sentences
from foveate_dspy.runtime.runner import RunSettings, run
from foveate_dspy.corpus.words import word_count, words

GERMAN = (
    "Der Rhein ist einer der längsten Flüsse Europas. Er entspringt in den Schweizer Alpen und mündet nach "
    "etwa 1230 Kilometern in die Nordsee. Seit der Römerzeit ist der Rhein ein wichtiger Handelsweg. Die Römer "
    "gründeten an seinen Ufern Städte wie Köln und Mainz. Der größte Hafen am Rhein ist Duisburg, der als "
    "größter Binnenhafen der Welt gilt. Die Loreley, ein Schieferfelsen bei Sankt Goarshausen, wurde durch "
    "ein Gedicht von Heinrich Heine berühmt."
)
CHINESE = (
    "长江是中国最长的河流，全长约六千三百公里。它发源于青藏高原，最后在上海注入东海。长江流域养育了全国三分之一以上的人口。"
    "三峡大坝位于湖北省宜昌市，是世界上装机容量最大的水电站。武汉、南京和重庆是长江沿岸的重要城市。"
    "唐代诗人李白曾写下“唯见长江天际流”的名句。"
)
# Four sentences, one per CJK full stop: 6 + 3 + 4 + 3 = 16 words (segmentation checked by hand:
# 长江/是/中国/最长/的/河流 | 三峡大坝/位于/湖北省 | 你/去过/武汉/吗 | 长江/很/有名).
SHORT_ZH = "长江是中国最长的河流。三峡大坝位于湖北省！你去过武汉吗？长江很有名。"


def test_languages_are_detected_and_short_texts_are_undetermined() -> None:
    assert detect_language(GERMAN) == "de"
    assert detect_language(CHINESE) == "zh"
    assert detect_language("長江是中國最長的河流。") == "zh"  # traditional characters
    assert detect_language("東京は日本の首都です。人口はとても多いです。") == "ja"
    assert detect_language("The Rhine flows from the Alps to the North Sea.") == "en"
    assert detect_language("Two.") == "und" and detect_language("1990 - 2024") == "und"


def test_chinese_words_are_segmented_and_english_splits_at_spaces() -> None:
    assert words(SHORT_ZH) == [
        "长江", "是", "中国", "最长", "的", "河流", "三峡大坝", "位于", "湖北省", "你", "去过", "武汉", "吗", "长江", "很", "有名",
    ]  # fmt: skip
    assert word_count(SHORT_ZH) == 16
    assert words("GDP增长了3%，2024年。") == ["GDP", "增长", "了", "3%", "2024", "年"]  # ， and 。 are no words
    assert words("Rock-'n'-roll, (as) 1990s!") == ["Rock-'n'-roll,", "(as)", "1990s!"]  # unchanged: runs of non-space


def test_chinese_sentences_end_at_cjk_full_stops_and_chunks_follow_them() -> None:
    assert [s.text for s in split_sentences(SHORT_ZH)] == ["长江是中国最长的河流。", "三峡大坝位于湖北省！", "你去过武汉吗？", "长江很有名。"]
    quoted = "李白写道：“唯见长江天际流。”他很有名。"
    assert [s.text for s in split_sentences(quoted)] == ["李白写道：“唯见长江天际流。”", "他很有名。"]
    # At most 7 words a chunk with sentences of 6, 3, 4 and 3 words: [6], [3 + 4], [3].
    chunks = chunk_text(SHORT_ZH, 7)
    assert [(c.text, c.start, c.end) for c in chunks] == [
        ("长江是中国最长的河流。", 0, 11),
        ("三峡大坝位于湖北省！你去过武汉吗？", 11, 28),
        ("长江很有名。", 28, 34),
    ]
    assert chunk_text(SHORT_ZH, 16) == [Chunk(SHORT_ZH, 0, 34)]  # 16 words fit in one chunk
    # One sentence longer than a chunk is cut between words, never inside one; 。 stays with 河流.
    assert [c.text for c in chunk_text("长江是中国最长的河流。", 4)] == ["长江是中国最长", "的河流。"]


def test_budget_inputs_of_a_chinese_passage() -> None:
    # Distinct words starting with a letter: 长江 counted once, 16 words give 15.
    assert unique_words(SHORT_ZH) == sorted(
        ["长江", "是", "中国", "最长", "的", "河流", "三峡大坝", "位于", "湖北省", "你", "去过", "武汉", "吗", "很", "有名"]
    )
    assert unique_words("Der Rhein, der Fluss.") == ["der", "fluss", "rhein"]  # other scripts as before

    class PlaceEmbedder:
        """Place names and the passages point one way, every other word another, so a passage's
        count of relevant words (cosine >= 0.5) is the number of distinct place names in it."""

        places = {"长江", "中国", "湖北省", "武汉", "三峡大坝"}
        passages = {SHORT_ZH, "武汉很有名。"}

        def encode(self, texts, remember: bool = True):
            return np.asarray([[1.0, 0.0] if t in self.places | self.passages else [0.0, 1.0] for t in texts], dtype=np.float32)

    assert relevant_word_counts([SHORT_ZH, "武汉很有名。"], PlaceEmbedder(), 0.5) == [5, 1]


def test_selfbleu_with_the_zh_tokenizer_on_three_sentences() -> None:
    sentences = ["我爱猫。", "我爱狗。", "他爱猫。"]
    tokens = tokenize_all(sentences, "zh")
    assert tokens == [["我", "爱", "猫", "。"], ["我", "爱", "狗", "。"], ["他", "爱", "猫", "。"]]
    # BLEU-2 of each against the other two (all of length 4, so no brevity penalty):
    #   我爱猫。 unigrams 4/4, bigrams 我爱 爱猫 猫。 3/3          -> sqrt(1 * 1)     = 1
    #   我爱狗。 unigrams 3/4 (狗 unmatched), bigrams 我爱 1/3     -> sqrt(3/4 * 1/3) = 0.5
    #   他爱猫。 unigrams 3/4 (他 unmatched), bigrams 爱猫 猫。 2/3 -> sqrt(3/4 * 2/3) = sqrt(1/2)
    expected = 1 - (1 + 0.5 + math.sqrt(0.5)) / 3
    assert self_bleu_diversity(tokens, orders=(2,)).diversity == pytest.approx(expected, abs=1e-12)
    # With the Treebank default each sentence is one token and nothing matches: diversity 1.
    assert tokenize_all(sentences, "treebank") == [["我爱猫。"], ["我爱狗。"], ["他爱猫。"]]
    assert self_bleu_diversity(tokenize_all(sentences, "treebank"), orders=(2,)).diversity == 1.0


def test_selfbleu_zh_equals_nltk_on_the_same_tokens() -> None:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    sentences = ["长江是中国最长的河流吗？", "长江流经哪些省份？", "三峡大坝位于哪个省？", "长江沿岸有哪些重要城市？"]
    tokens = tokenize_all(sentences, "zh")
    smooth = SmoothingFunction(epsilon=0.1).method1
    nltk_mean = np.mean(
        [
            sentence_bleu(tokens[:i] + tokens[i + 1 :], tokens[i], weights=(1 / n,) * n, smoothing_function=smooth)
            for i in range(len(tokens))
            for n in (2, 3, 4, 5)
        ]
    )
    assert self_bleu_diversity(tokens).diversity == pytest.approx(1 - nltk_mean, abs=1e-12)


def test_auto_tokenizer_picks_per_language_and_keeps_english_identical() -> None:
    auto = get_tokenizer("auto")
    english = ["What does the Rhine carry?", "Which ports lie on the Rhine?", "Who built the first bridge?"]
    assert [auto(s) for s in english] == tokenize_all(english, "treebank")
    assert auto("长江流经哪些省份？") == ["长", "江", "流", "经", "哪", "些", "省", "份", "？"]
    assert auto("東京の人口は多いですか？") == list("東京の人口は多いですか？")  # char: Japanese
    result = measure_diversity("m", english, tokenizer="auto")
    assert result.selfbleu == measure_diversity("m", english).selfbleu and result.tokenizer == "auto"


def _responder(calls: list[tuple[tuple[str, ...], dict]]):
    def respond(outputs, inputs, call):
        calls.append((outputs, inputs))
        if outputs == ("keywords",):
            return {"keywords": ["Rhein"]}
        if outputs == ("questions",):
            return {"questions": [{"answer": "Rhein", "question": "Welcher Fluss entspringt in den Alpen?"}]}
        if outputs == ("answerable", "answer"):
            return {"answerable": True, "answer": "Der Rhein."}
        if outputs == ("answer",):
            return {"answer": "Der Rhein entspringt in den Schweizer Alpen."}
        raise AssertionError(f"unexpected signature {outputs}")

    return respond


@pytest.mark.parametrize(
    ("setting", "told"), [("auto", "German (de)"), ("zh", "Chinese (zh)"), ("xx", "the language with ISO 639 code 'xx'")]
)
def test_the_teacher_is_told_the_language_of_each_article(tmp_path: Path, setting: str, told: str) -> None:
    calls: list[tuple[tuple[str, ...], dict]] = []
    lm, _ = scripted_lm(_responder(calls))
    article = load_corpus(_write(tmp_path / "de.txt", GERMAN))[0]
    settings = RunSettings(levels=("micro",), n_per_level=1, max_retries=0, output_language=setting)
    run([article], tmp_path / "run", settings, teacher_lm=lm, progress=False, log=lambda _: None)
    synthesis_and_answers = [inputs["language"] for outputs, inputs in calls if outputs != ("keywords",)]
    assert synthesis_and_answers == [told] * 3  # reverse synthesis, answer, reread
    assert all("language" not in inputs for outputs, inputs in calls if outputs == ("keywords",))
    record = json.loads((tmp_path / "run" / "instructions.jsonl").read_text(encoding="utf-8"))
    assert record["language"] == "de" and record["source"]["language"] == "de"


def test_an_article_of_unknown_language_asks_for_the_articles_own(tmp_path: Path) -> None:
    calls: list[tuple[tuple[str, ...], dict]] = []
    lm, _ = scripted_lm(_responder(calls))
    article = Article("a", "Rhein 1230 km.", source={"language": "und"})
    run([article], tmp_path / "run", RunSettings(levels=("micro",), n_per_level=1, max_retries=0), teacher_lm=lm, progress=False, log=lambda _: None)
    assert {inputs["language"] for outputs, inputs in calls if "language" in inputs} == {SAME_AS_ARTICLE}


def test_a_bad_output_language_is_a_usage_error(tmp_path: Path, capsys) -> None:
    corpus = _write(tmp_path / "de.txt", GERMAN)
    assert compile_main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--output-language", "German!"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert err == ["error: --output-language must be auto or an ISO 639 code such as de or zh, got 'German!'"]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_offline_teacher_on_german_and_chinese_passages(tmp_path: Path) -> None:
    """The offline teacher writes English question templates around words and sentences it copies
    from the article (reported in the README); its answers are the article's own sentences, so they
    are in the article's language, and a Chinese sentence keeps its 。 without a stray full stop."""
    folder = tmp_path / "docs"
    folder.mkdir()
    _write(folder / "de.txt", GERMAN)
    _write(folder / "zh.txt", CHINESE)
    assert compile_main(["--corpus", str(folder), "--out", str(tmp_path / "run"), "--n-per-level", "2", "--quiet"]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
    by_article = {name: [r for r in records if r["article_id"] == name] for name in ("de.txt", "zh.txt")}
    assert all(by_article.values()), "both passages give instructions"
    for name, text, language in (("de.txt", GERMAN, "de"), ("zh.txt", CHINESE, "zh")):
        for record in by_article[name]:
            assert record["language"] == language and record["source"]["language"] == language
            features = record["feature"] if isinstance(record["feature"], list) else [record["feature"]]
            assert all(feature in text for feature in features)  # copied verbatim
            assert detect_language(record["output"]) == language
    for record in by_article["zh.txt"]:
        assert "。." not in record["output"] and "。 ." not in record["output"]
    for record in records:
        print(record["article_id"], record["level"], "|", record["instruction"], "|", record["output"][:60])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path

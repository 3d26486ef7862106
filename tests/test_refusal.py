"""The one refusal classifier: bad input (Unicode quotes and dashes, empty answers), its
figures on the labelled set, and its command line. Cases are written by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from foveate_dspy.method.refusal import MAX_CHARS, is_refusal, normalise

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "tests" / "data" / "refusals.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I DON’T KNOW", "i don't know"),
        ("“Not stated”", '"not stated"'),
        ("Unknown — the text\u00a0is silent", "unknown - the text is silent"),
        ("n\u200b/a", "n/a"),
        ("ＮＯＴ　ＳＴＡＴＥＤ", "not stated"),  # full-width letters and space (NFKC)
    ],
)
def test_normalise_by_hand(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "answer",
    [
        "The article doesn’t say.",  # curly apostrophe
        "The article doesn‘t say.",  # wrong curly apostrophe
        "The article doesn`t say.",  # backtick
        "Unknown — the passage is silent on this.",  # em dash
        "Unknown – not stated in the text.",  # en dash
        "“I don’t know.”",  # the whole answer in curly quotes
        "THE PASSAGE DOES NOT MENTION IT.",
        "ＵＮＫＮＯＷＮ",
        "",
        "   ",
        "\n\t",
        "\u200b",  # a zero-width space only
        "…",
        "—",
    ],
)
def test_refusals_with_unicode_or_nothing(answer: str) -> None:
    assert is_refusal(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "The song “I Don’t Know” was released in 1981.",  # curly double quotes around a refusal
        "She said ‘I don’t know’ and left the room.",  # curly single quotes
        "His reply — “no comment” — was printed on the front page.",
        "The war lasted 1914–1918; nobody knows the exact number who died, but estimates exceed 15 million.",
        "Unknown Pleasures — Joy Division’s first album — came out in 1979.",
        "N/A appears in the census wherever a question did not apply to a household.",
    ],
)
def test_answers_with_unicode_quotes_and_dashes(answer: str) -> None:
    assert not is_refusal(answer)


def test_enormous_answer_is_classified_from_its_start() -> None:
    genuine = "The bridge opened in 1890. " + "It carried trains and carts across the river. " * 2000
    refusal = "The passage does not say. " + "x " * 100_000
    assert len(genuine) > MAX_CHARS
    assert not is_refusal(genuine)
    assert is_refusal(refusal)


def test_german_and_chinese() -> None:
    assert is_refusal("Darüber steht im Artikel leider nichts.")
    assert is_refusal("文中没有提到他的出生年份。")
    assert not is_refusal("Er wusste nicht, wohin er gehen sollte, und blieb in Köln.")
    assert not is_refusal("他不知道战争已经结束，继续在丛林中躲了三十年。")


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


HELDOUT_BATCHES = ("v32", "v33", "v34")


def test_labelled_set_shape_and_fixed_split() -> None:
    """v32, v33 and v34, each written blind and set aside before anything was measured or tuned
    on it, are the held-out split and every other batch is tune: moving an example breaks this."""
    rows = _rows()
    assert len(rows) >= 300
    assert len({r["text"] for r in rows}) == len(rows)
    refusals = sum(r["label"] == "refusal" for r in rows)
    assert 0.4 <= refusals / len(rows) <= 0.6
    assert sum(r["lang"] in ("de", "zh") for r in rows) >= 24
    for row in rows:
        assert row["split"] == ("heldout" if row["batch"] in HELDOUT_BATCHES else "tune"), row["text"]
    assert sum(r["split"] == "heldout" for r in rows) >= 1000


def _figures(split: str) -> tuple[float, float]:
    rows = [r for r in _rows() if r["split"] == split]
    predicted = [is_refusal(r["text"]) for r in rows]
    tp = sum(p and r["label"] == "refusal" for r, p in zip(rows, predicted))
    fp = sum(p and r["label"] == "answer" for r, p in zip(rows, predicted))
    fn = sum(not p and r["label"] == "refusal" for r, p in zip(rows, predicted))
    return tp / (tp + fp), tp / (tp + fn)


# What rules + model measured on the held-out split (v32 + v33 + v34) when frozen (precision 0.979 =
# 503/514, recall 0.982 = 503/512), one answer's margin below: the CI guard against a change that
# makes the classifier worse, not against a float wobble on the answer closest to the threshold.
MEASURED_PRECISION_FLOOR = 0.976
MEASURED_RECALL_FLOOR = 0.980
# Issue 12's targets (README, "Refusals").
TARGET_PRECISION = 0.97
TARGET_RECALL = 0.95


def test_heldout_figures_do_not_regress() -> None:
    precision, recall = _figures("heldout")
    assert precision >= MEASURED_PRECISION_FLOOR, f"held-out precision {precision:.3f}"
    assert recall >= MEASURED_RECALL_FLOOR, f"held-out recall {recall:.3f}"


def test_heldout_targets() -> None:
    precision, recall = _figures("heldout")
    assert precision >= TARGET_PRECISION and recall >= TARGET_RECALL, f"precision {precision:.3f}, recall {recall:.3f}"


def test_tune_split_is_learnt() -> None:
    """Rules and model were tuned on this split (tune precision 0.993, recall 0.998 when frozen);
    a change that loses much of it has broken known cases."""
    precision, recall = _figures("tune")
    assert precision >= 0.985 and recall >= 0.99, f"tune precision {precision:.3f}, recall {recall:.3f}"


def test_short_answers_are_answers() -> None:
    """Short answers sit near stock refusals in embedding space ("Unknown.", "N/A"). Two words
    go to the model, which learnt them from the genuine short answers of the labelled set; one
    word or less never does (the model took "A." and "It does." for refusals)."""
    from foveate_dspy.method.refusal import asks_model, prepared

    for answer in ("Tuesday", "42%", "Paris.", "Yes.", "Queen Victoria", "1066", "A.", "B", "It does.", "No.", "Oxygen"):
        assert not is_refusal(answer), answer
    for answer in ("A.", "It does.", "Oxygen", "1066"):
        assert not asks_model(prepared(answer)), answer
    for answer in ("Unknown.", "N/A", "Unclear.", "?", "—"):  # one-word refusals: the rules hold them
        assert is_refusal(answer), answer


def test_rephrased_refusals_the_rules_have_no_cue_for() -> None:
    """Written for this test: refusals the rules have no pattern for (checked below), caught by
    the embedding half; and genuine answers with the same negation words."""
    from foveate_dspy.method.refusal import prepared, rule_verdict

    refusals = ["Not in context.", "The reader is never informed of that.", "That detail never comes up.", "Nothing about that here."]
    for answer in refusals:
        assert rule_verdict(prepared(answer)) is None, answer
        assert is_refusal(answer), answer
    for answer in ("No, the treaty was never ratified.", "Nothing survived the fire except the bell tower."):
        assert not is_refusal(answer), answer


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "foveate_dspy.validity", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_cli_classifies_arguments_and_stdin() -> None:
    done = _cli("Not stated.", "He was unable to finish the race because of an injury.", "Das steht nicht im Text.")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refusal", "answer", "refusal"]
    piped = _cli(stdin="N/A\nParis.\n\nThe passage says nothing about that.\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines() == ["refusal", "answer", "refusal", "refusal"]


def test_cli_starts_without_heavy_imports() -> None:
    probe = (
        "import sys; "
        "import foveate_dspy.validity; "
        "heavy = [m for m in ('torch', 'dspy', 'transformers', 'sentence_transformers', 'litellm') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_usage_error() -> None:
    done = _cli("--no-such-option")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--no-such-option" in done.stderr


def test_the_offline_teachers_own_refusal_is_caught() -> None:
    """The offline reader says UNKNOWN_ANSWER below its support threshold (generation); the
    project's one detector must recognise it, as validity and the filters rely on that."""
    from foveate_dspy.teachers.offline.answering import UNKNOWN_ANSWER

    assert is_refusal(UNKNOWN_ANSWER)


@pytest.mark.parametrize(
    "answer",
    [
        "the article doesnt mention it",  # the apostrophe left out
        "The article never specifies which river it was.",  # -ies of a telling verb
        "The passage leaves that whole question open.",
        "Information unavailable.",
        "That is outside the scope of the passage.",
        "We would need more information than this text gives.",
        "资料不足，无法作答。",
        "这超出了本文的范围。",
        "原文对此保持沉默。",
        "我真不知道。",
        "暂无相关资料。",
        "Da bin ich leider überfragt.",
        "Die Frage ist anhand dieses Textes unbeantwortbar.",
        "Im ganzen Artikel steht dazu kein Wort.",
        "Search me.",
        "I'd just be guessing here.",
        "这个我答不上来。",
        "原文未载明。",
        "我没法根据这段文字判断。",
        # the tenth to fourteenth batches
        "No mention of that.",
        "Undisclosed in the article.",
        "That is undetermined based on the supplied text.",
        "Anything we offered here would be mere speculation.",
        "I'd need further context to say.",
        "Even with the passage, the answer is indeterminable.",
        "Leider Fehlanzeige.",
        "Eine Antwort wäre hier pure Raterei.",
        "Das Baujahr bleibt im Text ungeklärt.",
        "Ob sie heiratete, lässt die Quelle offen.",
        "Zur Mannschaftsstärke enthält der Ausschnitt keinerlei Angaben.",
        "Im Kontext wird sein Geburtsort an keiner Stelle genannt.",
        "Über die Finanzierung erfährt man nichts.",
        "Das liegt außerhalb dessen, was der Auszug abdeckt.",
        "Das entzieht sich meiner Kenntnis.",
        "Mir fehlen die Informationen dazu.",
        "此事原文付之阙如。",
        "其生卒年月无从考证。",
        "依据这段文字，无法判断他的国籍。",
        "难以从材料中推断。",
        "这个我说不上来。",
        "那纯属臆测。",
        "建议查阅其他文献。",
        "这一点不在本文讨论范围之内。",
        "答案在原文之外。",
        "关于票价的信息缺失。",
        "没有足够的资料来回答。",
        "文中对此没有任何相关的记载。",
        "作者并未就此展开。",
        "不清楚呢。",
        # cues for the general forms missed in the seventeenth to nineteenth batches and the
        # former held-out eleventh, fifteenth and sixteenth
        "The passage is quiet on the matter of his pension.",
        "The excerpt is insufficient to confirm the date.",
        "The paragraph stops short of naming the winner.",
        "As far as the article is concerned, her birthplace remains a mystery.",
        "The sculptor's name goes unrecorded in the text.",
        "I checked every line and came up empty.",
        "The article covers the band's first album but not its sales.",
        "That question lies beyond the bounds of this excerpt.",
        "The essay surveys the war; the casualty figures are absent.",
        "Nothing in the text pins down the year.",
        "Without more context, naming the architect is impossible.",
        "Your guess is as good as mine on that one.",
        "I've read the extract twice and found no mention of a dowry.",
        "The summary you've given me doesn't say who won.",
        "The funding isn't something this write-up covers.",
        "The passage describes the siege. It does not, however, say how long it lasted.",
        "Neither the first nor the last paragraph names the composer.",
        "The author sticks to the 1800s, so the 1920 strike falls outside it.",
        "Insufficient data, sorry.",
        "No idea, honestly.",
        "Answer: -",
        "I honestly cannot tell from this.",
        "To get the population you'd need to check a census rather than this article.",
        "The text is about his youth; his death never comes up.",
        "I'm going to have to pass on that.",
        "That detail isn't in the passage; it focuses on the trial.",
        "Der vorliegende Auszug nennt den Bildhauer nicht.",
        "In den bereitgestellten Absätzen findet sich kein Wort zur Mitgift.",
        "Die Quelle nennt weder den Ort noch das Jahr.",
        "Dieser Text lässt die Finanzierung außen vor.",
        "Hier stößt der Abschnitt an seine Grenzen.",
        "Jede Jahreszahl wäre aus der Luft gegriffen.",
        "Über den Bauherrn hüllt sich der Artikel in Schweigen.",
        "Fehlanzeige, tut mir leid.",
        "Die Höhe der Mitgift wird mit keinem Wort erwähnt.",
        "Im Text fehlt jeglicher Hinweis auf den Täter.",
        "Ich finde keine Stelle, die das Datum nennt.",
        "Könnten Sie mir den vollständigen Artikel schicken?",
        "Dafür bräuchte man weiterführende Quellen.",
        "Dazu kann ich nur spekulieren.",
        "Die Frage muss mangels Angaben offen bleiben.",
        "Der Bericht lässt den Leser im Unklaren, wer gewann.",
        "Das Baujahr lässt sich diesem Abschnitt nicht entnehmen.",
        "Ob er begnadigt wurde, bleibt im Text unerwähnt.",
        "Was aus dem Schiff wurde, wird nicht erzählt.",
        "Der Artikel beschreibt die Schlacht, nennt aber keine Verluste.",
        "Der Text erwähnt die Oper, aber nicht, wer sie dirigierte.",
        "Der Auszug behandelt die Gründung, nicht aber die Finanzierung.",
        "Die Passage schildert das Spiel, die Torschützen werden jedoch nicht genannt.",
        "Wie hoch der Turm ist, taucht im Artikel nirgends auf.",
        "Wer den Vorsitz hatte, erfährt man nicht.",
        "Weder im ersten noch im letzten Absatz wird der Trainer genannt.",
        "Dafür müsste man andere Quellen heranziehen.",
        "Ein Lexikon wäre hier die bessere Quelle als dieser Artikel.",
        "Die Zahl der Opfer wird nirgends beziffert.",
        "Zum Eintrittspreis findet sich darin nichts.",
        "文中没有提供他的生日。",
        "这段文字并未谈及票价。",
        "文章写了比赛过程，但没说最终比分。",
        "文章介绍了建筑，但造价就不得而知了。",
        "原文连作者的名字都没留下。",
        "这一点在原文中是一片空白。",
        "文中查无此项。",
        "这超出了所给文本的范围。",
        "上下文不足以判断他是否获胜。",
        "无从判断。",
        "恐怕只能存疑。",
        "没提到。",
        "我翻遍了全文，也没看到他的籍贯。",
        "能否提供更完整的文章？",
        "这得查别的资料了。",
        "答案恐怕要去别处找了。",
        "文章对此语焉不详。",
        "文中对战后的事一概未提。",
        "节选里没有。",
        "这篇报道没交代伤亡人数。",
        "若要作答，也只能是凭空猜测。",
        "段落中缺少关于经费来源的详细说明。",
        "根据所给段落，这个问题无解。",
        "就所给材料而言，这仍是一个未知数。",
        "材料到此为止，后面的事文章没有继续写。",
        "文中对河流的长度并无记述。",
        # and for those missed in the twenty-third to twenty-sixth batches
        "Any guess at the author would go beyond the evidence given.",
        "I'd be making it up if I named a date.",
        "It is not possible, from this extract alone, to tell who wrote it.",
        "That's more than this excerpt tells us.",
        "Settling that would take more than this passage.",
        "The context falls short of naming the regulator.",
        "The excerpt lists the players but is blank on the score.",
        "The text sidesteps the question of funding.",
        "The article gives me nothing to work with here.",
        "The cause of his exile lies outside the scope of what this passage covers.",
        "The coach's name simply isn't part of the text I was given.",
        "Unknown, at least as far as this article goes.",
        "Per the provided context, the requested figure is unavailable.",
        "The passage covers his battles but nothing about his marriage.",
        "I would need a source on the later years to answer.",
        "The article simply leaves that unanswered.",
        "The later period lies beyond its horizon.",
        "Nope. The piece describes the match but says nothing about the crowd.",
        "Dazu liegen keine Zahlen vor.",
        "Die Baukosten sind eine Leerstelle im Text.",
        "Hier weist der Artikel eine Lücke auf.",
        "Dafür wäre eine andere Quelle nötig.",
        "Jede Antwort würde über das hinausgehen, was der Abschnitt hergibt.",
        "Es wird nicht erwähnt, wer das Tor schoss.",
        "Da ist dieser Text die falsche Adresse.",
        "Hier endet, was der Artikel hergibt.",
        "Wie soll ich das aus dem Auszug erschließen?",
        "Den Preis verschweigt der Text.",
        "Die Mitgliederzahl bleibt der Artikel schuldig.",
        "Weder die Einleitung noch der Schluss nennen den Architekten.",
        "Die Richter sind nicht aufgeführt.",
        "Zur Länge fehlen im Text jegliche Angaben.",
        "Sie fragen nach dem Trainer. Der Artikel nennt zwar den Verein, erwähnt aber keinen Trainer.",
        "作者并没有交代他的去向。",
        "此处未见任何记载。",
        "原文对此讳莫如深。",
        "这方面的数据，文中欠奉。",
        "这是原文的一个盲点。",
        "答案在原文中难觅踪影。",
        "这段介绍里通通没有。",
        "文中连“冠军”两个字都没出现。",
        "这段材料并没有覆盖到这个问题。",
        "文章并未触及此事。",
        "您另请高明吧。",
        "这个我答不了。",
        "这段文字给不出答案。",
        "找不出任何依据。",
        "我还是别乱说了。",
        "我不想编一个答案。",
        "恕我爱莫能助。",
        "你问的跟文章内容不沾边。",
        "关于经费，文中无只言片语。",
        "此题超纲了。",
        "这一点留待考证。",
        "材料有限，只好存疑。",
        "天知道。",
        "仅凭本段难下结论。",
        "这个真不知道。",
        "不知。",
        "基于这段话，任何答案都只是猜测。",
        "查无实据。",
        "根据这段材料，难以断定。",
        "这段资料里找不着答案。",
        "建议结合其他相关史料。",
        "这部分在所给文章中是缺失的。",
        # and for those missed in v20-v22 (held out once, then tune) and in v30-v31
        "The material supplied does not extend to his later life.",
        "The paragraphs you shared shed no light on the cause.",
        "The source remains entirely quiet on the cost.",
        "That is a number the excerpt keeps to itself.",
        "The text is no help here.",
        "One would need to consult a registry for that.",
        "Evidently the author chose not to mention his wife.",
        "The ending is left to the reader's imagination.",
        "You've got me there.",
        "Hard to say - the passage skips that year.",
        "Mere guesswork would be all I could give.",
        "The article is focused on the dome rather than on the patron.",
        "The extract stops at 1800, so the reforms are off the map.",
        "Reading the text, I find the author's name goes unmentioned.",
        "The article moves to the next reign without saying.",
        "The excerpt covers the siege; the aftermath goes unreported.",
        "Based on the passage alone, his motive remains unknown.",
        "Looking at the article, the designer goes unnamed.",
        "With only this paragraph, dating the fire is not feasible.",
        "Sources beyond this article would be needed.",
        "I would need a fuller source to say.",
        "Left unspecified.",
        "The architect goes unnamed throughout the text.",
        "His later career lies outside its range.",
        "The article names the winner but draws a veil over the prize money.",
        "Any figure I offered would be pure invention.",
        "The excerpt is about the coronation, but his death is never brought up.",
        "Für eine Antwort wären weitere Quellen nötig.",
        "Jede Schätzung wäre reine Mutmaßung.",
        "Die Zahl der Toten bleibt jedoch ungenannt.",
        "Der Artikel beschreibt die Schlacht, die Verluste bleiben jedoch außen vor.",
        "Leider kann ich das nicht beantworten. Der Text behandelt die Geologie, Angaben zur Bevölkerung fehlen jedoch.",
        "Sie fragen nach dem Baujahr; der Text nennt jedoch lediglich den Architekten.",
        "Der Abschnitt behandelt jedoch nur die Gründung.",
        "Das wäre reine Vermutung.",
        "这一问只好跳过。",
        "任何说法都只是臆测。",
        "就这段文字来看，凶手是谁仍是个谜。",
        "现有资料不足以支撑结论。",
        "具体情况不详。",
        # cues added when v27-v29 moved to tune
        "Who designed the bridge is left unrecorded here.",
        "That's left unaddressed by the excerpt.",
        "I'm completely in the dark on that.",
        "The article leaves some doubt about the exact date.",
        "The exact cause stays a mystery.",
        "You asked when the mine closed; the account ends before then, so that date is absent.",
        "Going by the passage, it is not known who funded the expedition.",
        "The uniforms go unmentioned, so I can't describe them.",
        "This can't be answered from the article, which covers the club's finances but not its coaches.",
        "Regarding the treaty's signatories, the article stays silent; it focuses instead on the war's causes.",
        "The article covers the club's history but not its stadium.",
        "Ich müsste hier raten.",
        "Unklar bleibt, wer den Auftrag gab.",
        "Der Name des Baumeisters ist nicht überliefert.",
        "Wann die Mühle stillgelegt wurde, steht dort nicht.",
        "Die Baukosten werden an keiner Stelle genannt.",
        "Der Auszug konzentriert sich auf die Technik und nennt niemanden.",
        "文章对此一笔带过。",
        "确切年份实在难以确定。",
        "文中没有点名。",
        "我没发现与工资有关的记载。",
        "这需要原文以外的资料。",
        "能否提供一下文章的剩余部分？",
        "文中并无确切的人数。",
        "除非有其他记录，否则无法确定他的死因。",
        "文章没有交代他的下落，只写到他离开上海为止。",  # "only writes up to": what it covers, not an answer
        "The excerpt, unfortunately, is of no help on that.",
        "How many died it leaves to the reader's imagination.",
        "The article mentions the players but leaves the transfer fee unaccounted for.",
        "I'm drawing a blank; the passage offers only general background on the club.",
        "Wer den Vertrag unterschrieb, bleibt in diesem kurzen Text ungeklärt.",
        "答案得靠猜。",
        "所提供的材料里找不到这个人的名字。",
    ],
)
def test_rule_cues_written_for_blind_batches(answer: str) -> None:
    from foveate_dspy.method.refusal import prepared, rule_verdict

    assert rule_verdict(prepared(answer)) is True, answer


@pytest.mark.parametrize(
    "answer",
    [
        "项目的花费超出了预算范围，最后由市政府补足。",  # "beyond the range" of a budget, not of the text
        "The merchants needed more information about the tides, so they built a tide gauge in 1720.",
        "The committee left the question open until 1921, when it chose Canberra.",
        "Er sprach kein Wort Deutsch, als er 1850 in Hamburg ankam.",
        "Die Expedition musste woanders überwintern, weil das Eis den Hafen schloss.",
        "The police had to check elsewhere: the suspect had left for Lyon.",
        "文中没有给出确切数字，但提到俘虏有数千人。",  # content after the contrast, counted per character
        # near the tenth to fourteenth batches' cues
        "Any figure the census gave would be an estimate of 40,000, the article says.",
        "We would need more ships, the admiral wrote, and three were built in 1588.",
        "Die Kosten blieben offen, bis der Senat 1910 zahlte.",  # offen without the source
        "Der Text sagt nicht Kaiser, sondern König der Franken.",
        "Er sprach an keiner Stelle der Rede von Krieg, sondern vom Handel.",
        "文中并没有说是他发明的，而是说他改进了这台机器。",
        "他的左手缺失两根手指。",  # 缺失 without an information noun
        "他当时不在城里，而是在乡下养病。",
        "根据记载，这座桥于1890年建成。",
        "这个方程无解。",
        # near the seventeenth to nineteenth batches' cues, and answers that give what the source has
        "The treaty stops short of full independence, granting only autonomy.",
        "The cause of the fire went unrecorded in the parish registers, which burned in 1701.",
        "The search party came up empty, and the wreck was found only in 1985.",
        "The village falls outside the county's borders.",
        "No. The passage notes that he never visited the United States.",
        "The text does not give a date, only that it happened shortly after Easter.",
        "The passage doesn't give the year, just the decade: the 1840s.",
        "Der Text nennt keine genaue Zahl, spricht aber von mehreren Tausend Toten.",
        "Der Artikel erwähnt den Vertrag nicht, der Kaufpreis betrug aber 40.000 Gulden.",
        "Vermutlich um 1850, auch wenn der Text kein genaues Jahr nennt.",
        "Der Artikel nennt ihren Namen nicht, nur dass sie aus Bordeaux stammte.",
        "Er hüllte sich in Schweigen, als man ihn nach dem Geld fragte.",
        "Historiker können darüber nur spekulieren, doch gilt Karl als Bauherr.",
        "Mangels Kohle stand die Fabrik 1947 still.",
        "文章没有写具体日期，只说是在1953年6月。",
        "文章没有提到他的全名，只称他为老马丁。",
        "文中指出，这座城堡除大门外什么都没有留下。",
        "在缺乏文字记载的情况下，学者根据陶片推断年代。",
        "这个问题在当时的法庭上无解，最后由皇帝裁决。",
        "Her contribution went unmentioned until 1950, when the prize committee named her.",
        "He was passed over for the captaincy in 1921.",
        "The rebels fell short of taking the capital.",
        "She needed a source of income, so she taught piano.",
        "Nothing is known about his youth except that he sang in a choir.",
        "The passage gives no exact date, only that it was \"the late eighth century BC\".",
        "Die Firma weist eine Lücke in der Bilanz auf.",
        "Die falsche Adresse führte den Brief nach Bremen.",
        "Leider kann ich nur sagen, was der Text hergibt: Die Reaktion ist exotherm.",
        "Der Artikel sagt nichts über weitere Ehen, nur über die erste mit Constanze Weber.",
        "无。文章说这种药在临床上未见明显副作用。",
        "没有，作者从未写过续集。",
        "这位作者没有结婚，终身未娶。",
        "他的研究填补了国内空白。",
        "天知道他是怎么逃出来的，但他确实在1944年回到了巴黎。",
        "Nothing was found inside the tomb except a bronze figurine.",
        "The passage does not mention any survivors because the whole garrison had been evacuated.",
        "There is no information on earlier launches because this was the first one.",
        "Since the article lists no other winners that year, she was the only one.",
        "I don't know of any rival claim; the passage dates the charter to 1213.",
        "The text doesn't specify his birthplace beyond saying it was a village in Galicia.",
        "The text provides no exact tally; it simply says hundreds of ballots were lost.",
        "The text gives no name, only describing him as a Jesuit from Ingolstadt.",
        "The answer is unknown to physicists to this day: nobody has measured it.",
        "Nothing was found of the ship until 1985.",
        "Gebaut wurde die Brücke laut Text in Köln, nähere Angaben zur Firma fehlen.",
        "Die Frauen blieben bei der Wahl außen vor, bis 1918 das Wahlrecht kam.",
        "He kept the letter to himself until 1920.",
        # near the cues and contrasts added when v27-v29 moved to tune
        "The article says no ships were lost in the storm.",
        "I don't know is the English title of the 1962 film.",
        "It was unclear at the time who would succeed him; the council chose Otto in 1273.",
        "It was unclear even to the generals, which is why the attack was delayed until May.",
        "The text does not give his first name, only his initials, J. R.",
        "The article doesn't mention a sequel, so as far as the text goes, the novel stands alone.",
        "The passage does not mention a ransom, stating that the hostages were freed unharmed.",
        "The passage doesn't say he resigned, he was instead dismissed in 1871.",
        "The passage gives no full date, just the year, 1604.",
        "The article mentions no heir; as far as the text goes, the title died with him.",
        "Der Text nennt den Namen nicht, es heißt nur, er sei ein Bäcker aus Ulm gewesen.",
        "Wahrscheinlich in Lübeck, wobei sich der Text nicht festlegt.",
        "Ob er schuldig war, lässt sich nicht sagen, weil die Akten 1945 verbrannten.",
        "Der Name des Stifters ist nicht überliefert, die Chronik nennt aber das Jahr 1312.",
        "具体日期文章没有写，地点倒是写得很清楚：在苏州。",
        "文中没有具体日期，只写了是1930年代。",
        "It is not known exactly when he died; the article gives only his burial, on 2 June 1711.",
        # a cue with the answer after it in a shape no contrast rule names: the model overrules it
        "It has no capital city; the government sits in two towns.",
        "The text does not say he was exiled; he left voluntarily in 1848.",
    ],
)
def test_answers_near_the_new_cues_are_answers(answer: str) -> None:
    assert not is_refusal(answer), answer


def test_char_ngrams_by_hand() -> None:
    """"ab" padded to " ab " has six distinct 2-4-grams: " a", "ab", "b ", " ab", "ab ", " ab "."""
    import zlib

    import numpy as np

    from foveate_dspy.method.refusal_model import char_ngrams

    row = char_ngrams(["ab"], dim=1 << 20)[0]
    grams = [" a", "ab", "b ", " ab", "ab ", " ab "]
    assert sorted(np.flatnonzero(row)) == sorted(zlib.crc32(g.encode()) % (1 << 20) for g in grams)
    assert np.allclose(row[np.flatnonzero(row)], 1 / np.sqrt(6))
    empty = char_ngrams([""], dim=16)[0]  # "  ": one 2-gram, no longer ones
    assert np.count_nonzero(empty) == 1 and empty[zlib.crc32(b"  ") % 16] == 1.0


def test_answers_checked_for_refusal_do_not_take_the_article_cache() -> None:
    from foveate_dspy.method.embedding import get_embedder

    embedder = get_embedder("minilm")
    answer = "A genuine answer that nobody has embedded before: the mill opened in 1788."
    is_refusal(answer)
    assert answer not in embedder._recent  # membership, not size: earlier tests may have filled it
    kept = embedder.encode([answer])  # an article is kept, and the same vector either way
    assert answer in embedder._recent
    assert np.allclose(embedder.encode([answer], remember=False), kept)


class _FixedModel:
    """Stands in for the bundled model: every answer gets the same probability."""

    threshold = 0.5
    veto = 0.1

    def __init__(self, probability: float) -> None:
        self.probability = probability

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return np.full(len(texts), self.probability)


@pytest.mark.parametrize(
    ("probability", "answer", "expected"),
    [
        # a cue the model is all but sure is no refusal: overruled, below the veto only
        (0.05, "The passage does not say who built it.", False),
        (0.2, "The passage does not say who built it.", True),
        # never overruled: a stock non-answer, Chinese
        (0.0, "N/A", True),
        (0.0, "Not stated.", True),
        (0.0, "文中没有提到建造者。", True),
        # a cue answered by content needs no model
        (1.0, "The text doesn't name him, but it calls him the old admiral.", False),
        # no cue: the threshold decides; one word is never asked
        (0.6, "He sailed home that winter.", True),
        (0.4, "He sailed home that winter.", False),
        (1.0, "Paris.", False),
    ],
)
def test_the_model_decides_only_where_it_may(monkeypatch, probability: float, answer: str, expected: bool) -> None:
    from foveate_dspy.method import refusal, refusal_model

    monkeypatch.setattr(refusal_model, "bundled_model", lambda: _FixedModel(probability))
    refusal._classified.cache_clear()
    try:
        assert is_refusal(answer) is expected
    finally:
        refusal._classified.cache_clear()

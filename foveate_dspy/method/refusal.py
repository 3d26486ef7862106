"""Does an answer decline to answer? The one refusal classifier of the project.

Compile validity, the noise filter, the evals' offline judges and the fine-tuning judge all ask
this module, so a refusal is a refusal everywhere. A refusal that slips into a training set
teaches the student to refuse; a genuine answer taken for a refusal wastes a teacher call and
biases the set against answers that mention what is unknown. Both mistakes are measured on a
hand-written labelled set (tests/data/refusals.jsonl, `python benchmarks/refusal.py`).

Rules first, then a model. The rules cost well under a millisecond and decide every answer they
find a cue in; an answer they find none in goes to a logistic regression over its MiniLM embedding
and character n-grams (`refusal_model.py`), because refusals keep being written in phrasings no
rule names ("The text leaves us in the dark here."). The rules look for a *cue* that the answer is about the source's silence
or the answerer's ignorance rather than about the world:

- the source is the subject of a negated telling verb ("the passage doesn't say", "the article
  makes no reference to", "der Text erwähnt das nicht", "文中没有提到");
- something is not given *in the source* ("the exact year is not stated in the article");
- the answerer cannot or does not know ("I don't know", "I can't tell from this passage",
  "we are not told", "it is not possible to say from the article");
- the whole answer is a stock non-answer ("Not stated.", "Unknown.", "N/A", "Keine Angabe.").

"Unknown", "unable to" or "not enough information" about the world ("the cause of the fire
remains unknown", "he was unable to finish") is no cue, and quoted text ('the song "I Don't
Know"') is blanked before the cues are looked for. A cue followed by a contrast that carries
content ("The text does not name him, but it calls him the old admiral") or one inside a
concession ("Although the article does not give his age, it says ...") leaves an answer.

An empty, whitespace-only or punctuation-only answer counts as a refusal: it answers nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 4000
"""Only the start of an answer is classified: refusals say so up front, and an enormous answer
must not cost more than a normal one."""

_QUOTES = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
        "‹": "'", "›": "'",
    }
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d]")
_FORMAT_CHARS = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")


def normalise(text: str) -> str:
    """NFKC, no zero-width characters, straight quotes, ASCII dashes, case-folded, single spaces:
    refusals vary in all of these ("I DON’T KNOW", "Unknown — the text ...")."""
    text = unicodedata.normalize("NFKC", text)
    text = _FORMAT_CHARS.sub("", text).translate(_QUOTES)
    text = _DASHES.sub("-", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


# --- quoted text -------------------------------------------------------------------------------

_DOUBLE_QUOTED = re.compile(r'"[^"]*"|《[^》]*》|「[^」]*」|『[^』]*』')
# A single-quoted span opens after a non-word character and closes before one, so the
# apostrophes of "don't" and "soldiers'" never delimit it.
_SINGLE_QUOTED = re.compile(r"(?<!\w)'(?=\w)[^']*(?:\w'\w[^']*)*'(?!\w)")
_WHOLLY_QUOTED = re.compile(r'^["\'《「『](.*)["\'》」』]\W*$')


def _blank_quotes(text: str) -> str:
    """Replace quoted spans by a neutral word: what someone else said is content, not a cue."""
    whole = _WHOLLY_QUOTED.match(text)
    if whole and not _DOUBLE_QUOTED.search(whole.group(1)):
        text = whole.group(1)  # the answer itself wrapped in quotes
    return _SINGLE_QUOTED.sub(" quote ", _DOUBLE_QUOTED.sub(" quote ", text))


# --- the cues --------------------------------------------------------------------------------

_SOURCE = (
    r"(?:(?:the|this|that|our|your)\s+(?:(?:provided|given|supplied|available|original|source|above|following|same|present|"
    r"whole|short|entire)\s+)*(?:text|article|passage|context|content\s+provided|document|excerpt|extract|paragraph|"
    r"source|story|reading|author|writer|material|background(?:\s+knowledge)?|information\s+(?:provided|"
    r"given)|piece|snippet|essay|narrative|section|account)"
    r"|what(?:'s|\s+is|\s+was|\s+we\s+are)\s+(?:given|provided|written|stated|told)(?:\s+here)?)"
)
_SOURCE_NOUN = r"(?:text|article|passage|context|document|excerpt|extract|paragraph|source|story|reading|material)"
# The absence is placed somewhere other than the source ("nothing is mentioned in his will"):
# the first "in the X" of the clause names something that is not the source.
_ELSEWHERE = (
    r"(?=(?:(?!\bin\s)[^.;!?])*\bin\s+(?:the|a|an|his|her|its|their|this|that)\s+"
    rf"(?!(?:(?:provided|given|original|source|above|following|same|present|whole|short|entire)\s+)*{_SOURCE_NOUN}\b)\w+)"
)
_SOURCE_OR_IT = rf"(?:{_SOURCE}|\bit)"
_TELL = (
    r"(?:say|state|mention|specify|provide|give|tell|reveal|indicate|include|contain|discuss|"
    r"address|cover|explain|describe|name|identify|list|elaborate|answer|clarify|disclose|detail|note|"
    r"report|offer|show|record|refer|touch|talk|speak|go|get|mak(?:e|es|ing)\s+(?:it\s+|this\s+|that\s+)?clear|shed\s+light|"
    r"comment|deal|expand|inform|establish|confirm|supply|spell)"
)
_TELLS = rf"(?:{_TELL}(?:s|es|ed|d|ing)?|(?:specif|clarif|identif|suppl)(?:ies|ied))"
_NEG = r"(?:does\s*not|doesn'?t|does\s+n't|did\s*not|didn'?t|do\s*not|don'?t|never|fails?\s+to|failed\s+to|cannot|can't|won't|will\s+not)"
_ADVERB = r"(?:(?:really|actually|explicitly|directly|specifically|clearly|precisely|even|further|anywhere|at\s+all|exactly|quite|in\s+fact)\s+)*"
_PASSIVE = (
    r"(?:mentioned|stated|specified|given|provided|covered|addressed|discussed|included|disclosed|"
    r"indicated|named|identified|contained|found|answered|explained|described|listed|recorded|"
    r"revealed|noted|reported|known|clear|clarified|available|said|told|documented|detailed|shown|"
    r"present|offered|supplied|presented|cited|spel(?:led|t)\s+out|elaborated|explored|made\s+clear|"
    r"touched\s+(?:on|upon))"
)
_NOUN = (
    r"(?:information|info|details?|indication|explanation|answer|figures?|numbers?|dates?|years?|"
    r"data|reference|mention|clues?|hints?|reasons?|names?|word|statement|account|specifics|evidence\s+"
    r"(?:in|from)\s+the|record)"
)
_NOT_BE = r"(?:is|are|was|were|'s|'re)\s*(?:not|n't)|isn'?t|aren'?t|wasn'?t|weren'?t"
_WORKED_OUT = (
    r"(?:determined|answered|known|inferred|said|told|found|established|deduced|ascertained|worked\s+out|"
    r"figured\s+out|derived|gleaned|gathered|concluded|extracted|discerned)"
)
_KNOW_VERB = r"(?:know|say|tell|determine|answer|find|work\s+out|establish|infer|confirm|judge|be\s+sure|conclude|identify|see|guess)"

_CUES_EN = [
    # the source is silent: "the passage doesn't say", "the article makes no reference to"
    rf"{_SOURCE_OR_IT}\s+(?:also\s+)?(?:{_NEG}\s+{_ADVERB}{_TELL}|never\s+{_ADVERB}{_TELLS})\b",
    (rf"{_SOURCE_OR_IT}\s+(?:gives|provides|offers|contains|includes|has|holds|lists|mentions|makes|"
     rf"supplies|presents|shows|says|tells\s+us|records)\s+(?:no|nothing|not\s+a\s+single)\b"),
    rf"{_SOURCE}\s+(?:says|tells\s+us|mentions|reveals|states|gives|offers)\s+nothing\b",
    (rf"{_SOURCE}\b[^.;!?]{{0,80}}?\b(?:and|but)\s+(?:(?:says|tells\s+us|mentions|reveals|gives|offers)\s+nothing|"
     rf"{_NEG}\s+{_ADVERB}{_TELL}|is\s+silent)\b"),
    rf"{_SOURCE}\s+(?:is\s+not|isn't|was\s+not|wasn't)\s+(?:specific|explicit|clear|precise|forthcoming|detailed)\b",
    rf"{_SOURCE_OR_IT}\s+(?:is|was|remains|stays)\s+(?:silent|mute|mum|vague|unclear|not\s+clear)\b",
    rf"{_SOURCE}\s+(?:lacks|is\s+lacking|is\s+missing|omits|skips|ignores|overlooks|passes\s+over)\b",
    rf"{_SOURCE}\s+leaves\s+(?:this|it|that|them|the\s+\w+)\s+out\b",
    rf"\b(?:beyond|outside(?:\s+of)?)\s+(?:what|the\s+scope\s+of)\s+{_SOURCE}",
    r"\b(?:i|we|you|one)\s+(?:would\s+|will\s+|'d\s+)?need\s+more\s+(?:information|context|details?|data)\b",
    rf"{_SOURCE}\s+leaves\s+(?:\w+\s+){{1,3}}?(?:unanswered|open|unclear|unexplained|unsaid|unaddressed)\b",
    rf"\b(?:is|are|was|were)\s+(?:missing|absent|lacking|omitted|left\s+out)\s+(?:from|in)\s+{_SOURCE}",
    r"\b(?:is|are)\s+(?:insufficient|not\s+enough|too\s+\w+)\s+to\s+(?:answer|tell|say|determine|know|decide)\b",
    rf"(?:\bnot|n't)\s+something\s+(?:that\s+)?(?:{_SOURCE}\s+\w+|(?:i|we)\s+(?:can|could)\s+{_KNOW_VERB})",
    rf"\bno\s+(?:mention|reference|statement)\s+(?:of\s+[^.;!?]*?\s+)?(?:is|was)\s+made\b(?!{_ELSEWHERE})",
    rf"\b(?:is|are|was|were)\s+left\s+(?:unclear|open|unanswered|unexplained|unsaid|vague)\s*(?:(?:by|in)\s+{_SOURCE}|[.!]?$)",
    # something is not given in the source: "the exact year is not stated in the article"
    rf"(?:{_NOT_BE}|\bnot)\s+{_ADVERB}{_PASSIVE}\s+(?:anywhere\s+)?(?:in|by|from|within)\s+{_SOURCE}",
    rf"(?:\bnot|n't|\bnowhere|\bnothing|\bno\s+\w+)\s+(?:\w+\s+)?(?:in|within)\s+{_SOURCE}\b",
    r"\bnowhere\s+(?:in|does|do|is)\b",
    rf"^no\s+(?:such\s+|further\s+|other\s+)?{_NOUN}\b[^.;!?]*?\b(?:in|within|from)\s+{_SOURCE}",
    rf"^(?:neither|no|nothing)\b[^.;!?]*?\b(?:is|are|was|were)\s+{_ADVERB}{_PASSIVE}\b(?!\s+(?:to|that|by\s+(?!{_SOURCE})))(?!{_ELSEWHERE})",
    (rf"^(?:(?:but|and|however|yet)\s*,?\s*)?(?:[^.;!?]*?{_SOURCE}\s*,\s*)?(?:(?:unfortunately|sadly|however|sorry|regrettably|alas)\s*,?\s*)?"
     rf"there\s*(?:is|are|'s|isn't|aren't)\s+(?:no|not\s+any|any)\s+(?:(?:specific|further|other|clear|such|explicit|"
     rf"additional|relevant|direct)\s+)?{_NOUN}\b(?!{_ELSEWHERE})"),
    (rf"^(?:it|this|that|this\s+information|that\s+information|such\s+information|this\s+detail|that\s+detail|"
     rf"the\s+answer|the\s+information|information\b[^.;!?]{{0,60}}?|details?\b[^.;!?]{{0,60}}?)\s*(?:{_NOT_BE})\s+"
     rf"{_ADVERB}{_PASSIVE}(?![\w-])(?!{_ELSEWHERE})"),
    rf"\b(?:there\s+(?:is|are|was|'s)|there's)\s+(?:no|not\s+any|nothing|not\s+enough|insufficient)\b[^.;!?]*?\b(?:in|from|within)\s+{_SOURCE}",
    rf"\bthere(?:\s+is|'s)\s+no\s+{_NOUN}(?:\s+(?:about|on|regarding|of)\s+(?:it|this|that|the\s+matter|this\s+topic))?\s*$",
    rf"\b(?:there\s+is|there's)\s+no\s+way\s+(?:to|of)\s+{_KNOW_VERB}",
    rf"\b(?:provides|gives)\s+(?:insufficient|not\s+enough)\s+{_NOUN}\b",
    (rf"\b(?:not\s+enough|insufficient)\s+(?:information|context|details?|data|info)(?:\s+(?:is\s+)?(?:given|provided|available))?"
     rf"(?:\s+(?:in|from)\s+{_SOURCE})?\s+to\s+(?:answer|tell|say|know|determine|be\s+sure|work\s+(?:it\s+)?out|respond|decide)\b"),
    r"^(?:there\s+is\s+|there's\s+)?(?:not\s+enough|insufficient)\s+(?:information|context|details?|data|info)\s*$",
    # broader: the source, then a negation, then a telling verb, in one clause
    rf"\b{_SOURCE_NOUN}s?\b(?:'s)?[^.;:!?]{{0,50}}?(?:\b(?:not|never|no|nothing|nowhere)\b|n't)[^.;:!?]{{0,30}}?\b{_TELLS}\b",
    # a bare negated passive that ends the clause: "the year of his death is never given."
    (rf"\b(?:is|are|was|were|isn't|aren't|wasn't|weren't)\s+(?:not\s+|never\s+)?{_ADVERB}(?:(?<=not\s)|(?<=never\s)|(?<=n't\s)){_ADVERB}"
     rf"{_PASSIVE}(?:\s+(?:anywhere|here|explicitly|either))?\s*[.!]?$"),
    # the answer or question cannot be had
    r"\b(?:the|an|this)\s+answer\s+(?:to\s+[^.;!?]*?\s+)?(?:is|was|remains)\s+(?:not|n't|unknown|unclear|missing|nowhere|indeterminable|undeterminable|undetermined)\b",
    r"\b(?:the|an|this)\s+answer\s+(?:isn't|cannot|can't|could\s+not)\b",
    r"\b(?:the|this|that|your)\s+question\s+(?:cannot|can't|could\s+not|is\s+not\s+answered|isn't\s+answered|remains\s+unanswered)\b",
    rf"^(?:(?:this|that|it)\s+)?(?:cannot|can't|could\s*not|couldn't)\s+be\s+{_WORKED_OUT}\b",
    rf"\b(?:cannot|can't|could\s*not|couldn't)\s+be\s+{_WORKED_OUT}\s+(?:from|in|by|with|using|based\s+on)\s+{_SOURCE}",
    r"\bunanswerable\b(?!\s+\w)",
    rf"\b(?:it\s+is|it's)\s+(?:not\s+possible|impossible|unclear|not\s+clear)\s+to\s+{_KNOW_VERB}\b",
    rf"\b(?:is|are|remains?|stays?)\s+(?:unknown|unclear|not\s+known|not\s+clear|uncertain|unspecified|unstated|unexplained|open|undetermined|indeterminable|undisclosed|unrecorded)\s+(?:from|in|based\s+on|according\s+to|by)\s+{_SOURCE}",
    rf"\b(?:based\s+on|from|given|according\s+to)\s+{_SOURCE}[^.;!?]*?\b(?:impossible|not\s+possible|cannot|can't)\b",
    # the answerer does not know
    r"\b(?:i|we)\s*(?:really\s+|honestly\s+|simply\s+)?(?:do\s*not|don't|dont|do\s+n't|did\s*not|didn't)\s+(?:\w+\s+)?(?:know|see|have|find|learn|get|hear|read)\b",
    (rf"\b(?:i|we)\s*(?:cannot|can't|could\s*not|couldn't|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to|"
     rf"'m\s+not\s+able\s+to|was\s+unable\s+to|was\s+not\s+able\s+to|wasn't\s+able\s+to|weren't\s+able\s+to|"
     rf"were\s+unable\s+to|have\s+no\s+way\s+of)\s+(?:\w+\s+)?"
     rf"(?:{_KNOW_VERB}|knowing|telling|saying|locate|help|assist|provide|give|offer|answer)"),
    r"\b(?:i|we)\s+(?:have|had)\s+no\s+(?:idea|way|information|clue|answer|data)\b",
    r"\b(?:i|we)\s*(?:am|'m|are|'re)\s+(?:not\s+sure|unsure|uncertain|not\s+certain)\b",
    r"\bwe(?:\s+are|'re|\s+were)\s+(?:not|never)\s+(?:told|given|informed)\b|\bwe\s+(?:aren't|weren't)\s+told\b",
    r"\b(?:i|we)\s+(?:cannot|can't)\s+say\b|^(?:cannot|can't|hard\s+to)\s+say\b",
    r"\b(?:beats|search)\s+me\b|\bdraw(?:ing|s)?\s+a\s+blank\b|^(?:pass|nothing\s+to\s+go\s+on)\s*[.!]?$",
    r"\b(?:i'd|i\s+would|we'd|we\s+would)\s+(?:only\s+|just\s+|merely\s+)?be\s+(?:speculating|guessing)\b",
    # "any figure I gave would be pure conjecture", "anything I said would be a guess"
    r"^(?:any|anything)\b[^.;!?]{0,40}?\b(?:i|we)\s+\w+\b[^.;!?]{0,20}?\bwould\s+be\s+(?:a\s+|an\s+)?(?:pure\s+|mere\s+|just\s+|only\s+)?(?:guess(?:work)?|conjecture|speculation)\b",
    r"\b(?:i|we)(?:\s+would|'d)\s+need\s+(?:additional|more|further|extra)\s+(?:context|information|details?|data|sources?)\b",
    (r"\b(?:you|i|we|one)(?:'d|'ll|\s+would|\s+will)?\s+(?:have\s+to|need\s+to|must|should|may\s+want\s+to|might\s+want\s+to)\s+"
     r"(?:look\s+(?:that|it|this)\s+up|find\s+(?:that|it|this)\s+out|check|consult\s+\w+(?:\s+\w+)?)\s+(?:elsewhere|in\s+another\s+source)\b"),
    rf"{_SOURCE}\s+leaves\s+(?:us|the\s+reader|readers|you|me)\s+in\s+the\s+dark\b",
    rf"{_SOURCE}\s+(?:does\s+not|doesn't|do\s+not|don't)\s+allow\s+(?:me|us|one)\s+to\s+{_KNOW_VERB}",
    (rf"^(?:sorry|unfortunately|regrettably|i'm\s+afraid)\b[^.;!?]*?(?:\b(?:not|no|cannot|nothing)\b|n't)\s+(?:\w+\s+){{0,3}}?"
     rf"(?:{_TELLS}|{_KNOW_VERB}|{_PASSIVE}|in\s+{_SOURCE}|information|idea|clue|answer)\b"),
]

# A whole answer that is nothing but a stock non-answer, once a trailing source ("in the text")
# and an "Answer:" label are gone.
_STOCK = re.compile(
    r"^(?:unknown|unclear|undetermined|uncertain|unanswerable|unsure|unspecified|unstated|unmentioned|unknowable|indeterminate|"
    r"indeterminable|undisclosed|unrecorded|no\s+mention\s+of\s+(?:it|this|that)|"
    r"not\s+sure|not\s+certain|not\s+(?:answerable|determinable)|no\s+way\s+to\s+(?:know|tell|say)|n/?a|n\.\s?a|none\s+given|"
    r"no\s+idea|no\s+clue|no\s+answer(?:\s+found)?|no\s+mention|none\s+(?:mentioned|stated|specified)|nothing\s+(?:found|given|stated|mentioned)|"
    r"not\s+(?:enough|sufficient)\s+(?:information|info|context|data|details?)|not\s+determinable|k\.\s?a|"
    r"no\s+(?:information|info|data|details?)(?:\s+(?:given|provided|available))?|"
    r"(?:information|info|data|details?|answer)\s+(?:is\s+|are\s+)?(?:unavailable|not\s+available|missing|lacking)|"
    rf"{_NOUN}\s+(?:is\s+|are\s+)?not\s+{_PASSIVE}|"
    rf"not\s+(?:\w+\s+)?{_PASSIVE}|not\s+applicable|not\s+(?:in|here)|"
    r"(?:cannot|can't|can\s+not)\s+(?:say|tell|answer|be\s+(?:determined|answered|known|said))(?:\s+(?:that|this|it))?|"
    r"(?:hard|impossible|difficult)\s+to\s+(?:say|tell)|who\s+knows|don't\s+know|dunno|idk|"
    r"unbekannt|keine\s+angaben?|nicht\s+(?:angegeben|bekannt|erwahnt|erwähnt|genannt|beantwortbar)|"
    r"weiss\s+nicht|weiss\s+ich\s+nicht|keine\s+ahnung|unklar|(?:leider\s+)?fehlanzeige|passe|"
    r"不详|不知道|未知|不清楚|未提及|未提到|没有提到|无从得知|无法得知|不得而知|无法确定|无法回答|未说明|没有说明|不明|跳过|"
    r"(?:没有|未|并未)(?:提及|提到)(?:此事|这一点|这件事)|"
    r"(?:暂无|无|没有)(?:相关)?(?:的)?(?:信息|资料|数据|内容))$"
)
_STOCK_TAIL = re.compile(rf"\s*(?:,\s*)?(?:anywhere\s+)?(?:in|from|by|within|according\s+to|based\s+on)\s+(?:{_SOURCE}|{_SOURCE_NOUN})\s*$")
_LABEL = re.compile(r"^(?:answer|response|a)\s*:\s*")

_DE_SOURCE = (
    r"(?:text(?:es|s)?|artikel(?:s)?|abschnitt(?:s|es)?|passage|absatz(?:es)?|dokument(?:s|es)?|auszug(?:s|es)?|beitrag(?:s|es)?|quelle|textstelle|"
    r"kontext(?:es|s)?|ausschnitt(?:s|es)?|passus|vorlage)"
)
_CUES_DE = [
    rf"\b(?:der|die|das|dem|des|im|in\s+dem|aus\s+dem)\s+{_DE_SOURCE}\b[^.;!?]*?\b(?:nicht|nichts|keine?n?)\b",
    rf"\b(?:nicht|nichts|keine?n?)\b[^.;!?]*?\b(?:im|in\s+dem|aus\s+dem|dem|der|des)\s+{_DE_SOURCE}\b",
    r"\bich\s+weiss\s+(?:es\s+|das\s+)?(?:leider\s+|auch\s+)?nicht\b|^weiss\s+ich\s+(?:\w+\s+)?nicht\b",
    r"\b(?:lasst|lässt|kann|können)\s+sich\b[^.;!?]*?\bnicht\s+(?:bestimmen|sagen|feststellen|ermitteln|beantworten|erkennen)",
    r"\bgeht\b[^.;!?]*?\bnicht\s+hervor\b",
    r"\bnicht\s+beantwortet\s+werden\b",
    (r"^(?:(?:dazu|daruber|darüber|hierzu|es)\s+(?:gibt\s+es|finden\s+sich|liegen|werden|sind|macht\s+\w+\s+\w+)\s+)?"
     r"keine\s+(?:informationen|angaben?|hinweise|auskunft)\b"),
    r"\b(?:dazu|daruber|darüber|hierzu)\b[^.;!?]*?\bkeine\s+(?:informationen|angaben?|hinweise|auskunft)\b",
    rf"\b(?:der|die|das)\s+{_DE_SOURCE}\s+l(?:a|ä)sst\b[^.;!?]*?\boffen\b",
    rf"\b(?:der|die|das)\s+{_DE_SOURCE}\s+schweigt\b|\b(?:dazu|daruber|darüber|hierzu)\s+schweigt\b",
    r"\bnirgends\s+(?:\w+\s+)?(?:erwähnt|erwahnt|genannt|angegeben|beschrieben)\b|\bsteht\s+(?:da\s+|dort\s+|hier\s+)?(?:leider\s+)?nicht\s+drin\b",
    (r"\b(?:wird|werden|ist|sind|wurde|wurden)\s+(?:\w+\s+){0,3}?nicht\s+(?:gesagt|erwähnt|erwahnt|genannt|angegeben|beschrieben|"
     r"erklärt|mitgeteilt|erläutert|ausgeführt|thematisiert|behandelt)\s*[.!]?$"),
    r"\bnicht\s+die\s+rede\b",
    r"\büberfragt\b|\buberfragt\b|\bunbeantwortbar\b|\bnicht\s+(?:zu\s+)?beantwort(?:bar|en)\b",
    r"\bbeantwortung\b[^.;!?]*?\bnicht\s+m(?:ö|o|oe)glich\b",
    r"\bnirgends\s+(?:\w+\s+)?(?:ge\w+t|\w+iert)\b",
    r"\b(?:findet\s+sich|steht|stehen|verliert\s+\w+)\b[^.;!?]*?\b(?:kein\s+wort|nirgends)\b",
    (r"\b(?:müsste|muesste|muss)\s+(?:man|ich|sie|du|wir)\b[^.;!?]*?\b(?:woanders|anderswo)\s+(?:nachschlagen|nachlesen|nachsehen|suchen|fragen)\b"
     r"|\b(?:bräuchte|braeuchte|bräuchten|braeuchten)\s+(?:ich|man|wir|sie|du)\s+(?:\w+\s+)?(?:eine\s+)?andere\s+quelle\b"),
    r"\b(?:wäre|ware|waere)\s+(?:reine|bloße|blosse|nur)\s+spekulation\b|\bins\s+blaue\b|\baus\s+den\s+fingern\s+saugen\b|\bdie\s+segel\s+streichen\b",
    r"\b(?:jede|eine)\s+antwort\s+(?:wäre|ware|waere)\b[^.;!?]{0,30}?\b(?:reine|bloße|blosse|nur|pure)\s+(?:spekulation|vermutung|raterei)\b",
    rf"\bbleibt\s+(?:im|in\s+dem|in\s+der)\s+{_DE_SOURCE}\s+(?:offen|unklar|ungeklärt|ungeklart)\b|\bl(?:a|ä)sst\s+(?:der|die|das)\s+{_DE_SOURCE}\s+offen\b",
    rf"\bausserhalb\s+dessen,?\s+was\b[^.;!?]*?\b{_DE_SOURCE}\b|\b{_DE_SOURCE}\b[^.;!?]*?\bkeinerlei\b|\bkeinerlei\b[^.;!?]*?\b{_DE_SOURCE}\b",
    rf"\ban\s+keiner\s+stelle\b[^.;!?]*?\b{_DE_SOURCE}\b|\b{_DE_SOURCE}\b[^.;!?]*?\ban\s+keiner\s+stelle\b",
    r"\berfährt\s+man\s+nichts\b|\bentzieht\s+sich\s+meiner\s+kenntnis\b|\bfehl(?:en|t)\s+(?:mir|uns)\s+(?:die\s+)?(?:informationen|angaben|daten|kenntnisse)\b"
    r"|\b(?:mir|uns)\s+fehl(?:en|t)\s+(?:die\s+)?(?:informationen|angaben|daten|kenntnisse)\b",
]
_ZH_SOURCE = r"(?:文中|文章|原文|文本|段落|材料|短文|上下文|上文|本文|这段|该文|文段|资料)"
_ZH_SILENT = r"(?:并)?(?:没有|没|未|无)(?:明确|具体)?(?:提到|提及|说明|说|给出|涉及|写|交代|讲|指出|记载|透露|关于|相关|答案|回答)"
_CUES_ZH = [
    rf"{_ZH_SOURCE}[^。；！？]*?{_ZH_SILENT}",
    r"我(?:并|真|也|还|确实|实在|是)?不知道",
    r"(?:信息|资料|内容)不足|无法作答|无从回答",
    rf"超出(?:了)?{_ZH_SOURCE}[^。；！？]{{0,6}}?范围",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:保持沉默|沉默|只字未提)",
    r"无法(?:从|根据|由)[^。；！？]*?(?:确定|回答|得知|判断|知道|得出|看出)",
    r"(?:找不到|没有|无)(?:相关)?答案",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:找不到|查不到|看不到|无法找到)",
    r"(?:找不到|没有找到|没找到)(?:相关|这个|该|任何)?(?:的)?(?:信息|答案|内容)",
    r"无法确定(?:答案|这一点)",
    r"无法回答(?:这个|该|此)?问题|我无法回答",
    r"只字未提|只字不提|未置一词",
    r"(?:从|在|根据)[^。；！？]*?看不出|答不上(?:来)?|恕难(?:回答|作答|奉告)|难以(?:回答|作答)",
    r"缺(?:乏|少)(?:相关)?(?:的)?(?:信息|资料|内容|数据)|未(?:载明|写明|注明|载)",
    r"(?:无法|没法|没办法)(?:从|根据|由|凭)[^。；！？]*?(?:确定|回答|得知|判断|知道|得出|看出)|问题(?:无法|没法)(?:确定|回答|解答)",
    r"(?:并)?未(?:包含|含有|涉及)(?:该|此|这|相关)?(?:方面的)?(?:信息|内容)",
    r"(?:找不到|没找到|没有找到)[。！？]?$|另(?:找|寻|查)(?:资料|来源|出处)|帮不上(?:忙)?",
    # written-register idioms for "the source has nothing on it": 付之阙如, 无从考证, 未着一字
    r"阙如|缺如|无从(?:考证|查考|稽考)|不可考|未着(?:一字|墨|笔墨)|(?:一个字|一字)(?:都|也)?(?:没|未)(?:写|提)|通篇(?:都)?(?:没有|未)",
    r"(?:根据|依据|依|凭|就|据)[^。；！？]*?(?:无法|没法|没办法|难以|不能)(?:确定|判断|推断|推知|得知|确认|回答|作答|知道|看出)",
    r"(?:难以)(?:从|根据|由|凭)[^。；！？]*?(?:确定|判断|推断|推知|得知|看出)|得不出(?:答案|结论)|推断不出|推不出",
    r"我(?:没法|无法|不能|没办法)(?:判断|回答|确定|确认)|回答不了|说不上来|不好说|没(?:有)?头绪",
    r"(?:只能|纯属|无异于)(?:是)?(?:猜测|臆测|揣测|瞎猜)|妄加(?:揣测|猜测|推测)",
    r"(?:查阅|查|翻翻|参考|参阅|查找)(?:一下)?(?:其他|其它|别的|另外的|更多)(?:的)?(?:资料|来源|文献|材料)",
    r"不在(?:其中|讨论之列|(?:本文|文中|这段|该文|文章|原文)[^。；！？]{0,6}?(?:里|中|之内|范围))|不在(?:其|本文的?)?(?:叙述|讨论|讲述|论述)?范围(?:之内|内)",
    rf"在{_ZH_SOURCE}之外|(?:信息|资料|内容|数据|记载|说明)[^。；！？]{{0,6}}?缺失|缺(?:乏|少)[^。；！？]{{0,8}}?(?:信息|资料|内容|数据|记载|说明|描述)",
    r"没有足够的(?:信息|资料|内容|依据)|(?:信息|资料)不(?:够|足)",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:没有|并无|无|未见|并未)[^。；！？]{{0,8}}?(?:这方面|相关|有关)的?(?:内容|信息|描述|记载|说明)",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:并未|没有|未)(?:出现|着墨|展开|讨论)",
    r"(?:没有|未|并未)就(?:此|这个问题|这一点|该问题)(?:展开|作答|说明)|(?:没有|没|未)(?:看到|找到|发现)(?:任何)?(?:相关|有关)?(?:的)?(?:记载|信息|内容|说明|描述|依据)",
]

_CUE = re.compile("|".join(f"(?:{c})" for c in _CUES_EN + _CUES_DE + _CUES_ZH))

# Where a cue can be overruled by content: "..., but it calls him the old admiral"
_CONTRAST = re.compile(
    r"(?:[,;:]\s*|\s+-\s+|\s)(?=(?:but|however|yet|instead|although|though|even\s+though|whereas|while|aber|jedoch|doch|sondern)\b)"
    r"|(?<=[.!?])\s*(?=(?:but|however|yet|instead|still|aber|jedoch)\b)|(?<=[，,。；])(?=但是|但|不过|然而|只是|而是)"
    # a correction: "the passage does not describe a battle; it describes a negotiation"
    rf"|;\s*(?=(?:it|the\s+{_SOURCE_NOUN}|the\s+author)\s+(?!(?:only|just|merely|also|is|was|has|does)\b)\w+s\b)"
)
_CONCESSIVE = re.compile(r"^(?:(?:although|though|even\s+though|while|whereas|obwohl)\b|虽然|尽管)")
_WORD = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]|[^\W\d_]{3,}|\d+")  # each Han/kana character is a word
_CONTENT_WORDS = 3


def _has_cue(segment: str) -> bool:
    return bool(_CUE.search(segment)) or _is_stock(segment)


_STOCK_TRIM = " .!?。！？…-,;:哎啊呀呢哦诶"  # punctuation and Chinese sentence-final particles


def _is_stock(text: str) -> bool:
    bare = _LABEL.sub("", text).strip(_STOCK_TRIM)
    bare = _STOCK_TAIL.sub("", bare).strip(_STOCK_TRIM)
    return bool(_STOCK.match(bare)) if bare else False


# "The article talks about X but is silent on Y": a contrast whose subject is left out shares
# the subject of the clause before it, when that subject is the source.
_ELIDED = re.compile(
    r"^(?:but|yet|and|however)\s+(?=(?:is|are|was|were|does|doesn't|did|didn't|never|not|says|gives|makes|offers|"
    r"provides|remains|stays|fails|lacks|mentions|calls|names|tells|talks|describes|lists|only|leaves|omits)\b)"
)
_LEADING_SOURCE = re.compile(rf"^(?:(?:although|though|while)\s+)?({_SOURCE})\b")


def _segments(text: str) -> list[str]:
    """The answer cut before each contrast ("but", "however", "although" ...), and a concession
    cut from its main clause at its first comma ("although X, Y" -> "although X", "Y")."""
    segments = []
    for segment in (s.strip() for s in _CONTRAST.split(text)):
        if not segment:
            continue
        elided, subject = _ELIDED.match(segment), segments and _LEADING_SOURCE.match(segments[-1])
        if elided and subject:
            segment = f"{elided.group(0)}{subject.group(1)} {segment[elided.end():]}"
        if _CONCESSIVE.match(segment) and re.search(r"[,，]", segment):
            concession, main = re.split(r"[,，]", segment, maxsplit=1)
            segments.extend(s for s in (concession.strip(), main.strip()) if s)
        else:
            segments.append(segment)
    return segments


def _content(segment: str) -> bool:
    return len(_WORD.findall(segment)) >= _CONTENT_WORDS


# Chinese and Japanese answers reach the model only with a negation character: MiniLM reads
# them poorly, and without the gate short genuine answers ("一八九五年。") were taken for refusals
# in cross-validation; refusals in these languages carry one ("没有", "无法", "未提及", "不知道").
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_CJK_NEGATION = re.compile(r"[没無无未不否非]")


def asks_model(text: str) -> bool:
    """Whether an answer the rules found no cue in (normalised, quotes blanked) goes to the model.
    One word or less is an answer ("Paris.", "A.", "It does."): the model has nothing to read in
    it, and the tune set's one-word refusals ("Unknown.", "N/A") are all stock phrases the rules
    hold (29 such answers, no such refusal, in tune)."""
    if len(_WORD.findall(text)) <= 1:
        return False
    return not _CJK.search(text) or bool(_CJK_NEGATION.search(text))


def rule_verdict(text: str) -> bool | None:
    """The rules on a normalised, quote-blanked answer: True (a refusal cue stands), False (every
    cue is answered by content after it, or conceded), None (no cue: the rules cannot tell)."""
    if _is_stock(text):
        return True
    segments = _segments(text)
    cued = [i for i, segment in enumerate(segments) if _has_cue(segment)]
    if not cued:
        return None
    for i in cued:
        after = segments[i + 1 :]
        before = segments[:i]
        answered_after = any(_content(s) and not _has_cue(s) for s in after)
        conceded = _CONCESSIVE.match(segments[i]) and any(_content(s) and not _has_cue(s) for s in before + after)
        if not (answered_after or conceded):
            return True
    return False


def prepared(answer: str) -> str:
    """What both halves of the classifier read: the start of the answer, normalised, quotes blanked."""
    return _blank_quotes(normalise(answer[:MAX_CHARS]))


def is_refusal(answer: str) -> bool:
    """True when the answer declines to answer (see the module docstring for what counts)."""
    return _classified(prepared(answer))


@lru_cache(maxsize=8192)
def _classified(text: str) -> bool:
    """The verdict on a prepared answer, kept: a run asks about the same answer several times
    (the answerer's draft, validity, the noise filter), and the model costs a MiniLM pass."""
    if not re.search(r"\w", text):
        return True  # empty, whitespace or punctuation only: nothing is answered
    verdict = rule_verdict(text)
    if verdict is not None:
        return verdict
    if not asks_model(text):
        return False
    from foveate_dspy.method.refusal_model import bundled_model

    model = bundled_model()
    return bool(model.probabilities([text])[0] >= model.threshold)

"""Does an answer decline to answer? The one refusal classifier of the project.

Compile validity, the noise filter, the evals' offline judges and the fine-tuning judge all ask
this module, so a refusal is a refusal everywhere. A refusal that slips into a training set
teaches the student to refuse; a genuine answer taken for a refusal wastes a teacher call and
biases the set against answers that mention what is unknown. Both mistakes are measured on a
hand-written labelled set (tests/data/refusals.jsonl, `python benchmarks/refusal.py`).

Rules first, then a model. The rules cost well under a millisecond; an answer they find no cue
in goes to a logistic regression over its MiniLM embedding and character n-grams
(`refusal_model.py`), because refusals keep being written in phrasings no rule names ("The text
leaves us in the dark here."). The same model may overrule a cue when it is all but sure the
answer is genuine (`model_may_overrule`). The rules look for a *cue* that the answer is about the source's silence
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
concession ("Although the article does not give his age, it says ...") leaves an answer. What the
source does give ("no exact year, only that it opened after the war", "只说", "nur dass"), a
reason ("... because the garrison had been evacuated") and an exception ("except a figurine")
are such contrasts too. A contrast with no subject of its own ("The article covers the war but
not its end", "Der Text erwähnt X, nennt aber keinen Y", "文章讲了X，但没说Y") takes the
source from the clause before it; German "aber"/"jedoch" open a contrast only after punctuation
or the verb of a new clause, since mid-clause ("sagt aber nichts") they belong to the cue.

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
    r"given)|piece|snippet|essay|narrative|section|account|write-?up|blurb|summary|overview|page|paragraphs|passages|excerpts|lines)"
    # "the context you've given me", "the text I was given"
    r"(?:\s+(?:(?:that\s+)?you(?:'ve|\s+have)?\s+(?:given|provided|shared|supplied|sent)(?:\s+me|\s+us)?|(?:i|we)(?:'ve|\s+have)?\s+(?:was\s+|were\s+|been\s+)given"
    r"|supplied|provided|given|at\s+hand))?"
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
    r"comment|deal|expand|inform|establish|confirm|supply|spell|enter|venture|delve|dwell|extend)"
)
_TELLS = rf"(?:{_TELL}(?:s|es|ed|d|ing)?|(?:specif|clarif|identif|suppl)(?:ies|ied))"
_NEG = r"(?:does\s*not|doesn'?t|does\s+n't|did\s*not|didn'?t|do\s*not|don'?t|never|fails?\s+to|failed\s+to|cannot|can't|won't|will\s+not)"
_ADVERB = r"(?:(?:really|actually|explicitly|directly|specifically|clearly|precisely|even|further|anywhere|at\s+all|exactly|quite|in\s+fact)\s+)*"
_PASSIVE = (
    r"(?:mentioned|stated|specified|given|provided|covered|addressed|discussed|included|disclosed|"
    r"indicated|named|identified|contained|found|answered|explained|described|listed|recorded|"
    r"revealed|noted|reported|known|clear|clarified|available|said|told|documented|detailed|shown|"
    r"present|offered|supplied|presented|cited|spel(?:led|t)\s+out|elaborated|explored|made\s+clear|"
    r"touched\s+(?:on|upon)|brought\s+up|gone\s+into)"
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
_KNOW_VERB = r"(?:know|say|tell|determine|answer|find|work\s+out|establish|infer|confirm|judge|be\s+sure|conclude|identify|see|guess|pin\s+(?:that\s+|it\s+|this\s+)?down)"

_CUES_EN = [
    # the source is silent: "the passage doesn't say", "the article makes no reference to"
    rf"{_SOURCE_OR_IT}\s+(?:also\s+)?(?:{_NEG}\s+{_ADVERB}{_TELL}|never\s+{_ADVERB}{_TELLS})\b",
    (rf"{_SOURCE_OR_IT}\s+(?:gives|provides|offers|contains|includes|has|holds|lists|mentions|makes|"
     rf"supplies|presents|shows|says|tells\s+us|records)\s+(?:nothing|not\s+a\s+single|none|no\b"
     # "the article says no votes were cast": a reported fact, not the source's silence
     r"(?!\s+[^\W\d_]+\s+(?:were|was|had|has|is|are|could|did|survived?)\b))\b"),
    rf"{_SOURCE}\s+(?:says|tells\s+us|mentions|reveals|states|gives|offers)\s+nothing\b",
    (rf"{_SOURCE}\b[^.;!?]{{0,80}}?\b(?:and|but)\s+(?:(?:says|tells\s+us|mentions|reveals|gives|offers)\s+nothing|"
     rf"{_NEG}\s+{_ADVERB}{_TELL}|is\s+(?:silent|blank|quiet|mute)|(?:stops|falls)\s+short\s+of|sidesteps|passes\s+over|skips\s+over)\b"),
    rf"{_SOURCE}\s+(?:is\s+not|isn't|was\s+not|wasn't)\s+(?:specific|explicit|clear|precise|forthcoming|detailed)\b",
    (rf"{_SOURCE_OR_IT}\s+(?:is|was|remains|stays|keeps|goes)\s+(?:entirely\s+|completely\s+|totally\s+|rather\s+|strangely\s+|conspicuously\s+)?"
     # "it was unclear at the time whether the bank would intervene": a fact of history, not of the source
     r"(?:silent|mute|mum|quiet|blank|vague|unclear|not\s+clear)\b(?!\s+(?:at\s+the\s+time|then|until|for\s+(?:years|decades|months|a\s+time)|even\s+to)\b)"),
    (rf"{_SOURCE}\s+keeps\s+(?:its\s+counsel|(?:it|that|this|them)\s+to\s+itself|to\s+itself)|{_SOURCE}(?:\s*,\s*\w+\s*,)?\s+is\s+(?:of\s+)?(?:no|little)\s+help\b"
     r"|\b(?:would|'d)\s+(?:need|have)\s+to\s+consult\b|\b(?:i|we)\s+find\s+no\s+(?:trace|mention|record|sign)\b"
     rf"|{_SOURCE_OR_IT}\s+(?:sheds?|casts?|throws?)\s+no\s+light\b|\bsources?\s+(?:beyond|other\s+than|outside(?:\s+of)?)\s+{_SOURCE}"
     rf"|{_SOURCE}\s+(?:chose|chooses|opted|opts|decided)\s+not\s+to\s+(?:include|mention|say|specify|cover|discuss|give|name|go\s+into)\b"
     r"|\b(?:left|leaves?)\s+(?:\w+\s+)?to\s+the\s+reader'?s?\s+imagination\b|^you'?ve\s+got\s+me(?:\s+there)?\b|\byou\s+got\s+me\s+there\b"
     r"|^(?:hard|difficult|impossible|tough)\s+to\s+(?:say|tell)\s*(?:[-,:;.!]|$)|^(?:mere|pure|only|just)\s+(?:conjecture|speculation|guesswork|guessing)\b"
     rf"|{_SOURCE}\s+(?:is\s+)?(?:focused|focuses|concentrates|centred|centered)\s+on\b[^.;!?]*?\brather\s+than\b"
     rf"|{_SOURCE}\b[^.!?]*\b(?:off\s+the\s+map|draws?\s+a\s+veil\s+over)\b|\b(?:i|we)\s+find\b[^.;!?]*?\b(?:goes|go|is|are|remains?)\s+(?:unrecorded|unreported|unmentioned|unaddressed|unstated)\b"
     rf"|{_SOURCE}\b[^.;!?]*?\bwithout\s+(?:saying|telling\s+us|explaining|specifying)(?:\s+(?:so|which|what|who|when|where|why|how))?\s*[.!]?$"
     r"|\b(?:remains?|is)\s+a\s+mystery\s+here\b|\b(?:is|are)\s+left\s+out\s*[.!]?$"),
    rf"{_SOURCE}\s+(?:lacks|is\s+lacking|is\s+missing|omits|skips|ignores|overlooks|passes\s+over)\b",
    rf"{_SOURCE}\s+leaves\s+(?:this|it|that|them|the\s+\w+)\s+out\b",
    rf"{_SOURCE}\s+(?:stops|falls|comes)\s+short\s+of\b|\bas\s+far\s+as\s+{_SOURCE}\s+(?:goes|is\s+concerned)\b[^.;!?]*?\b(?:mystery|unknown|unclear|open|unanswered|lost)\b",
    # "who made it goes unrecorded here": the absence is placed in the source
    (r"\b(?:goes|go|went|remains?|stays?)\s+(?:unrecorded|unmentioned|unstated|unnamed|unsaid|unreported|unanswered|unaddressed|unspecified)"
     rf"\s+(?:here|in\s+{_SOURCE}|throughout\s+{_SOURCE})"),
    r"(?:\b(?:i|we)\b[^.;!?]{0,60}?|^(?:but|and|yet)\s+)c(?:a|o)me\s+up\s+(?:empty|dry|short)\b",
    # "the article mentions the festival but not the year": the elided "but not" (see _ELIDED)
    rf"^(?:but|yet)\s+{_SOURCE_OR_IT}\s+(?:not\s+(?!only\b)|nothing\b)",
    rf"\b(?:beyond|outside(?:\s+of)?)\s+(?:what|the\s+(?:scope|bounds|limits|four\s+corners|reach)\s+of(?:\s+what)?)\s+{_SOURCE_OR_IT}",
    r"\b(?:beyond|outside)\s+its\s+(?:reach|scope|remit|purview|horizon|range)\b|\byou\s+asked\s+(?:about|for|who|what|when|where|why|how|whether|which)\b[^.!?]*?\b(?:out\s+of\s+reach|absent|missing|unavailable)\b",
    # "the piece covers the vaccine's history; the cost per dose is absent", "... are absent from it"
    (rf"{_SOURCE}\b[^.!?]*;\s*[^.;!?]*?\b(?:is|are|goes|go|went|remains?)\s+(?:\w+\s+)?(?:absent|missing|lacking|unreported|unrecorded|unmentioned|unaddressed|"
     r"unstated|unexplained|a\s+mystery)\s*[.!]?$"),
    rf"\b(?:absent|missing)\s+from\s+(?:it|here|{_SOURCE})\b",
    rf"^neither\b[^.;!?]*?\b{_SOURCE_NOUN}s?\s+{_TELLS}\b|{_SOURCE}\b[^.!?]*\b(?:never\s+comes?\s+up|does\s*n[o']?t\s+come\s+up)\b",
    rf"\b(?:falls?|lies?)\s+outside\s+(?:it|its\s+scope|{_SOURCE})\b|\b(?:need|have)\s+to\s+(?:look|check|consult)\b[^.;!?]*?\brather\s+than\s+{_SOURCE}",
    # the question asks for more than the source holds: "that's more than this paragraph tells us"
    (rf"\bmore\s+than\s+{_SOURCE}\s+(?:tells|says|gives|provides|offers|shows|reveals|covers|contains)\b|\btake\s+more\s+than\s+{_SOURCE}\b"
     rf"|\bthan\s+{_SOURCE}\s+(?:provides|offers|gives|covers|contains)\b|\b(?:would|'d)\s+go\s+beyond\s+(?:the\s+evidence|what\s+{_SOURCE}|{_SOURCE})"
     r"|\bbeyond\s+what\s+(?:i|we)\s+can\s+(?:give|say|tell|offer|provide)\b"),
    (r"\b(?:i'd|i\s+would|i'd\s+have\s+to|i\s+would\s+have\s+to)\s+(?:be\s+)?(?:inventing|making\s+(?:it|things|something|that)\s+up|fabricating|"
     r"invent|make\s+(?:it|something|that)\s+up)\b|\b(?:i|we)\s+(?:would|'d)\s+need\s+(?:a|another|an)\s+(?:\w+\s+)?(?:source|reference|text|document)\b"),
    rf"(?:\bnot|n't)\s+(?:\w+\s+)?part\s+of\s+{_SOURCE}|\b(?:requested|asked-for)\s+[^.;!?]{{0,40}}?\b(?:is|are)\s+(?:unavailable|not\s+available|missing|absent)\b",
    rf"\b(?:lost|unknown|unclear|open|a\s+mystery|unanswered)\b[^.;!?]*?\bas\s+far\s+as\s+{_SOURCE}\s+(?:goes|is\s+concerned)\b",
    (rf"\b(?:based\s+(?:solely\s+|only\s+)?on|going\s+by|from|with|looking\s+at|reading(?:\s+through)?)\s+(?:only\s+)?{_SOURCE}(?:\s+(?:alone|only))?\s*,[^.;!?]*?"
     r"(?:\b(?:unknown|unclear|not\s+known|not\s+clear|a\s+mystery|open\s+question|uncertain|undetermined|impossible|not\s+possible|not\s+feasible|cannot|lost|unrecorded|unnamed|"
     r"unmentioned|unreported|unaddressed|unstated)\b|can't)"),
    rf"{_SOURCE_OR_IT}\s+(?:gives|leaves)\s+(?:me|us)\s+nothing\b|{_SOURCE}\s+(?:sidesteps|dodges|avoids|glosses\s+over)\b",
    r"\b(?:is|are|was|were)\s+(?:passed\s+over|glossed\s+over)\s*[.!]?$|\b(?:goes|go|went|remains?)\s+(?:unmentioned|unstated|unsaid|unaddressed)\s*[.!]?$",
    rf"^nothing\s+(?:here|in\s+{_SOURCE})\s+(?:pins\s+down|says|tells|indicates|shows|reveals|answers|settles|establishes|speaks\s+to|addresses|mentions|covers|touches\s+on)\b",
    (r"^without\s+(?:further|more|additional|other|extra)\s+(?:context|information|details?|sources?|data|material|evidence)\b[^.;!?]*?"
     r"(?:\b(?:impossible|cannot|not\s+possible|no\s+way|open\s+question|unknown|unclear|unanswerable|not\s+feasible)\b|can't)"),
    r"\byour\s+guess\s+is\s+as\s+good\s+as\s+mine\b|\b(?:i've|i\s+have|i)\s+got\s+nothing\b|\b(?:have|going)\s+to\s+pass\s+on\s+(?:this|that)\b",
    # "I've gone through the paragraphs twice and there's no trace of ...": the answerer searched the source
    r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:gone|went|looked|read|searched|checked|scanned|combed)\b[^.;!?]*?\b(?:no\s+trace|nothing|no\s+mention)\b",
    r"\b(?:i|we|you|one)\s+(?:would\s+|will\s+|'d\s+)?need\s+more\s+(?:information|context|details?|data)\b",
    rf"{_SOURCE}\s+(?:simply\s+|just\s+|also\s+)?leaves\s+(?:\w+\s+){{0,3}}?(?:unanswered|open|unclear|unexplained|unsaid|unaddressed|untouched|unmentioned|unexplored|unresolved|unaccounted\s+for)\b",
    rf"\b(?:is|are|was|were)\s+(?:missing|absent|lacking|omitted|left\s+out)\s+(?:from|in)\s+{_SOURCE}",
    rf"\b(?:is|are)\s+(?:insufficient|not\s+enough|too\s+\w+)\s+to\s+(?:{_KNOW_VERB}|decide)\b",
    rf"(?:\bnot|n't)\s+something\s+(?:that\s+)?(?:{_SOURCE}\s+\w+|(?:i|we)\s+(?:can|could)\s+{_KNOW_VERB})",
    rf"\bno\s+(?:mention|reference|statement)\s+(?:of\s+[^.;!?]*?\s+)?(?:is|was)\s+made\b(?!{_ELSEWHERE})",
    (rf"(?:\b(?:is|are|was|were)|'s)\s+left\s+(?:entirely\s+)?(?:unclear|open|unanswered|unexplained|unsaid|vague|unaddressed|unmentioned|unstated|untouched|unresolved|"
     rf"unrecorded|unreported|undocumented)\s*(?:(?:by|in)\s+{_SOURCE}|(?:here\s*)?[.!]?$)"),
    # something is not given in the source: "the exact year is not stated in the article"
    rf"(?:{_NOT_BE}|\bnot)\s+{_ADVERB}{_PASSIVE}\s+(?:anywhere\s+)?(?:in|by|from|within)\s+{_SOURCE}",
    rf"(?:\bnot|n't|\bnowhere|\bnothing|\bno\s+\w+)\s+(?:\w+\s+)?(?:in|within)\s+{_SOURCE}\b",
    r"\bnowhere\s+(?:in|does|do|is)\b",
    rf"^no\s+(?:such\s+|further\s+|other\s+)?{_NOUN}\b[^.;!?]*?\b(?:in|within|from)\s+{_SOURCE}",
    rf"^(?:neither|no|nothing)\b[^.;!?]*?\b(?:is|are|was|were)\s+{_ADVERB}{_PASSIVE}\b(?!\s+(?:to|that|by\s+(?!{_SOURCE})))(?![^.;!?]*\buntil\b)(?!{_ELSEWHERE})",
    (rf"^(?:(?:but|and|however|yet)\s*,?\s*)?(?:[^.;!?]*?{_SOURCE}\s*,\s*)?(?:(?:unfortunately|sadly|however|sorry|regrettably|alas)\s*,?\s*)?"
     rf"there\s*(?:is|are|'s|isn't|aren't)\s+(?:no|not\s+any|any)\s+(?:(?:specific|further|other|clear|such|explicit|"
     rf"additional|relevant|direct)\s+)?{_NOUN}\b(?!{_ELSEWHERE})"),
    (rf"^(?:it|this|that|this\s+information|that\s+information|such\s+information|this\s+detail|that\s+detail|"
     rf"the\s+answer|the\s+information|information\b[^.;!?]{{0,60}}?|details?\b[^.;!?]{{0,60}}?)\s*(?:{_NOT_BE})\s+"
     rf"{_ADVERB}{_PASSIVE}(?![\w-])(?!{_ELSEWHERE})"),
    rf"\b(?:there\s+(?:is|are|was|'s)|there's)\s+(?:no|not\s+any|nothing|not\s+enough|insufficient)\b[^.;!?]*?\b(?:in|from|within)\s+{_SOURCE}",
    rf"\bthere(?:\s+is|'s)\s+no\s+{_NOUN}(?:\s+(?:about|on|regarding|of)\s+(?:it|this|that|the\s+matter|this\s+topic))?(?:\s+here)?\s*[.!]?$",
    rf"\b(?:there\s+is|there's)\s+no\s+way\s+(?:to|of)\s+{_KNOW_VERB}",
    rf"\b(?:provides|gives)\s+(?:insufficient|not\s+enough)\s+{_NOUN}\b",
    (rf"\b(?:not\s+enough|insufficient)\s+(?:information|context|details?|data|info)(?:\s+(?:is\s+)?(?:given|provided|available))?"
     rf"(?:\s+(?:in|from)\s+{_SOURCE})?\s+to\s+(?:answer|tell|say|know|determine|be\s+sure|work\s+(?:it\s+)?out|respond|decide)\b"),
    r"^(?:there\s+is\s+|there's\s+)?(?:not\s+enough|insufficient)\s+(?:information|context|details?|data|info)\s*$",
    # broader: the source, then a negation, then a telling verb, in one clause
    rf"\b{_SOURCE_NOUN}s?\b(?:'s)?[^.;:!?]{{0,50}}?(?:\b(?:not|never|no|nothing|nowhere)\b|n't)[^.;:!?]{{0,30}}?\b(?<!united\s){_TELLS}\b",
    # a bare negated passive that ends the clause: "the year of his death is never given."
    (rf"\b(?:is|are|was|were|isn't|aren't|wasn't|weren't)\s+(?:not\s+|never\s+)?{_ADVERB}(?:(?<=not\s)|(?<=never\s)|(?<=n't\s)){_ADVERB}"
     rf"{_PASSIVE}(?:\s+(?:anywhere|here|explicitly|either))?\s*[.!]?$"),
    # the answer or question cannot be had
    r"\b(?:the|an|this)\s+answer\s+(?:to\s+[^.;!?]*?\s+)?(?:is|was|remains)\s+(?:not|n't|unknown|unclear|missing|nowhere|indeterminable|undeterminable|undetermined)\b(?!\s+to\s+(?!me\b|us\b))",
    r"\b(?:the|an|this)\s+answer\s+(?:isn't|cannot|can't|could\s+not)\b",
    r"\b(?:the|this|that|your)\s+question\s+(?:cannot|can't|could\s+not|is\s+not\s+answered|isn't\s+answered|remains\s+unanswered)\b",
    rf"^(?:(?:this|that|it)\s+)?(?:cannot|can't|could\s*not|couldn't)\s+be\s+{_WORKED_OUT}\b",
    rf"\b(?:cannot|can't|could\s*not|couldn't)\s+be\s+{_WORKED_OUT}\s+(?:from|in|by|with|using|based\s+on)\s+{_SOURCE}",
    r"\bunanswerable\b(?!\s+\w)",
    rf"\b(?:it\s+is|it's)\s+(?:not\s+possible|impossible|unclear|not\s+clear)(?:\s*,[^.;!?]{{0,60}}?,)?\s+to\s+{_KNOW_VERB}\b",
    rf"\b(?:is|are|remains?|stays?)\s+(?:unknown|unclear|not\s+known|not\s+clear|uncertain|unspecified|unstated|unexplained|open|undetermined|indeterminable|undisclosed|unrecorded)\s+(?:from|in|based\s+on|according\s+to|by)\s+{_SOURCE}",
    rf"\b(?:based\s+on|from|given|according\s+to)\s+{_SOURCE}[^.;!?]*?\b(?:impossible|not\s+possible|cannot|can't)\b",
    # the answerer does not know
    r"\b(?:i|we)\s*(?:really\s+|honestly\s+|simply\s+)?(?:do\s*not|don't|dont|do\s+n't|did\s*not|didn't)\s+(?:\w+\s+)?(?:know|see|have|find|learn|get|hear|read)\b(?!\s+(?:of|is|was)\b)",
    (rf"\b(?:i|we)\s*(?:(?:therefore|thus|so|hence|honestly|really|simply|still)\s+)?(?:cannot|can't|could\s*not|couldn't|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to|"
     rf"'m\s+not\s+able\s+to|was\s+unable\s+to|was\s+not\s+able\s+to|wasn't\s+able\s+to|weren't\s+able\s+to|"
     rf"were\s+unable\s+to|have\s+no\s+way\s+of)\s+(?:\w+\s+)?"
     rf"(?:{_KNOW_VERB}|knowing|telling|saying|locate|help|assist|provide|give|offer|answer|describe|specify|explain)"),
    r"\b(?:i|we)\s+(?:have|had)\s+no\s+(?:idea|way|information|clue|answer|data)\b",
    r"\b(?:i|we)\s*(?:am|'m|are|'re)\s+(?:not\s+sure|unsure|uncertain|not\s+certain)\b",
    r"\bwe(?:\s+are|'re|\s+were)\s+(?:not|never)\s+(?:told|given|informed)\b|\bwe\s+(?:aren't|weren't)\s+told\b",
    r"\b(?:i|we)\s+(?:cannot|can't)\s+say\b|^(?:cannot|can't|hard\s+to)\s+say\b",
    r"\b(?:beats|search)\s+me\b|\bdraw(?:ing|s)?\s+a\s+blank\b|^(?:pass|nothing\s+to\s+go\s+on)\s*[.!]?$",
    r"\b(?:i'd|i\s+would|we'd|we\s+would)\s+(?:only\s+|just\s+|merely\s+)?be\s+(?:speculating|guessing)\b",
    # "any figure I gave would be pure conjecture", "anything I said would be a guess"
    r"^(?:any|anything)\b[^.;!?]{0,60}?\bwould\s+be\s+(?:a\s+|an\s+)?(?:pure\s+|mere\s+|just\s+|only\s+)?(?:guess(?:work)?|conjecture|speculation|shot\s+in\s+the\s+dark|invention|fabrication)\b",
    r"\b(?:i|we)(?:\s+would|'d)\s+need\s+(?:additional|more|further|extra)\s+(?:context|information|details?|data|sources?)\b",
    (r"\b(?:you|i|we|one)(?:'d|'ll|\s+would|\s+will)?\s+(?:have\s+to|need\s+to|must|should|may\s+want\s+to|might\s+want\s+to)\s+"
     r"(?:look\s+(?:that|it|this)\s+up|look|find\s+(?:that|it|this)\s+out|check|consult\s+\w+(?:\s+\w+)?)\s+(?:elsewhere|in\s+another\s+source)\b"),
    rf"{_SOURCE}\s+leaves\s+(?:us|the\s+reader|readers|you|me)\s+in\s+the\s+dark\b|\b(?:i'm|i\s+am|we're|we\s+are)\s+(?:\w+\s+)?in\s+the\s+dark\b",
    rf"{_SOURCE}\s+leaves\s+(?:some|a\s+lot\s+of|much|considerable|room\s+for)\s+doubt\b|\b(?:remains?|stays?)\s+a\s+mystery\s*[.!]?$",
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
    r"(?:not\s+(?:enough|sufficient)|insufficient)\s+(?:information|info|context|data|details?)|not\s+determinable|k\.\s?a|"
    r"no\s+(?:information|info|data|details?)(?:\s+(?:given|provided|available))?|"
    r"(?:information|info|data|details?|answer)\s+(?:is\s+|are\s+)?(?:unavailable|not\s+available|missing|lacking)|"
    rf"{_NOUN}\s+(?:is\s+|are\s+)?not\s+{_PASSIVE}|"
    rf"not\s+(?:\w+\s+)?{_PASSIVE}|not\s+applicable|not\s+(?:in|here)|"
    r"(?:cannot|can't|can\s+not)\s+(?:say|tell|answer|be\s+(?:determined|answered|known|said))(?:\s+(?:that|this|it))?|"
    r"(?:hard|impossible|difficult)\s+to\s+(?:say|tell)|who\s+knows|don't\s+know|dunno|idk|"
    r"(?:left\s+)?(?:unspecified|unstated|unanswered|unmentioned|unaddressed|unexplained)|"
    r"unbekannt|keine\s+angaben?|nicht\s+(?:angegeben|bekannt|erwahnt|erwähnt|genannt|beantwortbar)|"
    r"weiss\s+nicht|weiss\s+ich\s+nicht|keine\s+ahnung|unklar|(?:leider\s+)?fehlanzeige|passe|"
    r"(?:答案|详情|具体情况)?不详|不知道|不知|不晓得|未知|不清楚|未提及|未提到|没有提到|没提到?|没说|没写|无从得知|无法得知|不得而知|无法确定|无法回答|未说明|没有说明|不明|跳过|(?:恐怕)?只能存疑|"
    r"(?:没有|未|并未)(?:提及|提到)(?:此事|这一点|这件事)|"
    r"(?:暂无|无|没有)(?:相关)?(?:的)?(?:信息|资料|数据|内容))$"
)
_STOCK_TAIL = re.compile(rf"\s*(?:,\s*)?(?:anywhere\s+)?(?:in|from|by|within|according\s+to|based\s+on)\s+(?:{_SOURCE}|{_SOURCE_NOUN})\s*$")
_LABEL = re.compile(r"^(?:answer|response|a)\s*:\s*")
_STOCK_ASIDE = re.compile(r"(?:,\s*|\s+)(?:honestly|sorry|i'm\s+afraid|i\s+fear|unfortunately|leider|抱歉|¯\\_\(ツ\)_/¯)$")

_DE_SOURCE = (
    r"(?:text(?:es|s|e|en)?|artikel(?:s|n)?|abschnitt(?:s|es|e|en)?|passagen?|absatz(?:es)?|absätzen?|absatzen?|dokument(?:s|es|e|en)?|"
    r"auszug(?:s|es)?|auszügen?|auszugen?|beitrag(?:s|es)?|quellen?|textstellen?|kontext(?:es|s)?|ausschnitt(?:s|es|e|en)?|passus|vorlage|"
    r"unterlagen|materials?|materialien)"
)
# "der vorliegende Text", "im bereitgestellten Kontext", "aus den angegebenen Absätzen"
_DE_ADJECTIVES = r"(?:[^\W\d_]+(?:e|en|er|es|em)\s+){0,2}"
_DE_THE_SOURCE = (
    r"(?:der|die|das|dem|den|des|im|in\s+dem|in\s+den|aus\s+dem|aus\s+den|dies(?:e[mnrs]?)?|in\s+dies(?:e[mnrs]?)|aus\s+dies(?:e[mnrs]?))\s+"
    rf"{_DE_ADJECTIVES}{_DE_SOURCE}"
)
_CUES_DE = [
    rf"\b{_DE_THE_SOURCE}\b[^.;!?]*?\b(?:nicht|nichts|keine?n?|weder|nirgends|nirgendwo|niemanden?)\b",
    # the source is silent in other words: "lässt ... außen vor", "hüllt sich in Schweigen", "bleibt stumm"
    (rf"\b{_DE_THE_SOURCE}\b[^.!?]*?\b(?:aussen\s+vor|ausgespart|unerwahnt|unerwähnt|im\s+dunkeln|im\s+unklaren|in\s+schweigen|"
     r"stillschweigen|stumm|schuldig|lücke|lucke|leerstelle|verschweig\w*|bleibt\s+(?:offen|unklar|ungeklart|ungeklärt))\b"),
    (rf"\bverschweig(?:t|en)\s+{_DE_THE_SOURCE}|\b(?:leerstelle|lücke|lucke)\s+(?:im|in\s+dem|in\s+der)\s+{_DE_SOURCE}|\bdie\s+falsche\s+adresse\s*[.!]?$"
     rf"|\bendet\b[^.;!?]*?\bwas\s+{_DE_THE_SOURCE}\s+hergibt\b|\bwie\s+soll\s+(?:man|ich)\b[^.;!?]*?\b{_DE_THE_SOURCE}|\b(?:würde|wurde|ginge)\b[^.;!?]*?\bhinaus\w*\b[^.;!?]*?\b{_DE_THE_SOURCE}\b"),
    (r"\b(?:eine\s+)?(?:andere|weitere|zusätzliche|zusatzliche)\s+quellen?\b[^.;!?]*?\b(?:gerichtet|konsultier\w*|nachschlagen|heranziehen|erforderlich|nötig|notig|notwendig)\b"
     r"|(?<!nähere\s)(?<!nahere\s)(?<!genauere\s)(?<!weitere\s)\b(?:angaben|informationen|hinweise|daten)\b[^.;!?]{0,40}?\bfehlen\b"
     rf"|\b(?:sie\s+fragen|die\s+frage\s+(?:bezieht\s+sich|zielt|betrifft))\b[^.!?]*?{_DE_THE_SOURCE}\b[^.;!?]*?\b(?:nur|lediglich|ausschliesslich|ausschließlich)\b"
     rf"|^{_DE_THE_SOURCE}\s+(?:behandelt|befasst\s+sich|beschreibt|beschäftigt\s+sich|schildert|konzentriert\s+sich|widmet\s+sich|thematisiert)\s+(?:jedoch|aber)\s+(?:nur|lediglich|ausschliesslich)\b"
     r"|^es\s+wird\s+nicht\s+(?:gesagt|erwähnt|erwahnt|genannt|angegeben|erklärt|erklart|beschrieben)\b|\bfehl(?:t|en)\b[^.;!?]{0,30}?\bjegliche[rns]?\b"),
    r"^(?:leider\s+)?fehlanzeige\b|\bmit\s+keinem\s+wort\s+(?:erwähnt|erwahnt|genannt|angesprochen|thematisiert|bedacht)\b",
    r"\bfehl(?:t|en)\s+(?:jegliche[rn]?|jede|jeder)\s+(?:hinweis|angabe|information|spur)|\bkeine\s+(?:stelle|textstelle),?\s+(?:die|in\s+der|an\s+der|wo)\b",
    (r"\b(?:könnten|koennten|können|konnten)\s+sie\b[^.;!?]*?\b(?:artikel|text|kontext|abschnitt|quelle)\b[^.;!?]*?"
     r"(?:zur\s+verfügung\s+stellen|zur\s+verfugung\s+stellen|geben|schicken|nachreichen)"),
    (r"\b(?:bräuchte|braeuchte|bräuchten|brauchte|benötigt|benötigte|benotigt|bedarf\s+es|muss\s+auf|müsste\s+auf|verwiesen)\b[^.;!?]*?"
     r"\b(?:weitere|weiterführende|weiterfuhrende|andere|zusätzliche|zusatzliche)\s+quellen\b|\b(?:weitere|weiterführende|weiterfuhrende)\s+quellen\b[^.;!?]*?\bverwiesen\b"),
    r"\b(?:ich|man|wir)\s+(?:müsste|muesste|musste|müssten|muessten)\s+(?:hier\s+|da\s+)?raten\b|^unklar\s+bleibt\b(?!\s+(?:nur|lediglich|einzig))|\b(?:ist|sind|war|waren|bleibt|bleiben)\s+(?:\w+\s+)?nicht\s+(?:ü|u|ue)berliefert\b"
    r"|\bsteht\s+(?:da|dort|hier|darin)\s+(?:leider\s+|aber\s+|jedoch\s+)?nicht\s*(?:[.!]|$)|\ban\s+keiner\s+stelle\s+(?:\w+\s+)?(?:beziffert|genannt|erwähnt|erwahnt|angegeben|beschrieben|erklärt|erklart|thematisiert)\b"
    r"|\bnur\s+(?:mutma(?:ss|ß)en|spekulieren|raten)\b|\bunbeantwortet\s+bleiben\b|\bbleibt\s+unbeantwortet\b|\bmangels\s+(?:angaben|informationen|daten|hinweisen)\b",
    r"\bl(?:a|ä)sst\b[^.;!?]*?\b(?:den\s+leser|die\s+leser|uns|einen)\s+im\s+(?:unklaren|dunkeln)\b|\bl(?:a|ä)sst\s+(?:der|die|das)\s+\w+\s+im\s+dunkeln\b",
    rf"\b(?:nicht|nichts|keine?n?)\b[^.;!?]*?\b(?:im|in\s+dem|in\s+den|aus\s+dem|aus\s+den|dem|den|der|des)\s+{_DE_ADJECTIVES}{_DE_SOURCE}\b",
    # "hier stößt der Artikel an seine Grenzen", "jede Zahl wäre aus der Luft gegriffen"
    rf"\b{_DE_THE_SOURCE}\b[^.;!?]*?\ban\s+seine\s+grenzen\b|\baus\s+der\s+luft\s+gegriffen\b",
    r"\bich\s+weiss\s+(?:es\s+|das\s+)?(?:leider\s+|auch\s+)?nicht\b|^weiss\s+ich\s+(?:\w+\s+)?nicht\b",
    (r"\b(?:lasst|lässt|kann|können|ließe|liesse)\s+sich\b[^.;!?]*?\bnicht\s+(?:bestimmen|sagen|feststellen|ermitteln|beantworten|erkennen|"
     r"entnehmen|klaren|klären|ableiten|herauslesen|erschliessen|rekonstruieren)"),
    r"\bgeht\b[^.;!?]*?\bnicht\s+hervor\b",
    r"\bnicht\s+beantwortet\s+werden\b",
    (r"^(?:(?:dazu|daruber|darüber|hierzu|es)\s+(?:gibt\s+es|finden\s+sich|liegen|werden|sind|macht\s+\w+\s+\w+)\s+)?"
     r"keine\s+(?:informationen|angaben?|hinweise|auskunft|daten|zahlen|erkenntnisse)\b"),
    r"\b(?:dazu|daruber|darüber|hierzu)\b[^.;!?]*?\bkeine\s+(?:informationen|angaben?|hinweise|auskunft)\b",
    rf"\b(?:der|die|das)\s+{_DE_SOURCE}\s+l(?:a|ä)sst\b[^.;!?]*?\boffen\b",
    rf"\b(?:der|die|das)\s+{_DE_SOURCE}\s+schweigt\b|\b(?:dazu|daruber|darüber|hierzu)\s+schweigt\b",
    r"\bnirgends\s+(?:\w+\s+)?(?:erwähnt|erwahnt|genannt|angegeben|beschrieben)\b|\bsteht\s+(?:da\s+|dort\s+|hier\s+)?(?:leider\s+)?nicht\s+drin\b",
    (r"\b(?:wird|werden|ist|sind|wurde|wurden)\s+(?:\w+\s+){0,3}?nicht\s+(?:gesagt|erwähnt|erwahnt|genannt|angegeben|beschrieben|"
     r"erklärt|mitgeteilt|erläutert|ausgeführt|thematisiert|behandelt|erzählt|erzahlt|berichtet|geschildert|dargestellt|aufgeführt|aufgefuhrt|"
     r"aufgelistet|verzeichnet|vermerkt)\s*[.!]?$"),
    r"\bnicht\s+die\s+rede\b",
    r"\büberfragt\b|\buberfragt\b|\bunbeantwortbar\b|\bnicht\s+(?:zu\s+)?beantwort(?:bar|en)\b",
    r"\bbeantwortung\b[^.;!?]*?\bnicht\s+m(?:ö|o|oe)glich\b",
    r"\bnirgends\s+(?:\w+\s+)?(?:ge\w+t|\w+iert|be\w+t|er\w+t)\b|\berf(?:ä|a)hrt\s+man\s+nicht\b|\bbessere\s+quelle\s+als\b",
    (rf"^weder\b[^.;!?]*?\b(?:{_DE_SOURCE}|einleitung|teil|satz)\b[^.;!?]*?\b(?:genannt|erwähnt|erwahnt|angegeben|beschrieben|gesagt|enthalten|enthält|enthalt|nennen|nennt|erwähnen|erwahnen)\b"
     r"|\b(?:andere|weitere|weiterführende|weiterfuhrende|zusätzliche|zusatzliche)\s+quellen\s+(?:heranziehen|konsultieren|befragen|zu\s+rate\s+ziehen)\b"),
    r"\b(?:findet\s+sich|steht|stehen|verliert\s+\w+|taucht|tauchen)\b[^.;!?]*?\b(?:kein\s+wort|nirgends|nirgendwo)\b",
    r"\bfindet\s+sich\s+(?:darin|dort|hier)\b[^.;!?]*?\b(?:nichts|keine?n?)\b",
    (r"\b(?:müsste|muesste|muss)\s+(?:man|ich|sie|du|wir)\b[^.;!?]*?\b(?:woanders|anderswo)\s+(?:nachschlagen|nachlesen|nachsehen|suchen|fragen)\b"
     r"|\b(?:bräuchte|braeuchte|bräuchten|braeuchten)\s+(?:ich|man|wir|sie|du)\s+(?:\w+\s+)?(?:eine\s+)?andere\s+quelle\b"),
    r"\b(?:wäre|ware|waere)\s+(?:reine|bloße|blosse|nur)\s+(?:spekulation|vermutung|mutma(?:ss|ß)ung|raterei)\b|\bins\s+blaue\b|\baus\s+den\s+fingern\s+saugen\b|\bdie\s+segel\s+streichen\b",
    (r"^(?:jede|jeder|jedes|eine)\b[^.;!?]{0,60}?\b(?:wäre|ware|waere)\b[^.;!?]{0,30}?\b(?:reine|bloße|blosse|nur|pure)\s+(?:spekulation|vermutung|raterei|mutma(?:ss|ß)ung)\b"
     r"|\b(?:bleib\w*|blieb\w*)\s+(?:jedoch\s+|aber\s+)?(?:unerwähnt|unerwahnt|ungenannt)\b|\b(?:bleib\w*|blieb\w*)\s+(?:jedoch|aber)\s+aussen\s+vor\b"),
    rf"\bbleibt\s+(?:im|in\s+dem|in\s+der|in\s+diese[mr])\s+{_DE_ADJECTIVES}{_DE_SOURCE}\s+(?:offen|unklar|ungeklärt|ungeklart|unerwähnt|unerwahnt|(?:ein\s+)?(?:rätsel|ratsel))\b|\bl(?:a|ä)sst\s+(?:der|die|das)\s+{_DE_SOURCE}\s+offen\b",
    rf"\bausserhalb\s+dessen,?\s+was\b[^.;!?]*?\b{_DE_SOURCE}\b|\b{_DE_SOURCE}\b[^.;!?]*?\bkeinerlei\b|\bkeinerlei\b[^.;!?]*?\b{_DE_SOURCE}\b",
    rf"\ban\s+keiner\s+stelle\b[^.;!?]*?\b{_DE_SOURCE}\b|\b{_DE_SOURCE}\b[^.;!?]*?\ban\s+keiner\s+stelle\b",
    (r"\b(?:erfährt|erfahrt|erfahren)\s+(?:man|wir|sie|der\s+leser)\b[^.;!?]*?\bnichts\b|\bentzieht\s+sich\s+meiner\s+kenntnis\b"
     r"|\bfehl(?:en|t)\s+(?:mir|uns)\b[^.;!?]{0,50}?\b(?:informationen|angaben|daten|kenntnisse|anhaltspunkte|hinweise|grundlagen)\b"
     r"|\b(?:mir|uns)\s+fehl(?:en|t)\s+(?:die\s+)?(?:informationen|angaben|daten|kenntnisse)\b"),
]
_ZH_SOURCE = r"(?:(?:所)?提供的(?:内容|材料|文字|文本|段落)|文中|文章|原文|文本|段落|材料|短文|上下文|上文|本文|这段|该文|文段|资料|节选|选段|摘录|条目|这篇(?:报道|文字|介绍)?)"
_ZH_SILENT = (
    r"(?:并)?(?:没有|没|未|无)(?:明确|具体|继续|再|进一步)?(?:任何|什么)?(?:提到|提及|说明|说|给出|涉及|写|交代|交待|讲|指出|记载|透露|关于|相关|答案|回答|"
    r"提供|谈及|谈到|论及|述及|列出|披露|描述|记录|点明|标明|讨论|告诉|记述|叙述|表述|介绍|描写|解释|谈|覆盖|触及|涉猎)"
)
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
    r"(?:并)?未(?:包含|含有|涉及)[^。；！？]{0,6}?(?:信息|内容|细节|数据|说明)",
    r"(?:找不到|找不着|没找到|没有找到)[。！？]?$|(?:找不着)(?:答案|相关)|另(?:找|寻|查)(?:资料|来源|出处)|帮不上(?:忙)?",
    # written-register idioms for "the source has nothing on it": 付之阙如, 无从考证, 未着一字
    r"阙如|缺如|无从(?:考证|查考|稽考|得知|知晓|判断|谈起|说起|确定|回答)|不可考|未着(?:一字|墨|笔墨)|(?:一个字|一字)(?:都|也)?(?:没|未)(?:写|提)|通篇(?:都)?(?:没有|未)",
    r"(?:根据|依据|依|凭|就|据)[^。；！？]*?(?:无法|没法|没办法|难以|不能)(?:确定|判断|推断|推知|得知|确认|回答|作答|知道|看出|断定|下结论)",
    r"(?:难以)(?:从|根据|由|凭)[^。；！？]*?(?:确定|判断|推断|推知|得知|看出)|得不出(?:答案|结论)|推断不出|推不出",
    r"我(?:没法|无法|不能|没办法)(?:判断|回答|确定|确认|告诉|说出|给出)|回答不了|说不上来|不好说|没(?:有)?头绪",
    r"(?:只能|纯属|无异于|得|要)(?:靠|是)?(?:凭空|胡乱)?(?:猜测|臆测|揣测|瞎猜|猜)|妄加(?:揣测|猜测|推测)",
    # the source is a blank, skips it, stops short, or the asker should look elsewhere
    rf"(?:是|属于|留下了?)(?:一片|一个|个)?空白|{_ZH_SOURCE}[^。；！？]*?(?:未知数|不得而知|未予|略过|跳过|略去|语焉不详)",
    rf"超出(?:了)?[^。；！？]{{0,8}}?{_ZH_SOURCE}|{_ZH_SOURCE}[^。；！？]{{0,8}}?范围(?:之外|以外)|{_ZH_SOURCE}[^。；！？]{{0,6}}?看不出",
    rf"{_ZH_SOURCE}[^。；！？]{{0,6}}?(?:里|中|内)(?:压根儿?|根本|完全|也|可)?(?:没有|没|并无)[。！？]?$|(?:翻遍|找遍|读遍|通读|查遍)[^。；！？]*?(?:没|未)(?:有)?(?:找到|看到|发现|见到)",
    r"(?:提供|需要|给我)(?:更多|更完整|完整|更详细)的?(?:背景)?(?:资料|文章|信息|内容|上下文|原文)|(?:问|查|找|看)(?:别的|其他|其它)(?:资料|来源|文献)|(?:去)?别处(?:找|查|寻找)",
    r"作者[^。；！？]*?(?:并)?(?:没有|没|未)(?:交代|交待|提到|提及|说明|涉及|谈及|透露|展开)|未见(?:记载|提及|说明|相关|有关|任何)",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:缺(?:乏|少)|无解|缺失|讳莫如深|欠奉|盲点|难觅踪影|(?:通通|统统)没有)|{_ZH_SOURCE}[^。；！？]{{0,4}}?(?:一片|一个|是)?空白|一概(?:未|没)(?:及|提|涉及)|不足以(?:判断|确定|回答|得出|说明|得知|推断|支撑|支持)|查无(?:此|相关|记载|资料|实据)|难以(?:给出|得出|下)(?:结论|答案|判断)|(?:就|从|根据)[^。；！？]*?(?:而言|来看|来说)[^。；！？]*?(?:未知数|空白|不得而知|无从|谜|悬案)",
    r"(?:查阅|查|翻翻|参考|参阅|查找|结合)(?:一下)?(?:其他|其它|别的|另外的|更多)[^。；！？]{0,12}?(?:资料|来源|文献|材料|史料)",
    (r"另请高明|答不了|(?:只能|只好)跳过|给不出(?:答案|回答)|找不出(?:任何)?(?:依据|答案|线索)|(?:别|不敢|不便|不能)乱说|不(?:想|能|愿|敢)(?:乱)?编|(?:恕我|我)(?:实在|也)?(?:爱莫能助|无能为力)"
     r"|(?:您|你)(?:问|提)的[^。；！？]*?(?:不沾边|对不上)|无只言片语|着墨全无|超纲|留待考证|(?:暂且|只能|只好)存疑|天知道|难下结论|(?:真|实在|确实)不知道"
     r"|(?:任何|什么)(?:答案|回答|数字|数据|说法|结论)[^。；！？]{0,4}?(?:只是|只能是|不过是)(?:猜测|臆测)"),
    r"不在(?:其中|讨论之列|(?:本文|文中|这段|该文|文章|原文)[^。；！？]{0,6}?(?:里|中|之内|范围|之列))|不在(?:其|本文的?)?(?:叙述|讨论|讲述|论述)?范围(?:之内|内)",
    rf"在{_ZH_SOURCE}之外|(?:信息|资料|内容|数据|记载|说明)[^。；！？]{{0,6}}?缺失|缺(?:乏|少)[^。；！？]{{0,8}}?(?:信息|资料|内容|数据|记载|说明|描述)(?![^。；！？]{{0,4}}情况)",
    r"没有足够的(?:信息|资料|内容|依据)|(?:信息|资料)不(?:够|足)",
    # "文章一笔带过", "实在难以确认", "没发现与X相关的描述", "需要原文以外的资料", "能提供文章的其余部分吗"
    (rf"{_ZH_SOURCE}[^。；！？]*?(?:一笔带过|含糊带过|语焉不详)|难以(?:确认|确定|考证)[。！？]?$|(?:没|没有|未)(?:点名|点出)[。！？]?$"
     r"|(?:没|没有|未)(?:发现|看到|找到)[^。；！？]{0,20}?(?:相关|有关)的?(?:描述|记载|内容|信息|说明)"
     rf"|{_ZH_SOURCE}(?:以外|之外)的?(?:资料|信息|材料|来源)|(?:提供|发)(?:一下)?(?:文章|原文|全文)?的?(?:其余|剩下|剩余|后续|完整)(?:部分|内容)"
     rf"|{_ZH_SOURCE}[^。；！？]*?(?:并无|没有|无|未给出|未提供)(?:具体|确切|明确|准确)的?(?:数字|数据|数值|统计|日期|年份|时间|名字|姓名|人数|金额)"
     r"|(?:除非|如果没有)[^。；！？]*?无法(?:知道|得知|确定|判断|回答)"),
    rf"{_ZH_SOURCE}[^。；！？]*?(?:没有|并无|无|未见|并未)[^。；！？]{{0,8}}?(?:这方面|相关|有关)的?(?:内容|信息|描述|记载|说明)",
    rf"{_ZH_SOURCE}[^。；！？]*?(?:并未|没有|未)(?:出现|着墨|展开|讨论)|{_ZH_SOURCE}连[^。；！？]*?都(?:没|没有|未)(?:留下|提|写|记|出现)",
    r"(?:没有|未|并未)就(?:此|这个问题|这一点|该问题)(?:展开|作答|说明)|(?:没有|没|未)(?:看到|找到|发现)(?:任何)?(?:相关|有关)?(?:的)?(?:记载|信息|内容|说明|描述|依据)",
]

_CUE = re.compile("|".join(f"(?:{c})" for c in _CUES_EN + _CUES_DE + _CUES_ZH))

# Where a cue can be overruled by content: "..., but it calls him the old admiral"
_CONTRAST = re.compile(
    r"(?:[,;:]\s*|\s+-\s+|\s)(?=(?:but|however|yet|although|though|even\s+though|whereas|while)\b)"
    # "focuses instead on X" deflects to what the source covers: no content
    r"|(?:[,;:]\s*|\s+-\s+|(?<!focuses)(?<!focused)(?<!concentrates)(?<!dwells)(?<!talks)(?<!turns)(?<!moves)\s)(?=instead\b)"
    # German contrasts open a clause after punctuation; mid-clause ("sagt aber nichts", "wird jedoch
    # nicht genannt") they belong to the clause, and "nicht aber" is a "but not"
    r"|(?:[,;:]\s*|\s+-\s+)(?=(?:aber|jedoch|doch|sondern|auch\s+wenn|wenngleich|obgleich)\b)"
    # ... or after the verb of a clause that follows a comma: "..., spricht aber von mehreren Tausend"
    r"|,\s*(?=(?!nicht\b)(?:[^\W\d_]+\s+){1,6}?(?:aber|jedoch|wohl\s+aber)\b)"
    r"|(?<=[.!?])\s*(?=(?:but|however|yet|instead|still|aber|jedoch)\b)|(?<=[，,。；])(?=但是|但|不过|然而|只是|而是)"
    # a correction: "the passage does not describe a battle; it describes a negotiation" (not a
    # deflection to what the source covers instead: "...; it focuses on his early career")
    rf"|;\s*(?=(?:it|the\s+{_SOURCE_NOUN}|the\s+author)\s+(?!(?:only|just|merely|also|is|was|has|does|focuses|concentrates|"
    r"centres|centers|ends|stops|sticks|confines|limits|restricts|moves|skips|jumps|turns|goes|deals|covers|discusses|talks)\b)\w+s\b"
    r"(?!\s+(?:only|just|merely)\s+(?:general|broad|background|a\s+general|a\s+broad|an\s+overview)\b))"  # "...; it offers only general background": what it covers instead
    # what the source does give, after its silence: "no exact year, only that it opened after the
    # war", "just the year: 1642", "文章没说具体比例，只说接近一半", "nennt ihren Namen nicht, nur dass sie ..."
    r"|[,;:]\s*(?=(?:it\s+|the\s+\w+\s+)?(?:only|just)\s+(?:(?:that|says|said|states|notes|tells\s+us\s+that|mentions\s+that|reports\s+that)\b|the\s+\w+\s*:))"
    r"|[,;:]\s*(?=(?:only|just)\s+(?:describing|calling|referring|naming|identifying|quote|described|called|referred|named|identified|her|his|its|their)\b)"
    # what follows from the source, or is reported by it: "..., so as far as the text goes, he married
    # once", "..., stating that all hands were lost", "..., which is why the dispute lasted until 1887"
    r"|,\s*(?=so\s+(?:as\s+far\s+as|according\s+to|judging\s+by|going\s+by)\b|(?:stating|saying|noting|explaining|reporting)\s+that\b|which\s+is\s+why\b)"
    rf"|;\s*(?=as\s+far\s+as\s+{_SOURCE}\s+goes\s*,)"
    # "no birth date, only the year, 1912", "kein Geburtsdatum, nur das Jahr 1887"
    r"|,\s*(?=(?:only|just|nur|lediglich)\s+(?:the|das|den|die)\s+[^\W\d_]+\s*[:,]?\s*\d)"
    r"|;\s*(?=it\s+(?:simply|only|just|merely)\s+(?:says|states|notes|calls|describes)\b)|\s(?=beyond\s+(?:saying|noting|stating|mentioning)\b)"
    r"|(?<=[，,；;:：])(?=只说|仅说|只是说|只提到|仅提到|只知道|只称|仅称|只写(?!到)|仅写(?!到)|只给出|只给了|只交代|[^，,。；;]{0,10}?倒是)|,\s*(?=nur\s+(?:dass|,\s*dass|über|uber|von)\b|es\s+hei(?:ss|ß)t\s+(?:dort\s+|darin\s+|lediglich\s+)?nur\b)"
    # a reason or an exception: "... because the garrison had been evacuated", "... except a figurine"
    r"|\s(?=except\b)|[,;]?\s+(?=because\s+(?!(?:the|this|that|it)\s+(?:\w+\s+)?(?:(?:does|did|is|was)\s*(?:not|n't)|only\b)))"
    rf"|,\s*(?=weil\s+(?!{_DE_THE_SOURCE}\b))"
    # a hedged answer, then its concession: "Vermutlich in Danzig, wobei sich die Quelle nicht festlegt"
    r"|,\s*(?=wobei\b)"
)
# "It does not, however, say when": a parenthetical "however" inside the negated clause contrasts nothing
_PARENTHETICAL = re.compile(r"(?<=\bnot|n't),\s*(?:however|though|in\s+fact)\s*,\s*")
_CONCESSIVE = re.compile(r"^(?:(?:although|though|even\s+though|while|whereas|since|obwohl|auch\s+wenn|wenngleich|obgleich|wobei)\b|虽然|尽管)")
_WORD = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]|[^\W\d_]{3,}|\d+")  # each Han/kana character is a word
_CONTENT_WORDS = 3
_BUT_NOT = re.compile(r"^(?:but|yet)\s+not\b")  # "..., which covers its economy but not its army": a negation, no content


def _has_cue(segment: str) -> bool:
    return bool(_CUE.search(segment)) or _is_stock(segment)


_STOCK_TRIM = " .!?。！？…-,;:哎啊呀呢哦诶"  # punctuation and Chinese sentence-final particles


def _is_stock(text: str) -> bool:
    bare = _LABEL.sub("", text).strip(_STOCK_TRIM)
    if not bare:
        return bool(_LABEL.match(text))  # "Answer: -": a label with nothing after it
    bare = _STOCK_ASIDE.sub("", _STOCK_TAIL.sub("", bare).strip(_STOCK_TRIM)).strip(_STOCK_TRIM)
    return bool(_STOCK.match(bare)) if bare else False


# "The article talks about X but is silent on Y": a contrast whose subject is left out shares
# the subject of the clause before it, when that subject is the source.
_ELIDED = re.compile(
    r"^(?:but|yet|and|however)\s+(?=(?:is|are|was|were|does|doesn't|did|didn't|never|not|nothing|says|gives|makes|offers|"
    r"provides|remains|stays|fails|lacks|mentions|calls|names|tells|talks|describes|lists|only|leaves|omits|draws|stops|falls|sidesteps|skips|"
    r"keeps|sheds|passes|glosses)\b)"
)
_LEADING_SOURCE = re.compile(
    rf"^(?:(?:although|though|while)\s+)?(?P<en>{_SOURCE}|it)\b|^(?:虽然|尽管)?(?P<zh>{_ZH_SOURCE})|^(?P<de>{_DE_THE_SOURCE})\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s*(?=\S)")  # the elided subject is the last sentence's
_ELIDED_ZH = re.compile(r"^(?:但是?|不过|然而)(?=(?:并|却|就)?(?:没|未|无)|[^。；！？]*?(?:不得而知|无从))")
_ELIDED_DE = re.compile(r"^(?:(?:aber|jedoch)\s+(?=(?:nicht|nichts|keine?n?)\b)|(?=[^\W\d_]+\s+(?:aber|jedoch)\b))")  # "der Artikel beschreibt X, nennt aber nicht, wer"
# per language of the leading source: where its elided contrast starts, and what joins the source to it
_ELISION = {"en": (_ELIDED, " "), "zh": (_ELIDED_ZH, ""), "de": (_ELIDED_DE, " ")}


def _segments(text: str) -> list[str]:
    """The answer cut before each contrast ("but", "however", "although" ...), and a concession
    cut from its main clause at its first comma ("although X, Y" -> "although X", "Y")."""
    segments = []
    for segment in (s.strip() for s in _CONTRAST.split(_PARENTHETICAL.sub(" ", text))):
        if not segment:
            continue
        subject = segments and _LEADING_SOURCE.match(_SENTENCE_END.split(segments[-1])[-1])
        if subject:
            elided_form, joint = _ELISION[subject.lastgroup]
            elided = elided_form.match(segment)
            if elided:
                segment = f"{elided.group(0)}{subject.group(subject.lastgroup)}{joint}{segment[elided.end():]}"
        if _CONCESSIVE.match(segment) and re.search(r"[,，]", segment):
            concession, main = re.split(r"[,，]", segment, maxsplit=1)
            segments.extend(s for s in (concession.strip(), main.strip()) if s)
        else:
            segments.append(segment)
    return segments


def _content(segment: str, words: int = _CONTENT_WORDS) -> bool:
    """Enough words to carry an answer; a clause that concedes the source's silence needs fewer
    beside it ("Probably around 1850, although the text gives no exact year")."""
    return len(_WORD.findall(segment)) >= words


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


def model_may_overrule(text: str) -> bool:
    """Whether the model may overrule the rules' "refusal" on this answer (normalised, quotes
    blanked): not on a stock non-answer ("N/A", "Unknown."), which is all cue and no content, and
    not with Chinese or Japanese in it, which MiniLM reads poorly (in cross-validation on tune
    the overrules it would have made there were refusals, "这个真没写，您另请高明吧")."""
    return not _CJK.search(text) and not _is_stock(text)


def needs_model(text: str, verdict: bool | None) -> bool:
    """Whether the model's probability decides an answer (normalised, quotes blanked), given the
    rules' verdict on it: one with no cue the model `asks_model` about, or one with a cue the model
    `model_may_overrule`."""
    return asks_model(text) if verdict is None else verdict and model_may_overrule(text)


def combined(verdict: bool | None, probability: float, threshold: float, veto: float) -> bool:
    """Rules and model together on an answer that `needs_model`: a cue stands from `veto` up, an
    answer without one is a refusal from `threshold` up. Training chooses both with this."""
    return bool(probability >= (veto if verdict else threshold))


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
        answered_after = any(_content(s) and not _has_cue(s) and not _BUT_NOT.match(s) for s in after)
        conceded = _CONCESSIVE.match(segments[i]) and any(_content(s, 2) and not _has_cue(s) for s in before + after)
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
    if not needs_model(text, verdict):
        return bool(verdict)
    from foveate_dspy.method.refusal_model import bundled_model

    model = bundled_model()
    return combined(verdict, model.probabilities([text])[0], model.threshold, model.veto)

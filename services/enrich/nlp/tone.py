"""Tone: positive / negative / neutral, for the headline, the body and toward each entity.

Three linear models (multinomial logistic regression over sparse binary features), trained by
``python -m services.enrich.nlp.train_tone`` (``make train-tone``) and committed as
``models/tone.json``:

- ``headline``: a title read alone; word uni/bigrams with negation marking and character 3–5-grams.
- ``body``: the body; word uni/bigrams with negation marking and lexicon classes
  (``data/tone_lexicon.txt``).
- ``entity``: the sentences about one entity, the same word features plus where each word stands
  relative to the mention (``L:``/``R:`` within a few words: "Polres menangkap pelaku" and "pelaku
  ditangkap Polres" differ for Polres and for the pelaku) and how central the entity is to the
  article, with the article's lexicon polarity (:func:`prominence_features`).

Feature extraction lives here, so training and inference cannot drift apart. A feature vector is
binary and scaled by 1/sqrt(number of distinct features), in training and at run time alike.
Inference is a dictionary lookup per feature: no numeric library at run time.

The entity's sentences are those with a mention, plus a following sentence that refers back to it
("Ia ...", "Beliau ...", "Pihaknya ..."). The evidence is the sentence whose own features push
hardest toward the chosen label.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .text import Token, token_texts

MODEL_PATH = Path(__file__).resolve().parent / "models" / "tone.json"
LEXICON_PATH = Path(__file__).resolve().parent / "data" / "tone_lexicon.txt"
LABELS = ("negative", "neutral", "positive")

NEGATORS = frozenset("tidak tak bukan belum tanpa jangan enggak nggak gak tiada kurang".split())
NEGATION_SPAN = 3
# A sentence that starts with one of these refers back to the entity of the sentence before.
BACK_REFERENCES = frozenset("ia dia beliau pihaknya mereka politisi politikus pria wanita".split())
LEFT_WINDOW = 4
RIGHT_WINDOW = 6
SENTENCE_WINDOW = 20
# Tone is toward persons and organisations (what the model is trained and measured on); a place's
# coverage is the tone of the articles about it (the region filters with ``tone``).
TONE_ENTITY_TYPES = frozenset({"PER", "ORG"})
# At most this many entities (the most mentioned) get a tone: enrich keeps 32 KiB of entity tones,
# and a text with thousands of distinct "names" is not an article.
MAX_TONE_ENTITIES = 64
MENTION = "<e>"


def _read_lexicon(path: Path = LEXICON_PATH) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line[:1] in "+-" and line[1:].strip():
                out[line[1:].strip()] = "LEX" + line[0]
    return out


# Word -> its lexicon class ("LEX+" / "LEX-"), from ``data/tone_lexicon.txt``.
LEXICON = _read_lexicon()


_DIGITS = re.compile(r"\d")


def words_of(tokens: Sequence[str]) -> list[str]:
    """Lower-cased words; digits become ``0`` (numbers carry no tone, their shape is enough)."""
    return [t.lower() if t.isalpha() else _DIGITS.sub("0", t.lower()) for t in tokens if t[0].isalnum()]


def word_features(words: Sequence[str], prefix: str = "") -> list[str]:
    """Unigrams and bigrams; a word within ``NEGATION_SPAN`` after a negator is marked ``!``."""
    feats: list[str] = []
    prev = "<s>"
    negated = 0
    for w in words:
        if w in NEGATORS:
            negated = NEGATION_SPAN
            feats.append(prefix + w)
            feats.append(f"{prefix}{prev}_{w}")
            prev = w
            continue
        u = f"!{w}" if negated else w
        feats.append(prefix + u)
        feats.append(f"{prefix}{prev}_{w}")
        lex = LEXICON.get(w)
        if lex is not None:
            feats.append(f"{prefix}!{lex}" if negated else prefix + lex)
        negated = max(0, negated - 1)
        prev = w
    return feats


def char_features(words: Sequence[str]) -> list[str]:
    feats: list[str] = []
    for w in words:
        padded = f" {w} "
        for n in (3, 4, 5):
            feats.extend("#" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return feats


def headline_features(title: str) -> list[str]:
    words = words_of(token_texts(title))
    return word_features(words) + char_features(words)


def text_features(words: Sequence[str]) -> list[str]:
    return word_features(words)


def entity_sentence_features(words: Sequence[str], mentions: Sequence[tuple[int, int]]) -> list[str]:
    """Features of one sentence about an entity: the words within ``SENTENCE_WINDOW`` of a mention
    (the mentions masked), and the words within a short window left and right of each mention,
    marked with their side. Bounded by the mentions, not by the sentence: a run-on "sentence" of
    thousands of words costs no more per mention than a normal one."""
    ordered = sorted(mentions)
    feats: list[str] = []
    # Windows around the mentions, merged where they overlap; each is featurised once.
    windows: list[list[int]] = []
    for a, b in ordered:
        lo, hi = max(0, a - SENTENCE_WINDOW), min(len(words), b + SENTENCE_WINDOW)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    for lo, hi in windows:
        masked: list[str] = []
        i = lo
        for a, b in ordered:
            if a >= lo and b <= hi and a >= i:
                masked += [*words[i:a], MENTION]
                i = b
        feats += word_features(masked + list(words[i:hi]))
    for a, b in ordered:
        for w in words[max(0, a - LEFT_WINDOW) : a]:
            feats.append("L:" + w)
            if w in LEXICON:
                feats.append("L:" + LEXICON[w])
        for w in words[b : b + RIGHT_WINDOW]:
            feats.append("R:" + w)
            if w in LEXICON:
                feats.append("R:" + LEXICON[w])
        if a == 0:
            feats.append("L:<s>")
    return feats


def back_reference_features(words: Sequence[str]) -> list[str]:
    return ["B:" + f for f in word_features(words)]


def lexicon_polarity(words: Sequence[str]) -> str:
    """ "pos", "neg" or "mix": which side of the lexicon clearly dominates the article."""
    pos = neg = 0
    for w in words:
        lex = LEXICON.get(w)
        if lex == "LEX+":
            pos += 1
        elif lex == "LEX-":
            neg += 1
    if pos >= 2 and pos > 1.5 * neg:
        return "pos"
    if neg >= 2 and neg > 1.5 * pos:
        return "neg"
    return "mix"


def prominence_features(polarity: str, in_first_sentence: bool, most_mentioned: bool, mentions: int) -> list[str]:
    """How central the entity is to the article, alone and with the article's lexicon polarity:
    the main subject of a bad-news article usually shares its tone, a passer-by does not."""
    marks = [m for m, on in (("first", in_first_sentence), ("top", most_mentioned), ("many", mentions >= 3)) if on]
    marks = marks or ["minor"]
    return [f"A:{polarity}", *(f"P:{m}" for m in marks), *(f"A:{polarity}&{m}" for m in marks)]


@dataclass(frozen=True)
class LinearModel:
    weights: dict[str, tuple[float, float, float]]
    bias: tuple[float, float, float]

    def scores(self, feats: Sequence[str]) -> list[float]:
        distinct = set(feats)
        s0, s1, s2 = self.bias
        if distinct:
            scale = 1.0 / math.sqrt(len(distinct))
            a = b = c = 0.0
            get = self.weights.get
            for f in distinct:
                w = get(f)
                if w is not None:
                    a += w[0]
                    b += w[1]
                    c += w[2]
            s0, s1, s2 = s0 + a * scale, s1 + b * scale, s2 + c * scale
        return [s0, s1, s2]

    def proba(self, feats: Sequence[str]) -> list[float]:
        s = self.scores(feats)
        top = max(s)
        e = [math.exp(x - top) for x in s]
        z = sum(e)
        return [x / z for x in e]

    def contribution(self, feats: Sequence[str], label: int) -> float:
        """How much these features alone push toward ``label`` against the other two."""
        total = 0.0
        for f in set(feats):
            w = self.weights.get(f)
            if w is not None:
                total += w[label] - (w[0] + w[1] + w[2] - w[label]) / 2
        return total


def decide(p: Sequence[float]) -> tuple[str, float]:
    """(label, score in -1..1) from class probabilities (negative, neutral, positive)."""
    score = round(p[2] - p[0], 4)
    return LABELS[max(range(3), key=lambda k: p[k])], score


@dataclass(frozen=True)
class ToneModel:
    headline: LinearModel
    body: LinearModel
    entity: LinearModel

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToneModel:
        def linear(d: dict[str, Any]) -> LinearModel:
            return LinearModel({k: tuple(v) for k, v in d["weights"].items()}, tuple(d["bias"]))

        return cls(linear(data["headline"]), linear(data["body"]), linear(data["entity"]))

    def headline_tone(self, title: str) -> tuple[str, float]:
        return decide(self.headline.proba(headline_features(title)))

    def body_tone(self, words: Sequence[str]) -> tuple[str, float]:
        return decide(self.body.proba(text_features(words)))


_model: ToneModel | None = None
_lock = threading.Lock()


def load_tone_model(path: Path = MODEL_PATH) -> ToneModel:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                with open(path, encoding="utf-8") as fh:
                    _model = ToneModel.from_json(json.load(fh))
    return _model


def _token_index(ends: Sequence[int], start: int) -> int:
    """The first token ending after ``start`` (``ends``: the tokens' end offsets, ascending)."""
    return bisect.bisect_right(ends, start)


class SentenceWords:
    """Each sentence's words and token-to-word positions, computed once per article and shared by
    all its entities."""

    def __init__(self, sentence_tokens: Sequence[Sequence[Token]]) -> None:
        self.sentence_tokens = sentence_tokens
        self._cache: dict[int, tuple[list[str], dict[int, int], list[int]]] = {}

    def __call__(self, k: int) -> tuple[list[str], dict[int, int], list[int]]:
        got = self._cache.get(k)
        if got is None:
            toks = self.sentence_tokens[k]
            raw = [t.text for t in toks]
            # Word positions after dropping punctuation, as ``words_of`` does.
            keep = [i for i, t in enumerate(raw) if t[0].isalnum()]
            got = (words_of(raw), {i: n for n, i in enumerate(keep)}, [t.end for t in toks])
            self._cache[k] = got
        return got


def entity_contexts(
    entity_mentions: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]],
    sentence_tokens: Sequence[Sequence[Token]],
    words: SentenceWords | None = None,
) -> list[tuple[int, list[str]]]:
    """(sentence index, features) of each sentence about one entity: those with a mention (the
    mention's words masked and its neighbours marked), and a next sentence that opens with a word
    referring back ("Ia", "Beliau", "Pihaknya")."""
    words = words or SentenceWords(sentence_tokens)
    by_sentence: dict[int, list[tuple[int, int]]] = {}
    starts = [s for s, _ in sentences]
    for start, end in entity_mentions:
        k = _sentence_of(starts, start)
        if k is None:
            continue
        _, _, ends = words(k)
        a = _token_index(ends, start)
        b = max(a + 1, _token_index(ends, end))
        by_sentence.setdefault(k, []).append((a, b))
    out: list[tuple[int, list[str]]] = []
    for k in sorted(by_sentence):
        sentence_words, pos, _ = words(k)
        spans = []
        for a, b in by_sentence[k]:
            inside = [pos[i] for i in range(a, b) if i in pos]
            if inside:
                spans.append((inside[0], inside[-1] + 1))
        out.append((k, entity_sentence_features(sentence_words, spans)))
        nxt = k + 1
        if nxt < len(sentence_tokens) and nxt not in by_sentence:
            nwords = words(nxt)[0]
            if nwords and nwords[0] in BACK_REFERENCES:
                out.append((nxt, back_reference_features(nwords[:SENTENCE_WINDOW])))
    return out


def _sentence_of(starts: Sequence[int], offset: int) -> int | None:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1 if lo > 0 else None


def tone_of(
    text: str,
    title: str | None,
    sentences: Sequence[tuple[int, int]],
    sentence_tokens: Sequence[Sequence[Token]],
    entities: Sequence[dict[str, Any]],
    model: ToneModel | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The article's tone and the tone toward each person and organisation (grouped by type and
    canonical name).

    Returns ``({"label", "score", "headline", "body"}, [{"type", "canonical", "label", "score",
    "mentions", "evidence", "evidence_start", "evidence_end"}])``. The overall label is the
    body's; a neutral body under a polar headline takes the headline's label (a leader reads the
    headline). Pure; a few milliseconds per article.
    """
    m = model or load_tone_model()
    words = words_of([t.text for toks in sentence_tokens for t in toks])
    body_label, body_score = m.body_tone(words)
    headline_label = None
    score = body_score
    label = body_label
    if title and title.strip():
        headline_label, headline_score = m.headline_tone(title)
        score = round(0.7 * body_score + 0.3 * headline_score, 4)
        if body_label == "neutral" and headline_label != "neutral":
            label = headline_label
    article = {"label": label, "score": max(-1.0, min(1.0, score)), "headline": headline_label, "body": body_label}

    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for e in entities:
        if e["type"] in TONE_ENTITY_TYPES:
            groups.setdefault((e["type"], e["canonical"]), []).append((e["start"], e["end"]))
    polarity = lexicon_polarity(words)
    most = max((len(v) for v in groups.values()), default=0)
    first_end = sentences[0][1] if sentences else 0
    shared = SentenceWords(sentence_tokens)
    kept = sorted(groups, key=lambda g: -len(groups[g]))[:MAX_TONE_ENTITIES]
    tones: list[dict[str, Any]] = []
    for typ, canonical in kept:
        mentions = groups[(typ, canonical)]
        contexts = entity_contexts(mentions, sentences, sentence_tokens, shared)
        feats = [f for _, fs in contexts for f in fs]
        feats += prominence_features(polarity, mentions[0][0] < first_end, len(mentions) == most, len(mentions))
        entity_label, entity_score = decide(m.entity.proba(feats))
        tone: dict[str, Any] = {
            "type": typ,
            "canonical": canonical,
            "label": entity_label,
            "score": entity_score,
            "mentions": len(mentions),
        }
        if entity_label != "neutral" and contexts:
            k = LABELS.index(entity_label)
            best = max(contexts, key=lambda c: m.entity.contribution(c[1], k))[0]
            ev_start, ev_end = sentences[best]
            tone.update(evidence=text[ev_start:ev_end], evidence_start=ev_start, evidence_end=ev_end)
        tones.append(tone)
    return article, tones

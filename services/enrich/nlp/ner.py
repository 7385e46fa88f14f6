"""CRF named-entity tagger (PER / ORG / LOC) with gazetteer features.

The model file is trained by ``python -m services.enrich.nlp.train_ner`` and committed under
``models/``. Feature extraction lives here so training and inference cannot drift apart.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from pathlib import Path

import pycrfsuite

from shared.gazetteer import ALIASES_JSON, REGIONS_CSV

from .text import Token, tokenize_span

PACKAGE_DIR = Path(__file__).resolve().parent
MODEL_DIR = PACKAGE_DIR / "models"
MODEL_PATH = MODEL_DIR / "ner.crfsuite"
CASE_LEXICON_PATH = MODEL_DIR / "case_lexicon.json"
CLUSTERS_PATH = MODEL_DIR / "word_clusters.json"
VECTORS_PATH = MODEL_DIR / "word_vectors.json.gz"
GAZETTEER_PATH = MODEL_DIR / "ner_gazetteer.json"
GAZETTEER_MAX_TOKENS = 6
ALIASES_PATH = ALIASES_JSON
DICTIONARY_MAX_TOKENS = 8

Gazetteer = dict[tuple[str, ...], str]

# Cue words. The CRF sees them as features; it decides how much they matter.
ORG_HEADS = frozenset(
    """
    kementerian kemenkes kemendagri kemenkeu kemendikbud kemenag kemenpan kemensos kemenhub
    kemenkumham kementan kemenparekraf kemenpora kemnaker kemenlu kemenhan kemenperin kemendag
    badan dinas pemkab pemkot pemprov pemda pemerintah dprd dpr dpd mpr polres polda polsek polri
    polresta polrestabes kodim korem kodam tni kejari kejati kejagung kejaksaan pengadilan pn pt
    universitas univ institut sekolah sma smp sd smk yayasan partai bank rsud rs rumah komisi
    kpk kpu bawaslu bpbd bps bpjs ojk mahkamah ma mk dinkes disdik bappeda bappenas satpol
    lembaga perusahaan persatuan asosiasi ikatan himpunan forum organisasi kantor direktorat
    kpud dewan majelis kabinet fraksi perum persero tbk cv koperasi klub fc persib persija
    """.split()
)
PER_CUES = frozenset(
    """
    bupati wabup wakil gubernur wagub walikota wali wawali menteri presiden wapres sekda kapolres
    kapolda kapolri kapolsek kapolresta kajari kajati dandim danrem pangdam ketua sekretaris
    direktur kepala kadis camat lurah kades pak bu bapak ibu sdr saudara h hj dr ir prof drs kh
    ustaz ustadz kiai syekh habib tuan nyonya nona jenderal kolonel letkol mayjen brigjen
    kombes akbp kompol iptu ipda aiptu bripka kapten mayor kopral sersan deputi staf anggota
    juru bicara jubir kasat kasatreskrim kabag kasubag pj plt penjabat dirut komisaris
    """.split()
)
LOC_CUES = frozenset(
    """
    kabupaten kota provinsi kecamatan desa kelurahan dusun kampung jalan jl gunung sungai pulau
    danau pantai teluk selat laut selatan utara timur barat tengah di ke dari kawasan wilayah
    daerah negara
    """.split()
)


@lru_cache(maxsize=1)
def region_tokens() -> tuple[frozenset[str], frozenset[str]]:
    """Region-name gazetteer: (all lower-cased name tokens, first tokens of names)."""
    toks: set[str] = set()
    firsts: set[str] = set()
    with REGIONS_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["nama"].strip()
            name = re.sub(r"^(Kabupaten|Kota)( Administrasi)? ", "", name)
            words = [w.lower() for w in re.findall(r"\w+", name)]
            if not words:
                continue
            firsts.add(words[0])
            toks.update(words)
    generic = {
        "utara",
        "selatan",
        "timur",
        "barat",
        "tengah",
        "raya",
        "daerah",
        "khusus",
        "istimewa",
        "kepulauan",
        "baru",
        "besar",
        "kota",
        "pusat",
    }
    return frozenset(toks - generic), frozenset(firsts - generic)


@lru_cache(maxsize=1)
def case_lexicon() -> dict[str, str]:
    """Word -> capitalisation bucket learnt from unlabelled text (see train_ner)."""
    if not CASE_LEXICON_PATH.exists():
        return {}
    with CASE_LEXICON_PATH.open(encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


@lru_cache(maxsize=1)
def word_clusters() -> dict[str, str]:
    """Word -> space-free cluster signature "a.b.c" (one id per clustering granularity)."""
    if not CLUSTERS_PATH.exists():
        return {}
    with CLUSTERS_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return {w: ".".join(map(str, ids)) for w, ids in data["clusters"].items()}


@lru_cache(maxsize=1)
def word_vectors() -> dict[str, dict[str, float]]:
    """Word -> dense CRF features {"e0": x0, ...}; empty when the model does not use them."""
    if not VECTORS_PATH.exists():
        return {}
    with gzip.open(VECTORS_PATH, "rt", encoding="utf-8") as fh:
        data: dict[str, list[float]] = json.load(fh)
    return {w: {f"e{i}": x for i, x in enumerate(v) if x} for w, v in data.items()}


@lru_cache(maxsize=1)
def train_gazetteer() -> Gazetteer:
    """Entity names seen in the NER train splits -> their majority type (see train_ner)."""
    if not GAZETTEER_PATH.exists():
        return {}
    with GAZETTEER_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return {tuple(name.split(" ")): etype for etype, names in data["names"].items() for name in names}


@lru_cache(maxsize=1)
def dictionary_gazetteer() -> Gazetteer:
    """The alias dictionary's names (institutions, regions, places) -> ORG/LOC/PER.

    Keys of ``data/aliases.json`` are already normalised (lower case, no dots), which is how
    tokens are looked up in ``_dictionary_features``.
    """
    if not ALIASES_PATH.exists():
        return {}
    with ALIASES_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return {
        tuple(key.split()): entry["type"]
        for key, entry in data["aliases"].items()
        if entry.get("type") in ("PER", "ORG", "LOC")
    }


def _dictionary_features(words: Sequence[str], feats: list[dict[str, float | str]]) -> None:
    """Longest matches of alias-dictionary names: ``dz`` = B-/I-type, ``+1dz``/``-1dz`` = type
    on the neighbours. Single tokens must be capitalised."""
    gazetteer = dictionary_gazetteer()
    if not gazetteer:
        return
    low = [w.lower().replace(".", "") for w in words]
    n = len(words)
    for i, size, etype in _longest_matches(low, [w[:1].isupper() for w in words], gazetteer, DICTIONARY_MAX_TOKENS):
        for j in range(i, i + size):
            feats[j]["dz"] = ("B-" if j == i else "I-") + etype
        if i > 0:
            feats[i - 1]["+1dz"] = etype
        if i + size < n:
            feats[i + size]["-1dz"] = etype


# Gazetteer -> (first-token, last-token, any-token) -> types, for names of >= 2 tokens. Keyed by
# id() and holding the gazetteer itself, so a recycled id can never return a stale index.
_TOKEN_INDEX: dict[int, tuple[Gazetteer, tuple[dict[str, frozenset[str]], ...]]] = {}
_TOKEN_INDEX_LOCK = threading.Lock()


def _gazetteer_token_index(gazetteer: Gazetteer) -> tuple[dict[str, frozenset[str]], ...]:
    entry = _TOKEN_INDEX.get(id(gazetteer))
    if entry is not None and entry[0] is gazetteer:
        return entry[1]
    first: dict[str, set[str]] = {}
    last: dict[str, set[str]] = {}
    any_: dict[str, set[str]] = {}
    for name, etype in gazetteer.items():
        if len(name) < 2:
            continue
        first.setdefault(name[0], set()).add(etype)
        last.setdefault(name[-1], set()).add(etype)
        for w in name:
            any_.setdefault(w, set()).add(etype)
    index = tuple({w: frozenset(t) for w, t in d.items()} for d in (first, last, any_))
    with _TOKEN_INDEX_LOCK:
        if len(_TOKEN_INDEX) > 16:
            _TOKEN_INDEX.clear()
        _TOKEN_INDEX[id(gazetteer)] = (gazetteer, index)
    return index


def _gazetteer_token_features(words: Sequence[str], feats: list[dict[str, float | str]], gazetteer: Gazetteer) -> None:
    """Capitalised tokens that start (``gf``), end (``gl``) or occur in (``ga``) a known
    multi-token name, per type: brand/club/band words ("FC", "Records") generalise this way."""
    if not gazetteer:
        return
    first, last, any_ = _gazetteer_token_index(gazetteer)
    for i, w in enumerate(words):
        if not w[:1].isupper():
            continue
        lw = w.lower()
        for index, key in ((first, "gf"), (last, "gl"), (any_, "ga")):
            types = index.get(lw)
            if types:
                for etype in sorted(types):
                    feats[i][key + etype] = 1.0


def _gazetteer_features(words: Sequence[str], feats: list[dict[str, float | str]], gazetteer: Gazetteer) -> None:
    """Longest left-to-right matches of known entity names: ``gz`` = B-/I-type on the tokens,
    ``+1gz``/``-1gz`` on the tokens just before/after. Single tokens must be capitalised."""
    n = len(words)
    caps = [w[:1].isupper() for w in words]
    for i, size, etype in _longest_matches([w.lower() for w in words], caps, gazetteer, GAZETTEER_MAX_TOKENS):
        for j in range(i, i + size):
            feats[j]["gz"] = ("B-" if j == i else "I-") + etype
        if i > 0:
            feats[i - 1]["+1gz"] = "B-" + etype
        if i + size < n:
            feats[i + size]["-1gz"] = "E-" + etype


_SHAPE_TRANS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "x" * 26 + "X" * 26 + "d" * 10,
)


_RUNS_RE = re.compile(r"(.)\1+")


def _shape(word: str) -> str:
    s = word.translate(_SHAPE_TRANS)
    # Collapse runs so "Blora" and "Semarang" share the shape "Xx".
    if "\n" in s:  # "." in the reference pattern does not match a newline
        return _RUNS_RE.sub(r"\1", s)
    return "".join([c for c, _ in groupby(s)])


def _token_features(
    word: str, regions: frozenset[str], lex: dict[str, str], clusters: dict[str, str]
) -> dict[str, float | str]:
    low = word.lower()
    f: dict[str, float | str] = {
        "w": low,
        "sh": _shape(word),
        "p3": low[:3],
        "s3": low[-3:],
        "s2": low[-2:],
        "p2": low[:2],
        "p4": low[:4],
        "s4": low[-4:],
        # Uncollapsed shape prefix and length: "XXX" (acronym) vs "Xxxxxx" (name).
        "shl": word.translate(_SHAPE_TRANS)[:6],
        "len": str(min(len(word), 8)),
    }
    # (No letter is a digit, so all-letter words skip the scan.)
    if not word.isalpha() and any(c.isdigit() for c in word):
        f["dig"] = 1.0
    if not word.isalnum():
        f["punct"] = 1.0
    if word[:1].isupper():
        f["title"] = 1.0
    if word.isupper() and len(word) > 1:
        f["upper"] = 1.0
    if low in regions:
        f["gz_reg"] = 1.0
    if low in ORG_HEADS:
        f["cue_org"] = 1.0
    if low in PER_CUES:
        f["cue_per"] = 1.0
    if low in LOC_CUES:
        f["cue_loc"] = 1.0
    cb = lex.get(low)
    if cb is not None:
        f["case"] = cb
    cl = clusters.get(low)
    if cl is not None:
        c1, c2, c3 = cl.split(".")
        f["k1"], f["k2"], f["k3"] = c1, c2, c3
    return f


def sentence_features(words: Sequence[str], gazetteer: Gazetteer | None = None) -> list[dict[str, float | str]]:
    """CRF features for one sentence of tokens. Pure; used by training and inference.

    ``gazetteer`` defaults to the shipped train-name gazetteer; training passes the
    jackknifed one (names from the other folds only, see ``train_ner``).
    """
    regions, _ = region_tokens()
    lex = case_lexicon()
    clusters = word_clusters()
    vectors = word_vectors()
    base = [_token_features(w, regions, lex, clusters) for w in words]
    n = len(words)
    feats: list[dict[str, float | str]] = []
    for i in range(n):
        f: dict[str, float | str] = {"bias": 1.0}
        f.update(base[i])
        if i == 0:
            f["BOS"] = 1.0
        for off in (-2, -1, 1, 2):
            j = i + off
            if 0 <= j < n:
                b = base[j]
                f[f"{off}:w"] = b["w"]
                f[f"{off}:sh"] = b["sh"]
                for k in ("title", "gz_reg", "cue_org", "cue_per", "cue_loc", "case", "k2", "k3"):
                    if k in b:
                        f[f"{off}:{k}"] = b[k]
        vec = vectors.get(str(base[i]["w"]))
        if vec:
            f.update(vec)
        if i > 0:
            f["-1w|w"] = f"{base[i - 1]['w']}|{base[i]['w']}"
        if i + 1 < n:
            f["w|+1w"] = f"{base[i]['w']}|{base[i + 1]['w']}"
        feats.append(f)
    gaz = train_gazetteer() if gazetteer is None else gazetteer
    _gazetteer_features(words, feats, gaz)
    _gazetteer_token_features(words, feats, gaz)
    _dictionary_features(words, feats)
    return feats


# --- Inference fast path -------------------------------------------------------------------
#
# ``sentence_features`` above is the reference (training uses it). At run time the tagger gets
# the same CRF attributes from ``sentence_attributes``: crfsuite turns ``{"k": "v"}`` into the
# attribute ``"k:v"`` and ``{"k": 1.0}`` into ``"k"`` (weight 1.0), so a list of those strings in
# the dict's insertion order is the identical input, without re-deriving the context-free part
# of each token (case, shape, affixes, lexicon and cluster lookups, the neighbour view of it,
# gazetteer token hits) every time a word recurs: that part is memoised per word string.
# ``tests/unit/nlp/test_ner_fast_features.py`` checks both paths give the same attributes.

_NEIGHBOUR_KEYS = ("title", "gz_reg", "cue_org", "cue_per", "cue_loc", "case", "k2", "k3")
WORD_CACHE_SIZE = 20_000  # about 2.4 kB per word: at most ~50 MB per process


def _attr(key: str, value: float | str) -> str:
    """The crfsuite attribute string for one feature (every float feature here is 1.0)."""
    return f"{key}:{value}" if isinstance(value, str) else key


@dataclass(frozen=True, slots=True)
class _WordAttrs:
    low: str  # lower case: gazetteer key and bigram part
    dlow: str  # lower case without dots: alias-dictionary key
    cap: bool  # starts with an upper-case letter
    own: tuple[str, ...]  # "bias" + the token's own attributes, in reference order
    left2: tuple[str, ...]  # what this word contributes as the token two to the left ("-2:...")
    left1: tuple[str, ...]
    right1: tuple[str, ...]
    right2: tuple[str, ...]
    gaz_tokens: tuple[str, ...]  # gf/gl/ga attributes against the shipped train gazetteer


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _word_attrs(word: str) -> _WordAttrs:
    regions, _ = region_tokens()
    base = _token_features(word, regions, case_lexicon(), word_clusters())
    low = str(base["w"])
    # A neighbour at offset ``off`` contributes ``f"{off}:{k}"`` (+ ``f":{v}"`` for strings).
    seen = [f"w:{low}", f"sh:{base['sh']}"]
    seen.extend([_attr(k, base[k]) for k in _NEIGHBOUR_KEYS if k in base])
    cap = word[:1].isupper()
    gaz_tokens: list[str] = []
    gaz = train_gazetteer()
    if cap and gaz:
        for index, key in zip(_gazetteer_token_index(gaz), ("gf", "gl", "ga"), strict=True):
            types = index.get(low)
            if types:
                gaz_tokens.extend(key + etype for etype in sorted(types))
    return _WordAttrs(
        low=low,
        dlow=low.replace(".", ""),
        cap=cap,
        own=("bias", *[f"{k}:{v}" if isinstance(v, str) else k for k, v in base.items()]),
        left2=tuple(["-2:" + a for a in seen]),
        left1=tuple(["-1:" + a for a in seen]),
        right1=tuple(["1:" + a for a in seen]),
        right2=tuple(["2:" + a for a in seen]),
        gaz_tokens=tuple(gaz_tokens),
    )


# Gazetteer -> first token of a name -> longest name length starting with it. Only positions
# whose token starts some name can match, and never longer than that name.
_FIRST_INDEX: dict[int, tuple[Gazetteer, dict[str, int]]] = {}


def _first_token_index(gazetteer: Gazetteer) -> dict[str, int]:
    entry = _FIRST_INDEX.get(id(gazetteer))
    if entry is not None and entry[0] is gazetteer:
        return entry[1]
    index: dict[str, int] = {}
    for name in gazetteer:
        if name and len(name) > index.get(name[0], 0):
            index[name[0]] = len(name)
    with _TOKEN_INDEX_LOCK:
        if len(_FIRST_INDEX) > 16:
            _FIRST_INDEX.clear()
        _FIRST_INDEX[id(gazetteer)] = (gazetteer, index)
    return index


def _longest_matches(
    keys: Sequence[str], caps: Sequence[bool], gazetteer: Gazetteer, max_tokens: int
) -> list[tuple[int, int, str]]:
    """``(start, size, type)`` of the longest left-to-right matches of gazetteer names over the
    token ``keys``; a one-token match needs a capitalised token (``caps``)."""
    first = _first_token_index(gazetteer)
    get = gazetteer.get
    out: list[tuple[int, int, str]] = []
    n = len(keys)
    i = 0
    while i < n:
        longest = first.get(keys[i])
        if longest is None:
            i += 1
            continue
        for size in range(min(max_tokens, n - i, longest), 0, -1):
            etype = get(tuple(keys[i : i + size]))
            if etype is not None and (size > 1 or caps[i]):
                break
        else:
            i += 1
            continue
        out.append((i, size, etype))
        i += size
    return out


def sentence_attributes(words: Sequence[str]) -> list[list[str]] | None:
    """``sentence_features(words)`` (shipped gazetteer) as crfsuite attribute strings.

    Returns None when the model uses dense word vectors, which only the dict form carries.
    """
    if word_vectors():
        return None
    infos = [_word_attrs(w) for w in words]
    n = len(infos)
    lows = [a.low for a in infos]
    items: list[list[str]] = []
    for i, a in enumerate(infos):
        if 2 <= i < n - 2:  # the common case, in one list display
            item = [
                *a.own,
                *infos[i - 2].left2,
                *infos[i - 1].left1,
                *infos[i + 1].right1,
                *infos[i + 2].right2,
                f"-1w|w:{lows[i - 1]}|{lows[i]}",
                f"w|+1w:{lows[i]}|{lows[i + 1]}",
            ]
            items.append(item)
            continue
        item = list(a.own)
        if i == 0:
            item.append("BOS")
        if i >= 2:
            item += infos[i - 2].left2
        if i >= 1:
            item += infos[i - 1].left1
        if i + 1 < n:
            item += infos[i + 1].right1
        if i + 2 < n:
            item += infos[i + 2].right2
        if i > 0:
            item.append(f"-1w|w:{lows[i - 1]}|{lows[i]}")
        if i + 1 < n:
            item.append(f"w|+1w:{lows[i]}|{lows[i + 1]}")
        items.append(item)
    caps = [a.cap for a in infos]
    gaz = train_gazetteer()
    for i, size, etype in _longest_matches(lows, caps, gaz, GAZETTEER_MAX_TOKENS):
        items[i].append("gz:B-" + etype)
        inside = "gz:I-" + etype
        for j in range(i + 1, i + size):
            items[j].append(inside)
        if i > 0:
            items[i - 1].append("+1gz:B-" + etype)
        if i + size < n:
            items[i + size].append("-1gz:E-" + etype)
    if gaz:
        for item, a in zip(items, infos, strict=True):
            if a.gaz_tokens:
                item += a.gaz_tokens
    dgaz = dictionary_gazetteer()
    if dgaz:
        for i, size, etype in _longest_matches([a.dlow for a in infos], caps, dgaz, DICTIONARY_MAX_TOKENS):
            items[i].append("dz:B-" + etype)
            inside = "dz:I-" + etype
            for j in range(i + 1, i + size):
                items[j].append(inside)
            if i > 0:
                items[i - 1].append("+1dz:" + etype)
            if i + size < n:
                items[i + size].append("-1dz:" + etype)
    return items


def truecase(words: Sequence[str]) -> Sequence[str]:
    """Restore likely capitalisation of an all-lower-case sentence; others are returned as is.

    The model leans on capitalisation, so lower-cased text (NERP, chat-style input) would
    otherwise get almost no entities. Words that are mostly capitalised mid-sentence in news
    text (case-lexicon buckets "C" and "M") and the first word get a capital initial. Only the
    model's input changes; offsets and surface text stay those of the original tokens.
    """
    if any(c.isupper() for w in words for c in w):
        return words
    if sum(w.isalpha() for w in words) < 3:
        return words
    lex = case_lexicon()
    out = []
    for i, w in enumerate(words):
        if w.isalpha() and (i == 0 or lex.get(w) in ("C", "M")):
            w = w[:1].upper() + w[1:]
        out.append(w)
    return out


def bio_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Convert BIO tags to ``(first_token, last_token_exclusive, type)`` spans.

    A stray ``I-X`` after ``O`` or another type starts a new entity (conlleval convention).
    """
    spans: list[tuple[int, int, str]] = []
    start: int | None = None
    etype = ""
    for i, tag in enumerate([*list(tags), "O"]):
        if tag == "O" or tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != etype):
            if start is not None:
                spans.append((start, i, etype))
                start = None
            if tag != "O":
                start, etype = i, tag[2:]
    return spans


@dataclass
class Mention:
    """An entity mention found by the tagger, with character offsets into the text."""

    start: int
    end: int
    type: str
    text: str
    tokens: list[Token] = field(default_factory=list)
    # Set when the mention was recognised with its canonical name (an institution pattern).
    canonical: str | None = None


class NerTagger:
    """Thread-safe wrapper around a crfsuite model.

    ``pycrfsuite.Tagger`` is not safe to share across threads, so each thread opens its own
    tagger on the same (memory-mapped) model file.
    """

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        if not model_path.exists():
            raise FileNotFoundError(f"NER model missing: {model_path}; run `make train-ner`")
        self.model_path = model_path
        self._local = threading.local()

    def _tagger(self) -> pycrfsuite.Tagger:
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = pycrfsuite.Tagger()
            tagger.open(str(self.model_path))
            self._local.tagger = tagger
        return tagger

    def tag_tokens(self, words: Sequence[str]) -> list[str]:
        """BIO tags for one sentence of tokens (an all-lower-case sentence is re-cased first)."""
        if not words:
            return []
        cased = truecase(words)
        attrs = sentence_attributes(cased)
        return list(self._tagger().tag(sentence_features(cased) if attrs is None else attrs))

    def extract(
        self,
        text: str,
        sentences: Sequence[tuple[int, int]],
        sentence_tokens: Sequence[Sequence[Token]] | None = None,
    ) -> list[Mention]:
        """Entity mentions in ``text``, tagging each sentence span separately.

        ``sentence_tokens`` may pass ``tokenize_span(text, s, e)`` of every sentence when the
        caller already has them.
        """
        mentions: list[Mention] = []
        if sentence_tokens is None:
            sentence_tokens = [tokenize_span(text, s, e) for s, e in sentences]
        for toks in sentence_tokens:
            if not toks:
                continue
            tags = self.tag_tokens([t.text for t in toks])
            for a, b, etype in bio_to_spans(tags):
                st, en = toks[a].start, toks[b - 1].end
                mentions.append(Mention(st, en, etype, text[st:en], list(toks[a:b])))
        return mentions

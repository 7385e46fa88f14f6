"""Blocked and paywalled pages (services/ingest/crawler/blocking.py) on realistic HTML, with the
negatives that matter: an ordinary Indonesian article that mentions JavaScript, carries Cloudflare's
injected script, a comment captcha and a cookie banner is an article; a short but normal news brief
is an article; and how health reads blocked/paywalled from crawl runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.crawler.blocking import Baseline, BaselineStore, classify
from services.ingest.crawler.health import _shut_out
from services.ingest.crawler.registry import CrawlRecord
from services.ingest.crawler.state import MemoryKeyValue

ARTICLE_TEXT = (
    "Pemerintah Kabupaten Kudus meluncurkan aplikasi layanan perizinan daring yang dibangun dengan "
    "JavaScript dan dapat diakses melalui ponsel. Kepala Dinas Komunikasi dan Informatika mengatakan "
    "warga tidak perlu lagi datang ke kantor untuk mengurus izin usaha mikro. "
) * 6

ARTICLE = f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<title>Pemkab Kudus luncurkan aplikasi perizinan berbasis JavaScript - Lintas Muria</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"Pemkab Kudus luncurkan aplikasi perizinan","isAccessibleForFree":true}}</script>
<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js" defer></script></head>
<body><div id="app"><header class="site-header"><nav>Beranda · Daerah · Ekonomi</nav></header>
<article class="entry-content"><h1>Pemkab Kudus luncurkan aplikasi perizinan</h1><p>{ARTICLE_TEXT}</p></article>
<noscript>Aktifkan JavaScript untuk melihat komentar.</noscript>
<form class="comments"><div class="g-recaptcha" data-sitekey="x"></div></form>
<div class="cookie-banner">Kami menghargai privasi Anda. <button>Terima semua cookie</button></div>
<div class="paywall-banner" hidden></div></div></body></html>"""

BRIEF_TEXT = (
    "Jalan Lingkar Kudus ditutup sementara Minggu pagi untuk lomba lari 10K. Warga diminta memakai jalur alternatif."
)
BRIEF = f"""<html><head><title>Jalan Lingkar ditutup Minggu pagi</title></head><body>
<nav>Beranda</nav><article><h1>Jalan Lingkar ditutup Minggu pagi</h1><p>{BRIEF_TEXT}</p></article>
<footer>© 2024 Lintas Muria · Berlangganan buletin kami</footer></body></html>"""

CLOUDFLARE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><meta name="robots" content="noindex,nofollow">
<style>*{box-sizing:border-box}</style></head><body><div class="main-wrapper" role="main">
<div class="main-content"><noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies
to continue</span></div></noscript></div></div><script>(function(){window._cf_chl_opt={cvId: '3',cZone:
"www.example.co.id",cType: 'managed'};var cpo=document.createElement('script');
cpo.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8a1b';})();</script></body></html>"""

CHECKING = """<html><head><title>Sedang memeriksa</title></head><body><div id="cf-browser-verification">
<h1>Checking your browser before accessing kabarcontoh.id.</h1><p>This process is automatic.</p>
<p>DDoS protection by Cloudflare</p></div></body></html>"""

CAPTCHA = """<html><head><title>Keamanan</title></head><body><h2>Buktikan Anda bukan robot</h2>
<form method="post"><div class="h-captcha" data-sitekey="10000000-ffff"></div><button>Lanjut</button></form></body></html>"""

CONSENT = """<html><head><title>Sebelum Anda melanjutkan</title></head><body><div class="fc-consent-root">
<h1>Kami menghargai privasi Anda</h1><p>Kami dan mitra kami menyimpan dan/atau mengakses informasi di perangkat.</p>
<button>Terima semua</button><button>Kelola opsi</button></div></body></html>"""

JS_SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>Kabar Contoh</title>
<link rel="stylesheet" href="/static/css/main.8f2a.css"></head><body>
<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
<script src="/static/js/main.3c1d.js"></script></body></html>"""

NEXT_SHELL = """<html><head><title>Portal</title></head><body><div id="__next"></div>
<script id="__NEXT_DATA__" type="application/json">{"props":{}}</script></body></html>"""

TEASER = "Gubernur menyampaikan rencana pembangunan pelabuhan baru di pesisir utara dalam rapat paripurna."


def paywalled_jsonld(value: str, *, has_part: bool = False) -> str:
    ld = '{"@context":"https://schema.org","@type":"NewsArticle","headline":"Rencana pelabuhan",' + (
        '"isAccessibleForFree":true,"hasPart":{"@type":"WebPageElement","isAccessibleForFree":' + value + ","
        '"cssSelector":".premium"}}'
        if has_part
        else '"isAccessibleForFree":' + value + "}"
    )
    return f"""<html><head><title>Rencana pelabuhan</title><script type="application/ld+json">{ld}</script></head>
<body><article><p>{TEASER}</p><div class="premium">…</div></article></body></html>"""


def test_http_statuses_are_blocked() -> None:
    for status in (403, 429, 451):
        verdict = classify(status, {}, "<html>Forbidden</html>", 9)
        assert verdict is not None and verdict[:2] == ("blocked", f"blocked_http_{status}")


def test_cloudflare_interstitials_are_challenges() -> None:
    assert classify(200, {}, CLOUDFLARE, 0) == (
        "blocked",
        "blocked_challenge",
        "The site served a bot-challenge page ('just a moment...').",
    )
    verdict = classify(200, {}, CHECKING, 90)
    assert verdict is not None and verdict[1] == "blocked_challenge"
    verdict = classify(200, {"CF-Mitigated": "challenge"}, "<html></html>", 0)
    assert verdict is not None and verdict[1] == "blocked_challenge"


def test_captcha_and_consent_walls() -> None:
    verdict = classify(200, {}, CAPTCHA, 30)
    assert verdict is not None and verdict[1] == "blocked_challenge"
    verdict = classify(200, {}, CONSENT, 110)
    assert verdict is not None and verdict[:2] == ("blocked", "blocked_consent")


@pytest.mark.parametrize("html", [JS_SHELL, NEXT_SHELL])
def test_javascript_shells(html: str) -> None:
    verdict = classify(200, {}, html, 0)
    assert verdict is not None and verdict[:2] == ("blocked", "blocked_js_shell")


@pytest.mark.parametrize(
    "html",
    [paywalled_jsonld("false"), paywalled_jsonld('"False"'), paywalled_jsonld('"false"'),
     paywalled_jsonld("false", has_part=True)],
)  # fmt: skip
def test_json_ld_paywall(html: str) -> None:
    # The JSON-LD statement counts even on a long page (a "flexible sampling" page with the full text).
    for text_len in (len(TEASER), 5000):
        verdict = classify(200, {}, html, text_len)
        assert verdict is not None and verdict[:2] == ("paywalled", "paywalled"), verdict


def test_paywall_markers_on_a_teaser() -> None:
    marker = f"<html><body><article><p>{TEASER}</p><div class='paywall'>Konten ini khusus pelanggan.</div></article></body></html>"
    verdict = classify(200, {}, marker, len(TEASER))
    assert verdict is not None and verdict[1] == "paywalled"
    meta = f'<html><head><meta property="article:content_tier" content="locked"></head><body>{TEASER}</body></html>'
    assert classify(200, {}, meta, len(TEASER)) is not None
    cls = f'<html><body><p>{TEASER}</p><section class="article-body paywall">Berlangganan</section></body></html>'
    assert classify(200, {}, cls, len(TEASER)) is not None
    # The same marker under a full article (a subscription promo box) is not a paywall.
    assert classify(200, {}, marker, 3000) is None


def test_an_ordinary_article_is_not_blocked() -> None:
    """It mentions JavaScript, has an app root div, Cloudflare's injected script, a comment captcha,
    a cookie banner and a hidden paywall box, and JSON-LD isAccessibleForFree true."""
    assert classify(200, {}, ARTICLE, len(ARTICLE_TEXT)) is None
    assert classify(200, {}, ARTICLE, len(ARTICLE_TEXT), Baseline(1400, 10)) is None


def test_a_short_normal_brief_is_not_blocked() -> None:
    assert classify(200, {}, BRIEF, len(BRIEF_TEXT)) is None
    # Shorter than a quarter of the source's usual, but the first short pages are published.
    usual = Baseline(median=2400, samples=12, short_streak=0)
    assert usual.is_short(len(BRIEF_TEXT))
    assert classify(200, {}, BRIEF, len(BRIEF_TEXT), usual) is None
    assert classify(200, {}, BRIEF, len(BRIEF_TEXT), Baseline(2400, 12, short_streak=1)) is None


def test_short_text_against_the_baseline() -> None:
    verdict = classify(200, {}, BRIEF, len(BRIEF_TEXT), Baseline(2400, 12, short_streak=2))
    assert verdict is not None and verdict[:2] == ("blocked", "blocked_short_text")
    # Too few pages to know the usual length, or not short enough: an article.
    assert classify(200, {}, BRIEF, len(BRIEF_TEXT), Baseline(2400, 4, short_streak=5)) is None
    assert classify(200, {}, BRIEF, 700, Baseline(2400, 12, short_streak=5)) is None


def test_baseline_store_median_and_streak() -> None:
    store = BaselineStore(MemoryKeyValue(), "t:", 3600)
    assert store.get("s") == Baseline(None, 0, 0)
    for n in (2000, 2200, 1800, 2600, 2400):
        store.record("s", n, short=False)
    assert store.get("s") == Baseline(2200, 5, 0)
    store.record("s", 100, short=True)
    store.record("s", 90, short=True)
    assert store.get("s") == Baseline(2200, 5, 2)  # short pages stay out of the median
    store.record("s", 2100, short=False)
    assert store.get("s").short_streak == 0 and store.get("s").samples == 6


T0 = datetime(2024, 6, 10, 5, 0, tzinfo=UTC)


def run(
    minutes: int, *, published: int = 0, failed: dict[str, int] | None = None, skipped: dict[str, int] | None = None
) -> CrawlRecord:
    at = T0 + timedelta(minutes=minutes)
    return CrawlRecord(source_id="s", started_at=at, finished_at=at, status="ok", published=published,
                       failed=Counter(failed or {}), skipped=Counter(skipped or {}))  # fmt: skip


def test_health_reads_blocked_and_paywalled_from_runs() -> None:
    # Newest first: two challenge crawls after a normal one, with a crawl that only saw known pages.
    shut = _shut_out([run(30, skipped={"seen": 5}), run(20, failed={"blocked_challenge": 4}),
                      run(10, failed={"blocked_challenge": 3, "http_403": 1}), run(0, published=6)])  # fmt: skip
    assert shut is not None and (shut.code, shut.pages, shut.since) == (
        "blocked_challenge",
        4,
        T0 + timedelta(minutes=10),
    )
    # The feed itself answered 403 (a discovery failure counts as one page).
    shut = _shut_out([run(0, failed={"http_403": 1})])
    assert shut is not None and shut.code == "blocked_http_403"
    # Once articles come through again, it is over.
    assert _shut_out([run(40, published=3), run(30, failed={"blocked_js_shell": 5})]) is None
    # A few blocked among many published is not a blocked source.
    assert _shut_out([run(0, published=8, failed={"blocked_short_text": 1})]) is None
    # 429 needs two crawls in a row.
    assert _shut_out([run(10, failed={"http_429": 2}), run(0, published=2)]) is None
    shut = _shut_out([run(10, failed={"http_429": 2}), run(0, failed={"http_429": 1})])
    assert shut is not None and shut.code == "blocked_http_429"
    shut = _shut_out([run(10, skipped={"paywalled": 4}, published=1), run(0, published=5)])
    assert shut is not None and (shut.code, shut.pages) == ("paywalled", 4)
    reason = shut.reason()
    assert reason.code == "paywalled" and "arrange access" in reason.message

"""robots.txt decisions against RFC 9309's examples, Google's documented examples, WordPress's
default file and the cases the crawler meets on Indonesian news sites.

The case table is also ``fixtures/robots_cases.jsonl`` (one JSON object per case, in the input
format of ``warta ingest robots`` plus ``name`` and the expected ``allowed``), which the CLI test
replays through the real command. After changing the table, rewrite the fixture with
``.venv/bin/python -m tests.unit.crawler.test_robots_rfc9309``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.ingest.crawler import robots as robots_module
from services.ingest.crawler.robots import MAX_ROBOTS_BYTES, RobotsCache, RobotsRules, rules_for_response

FIXTURE = Path(__file__).parent / "fixtures" / "robots_cases.jsonl"
AGENT = "WartaBot/0.1 (+https://github.com/warta)"
A, D = True, False  # allowed, disallowed

RFC_5_1 = """User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
"""
RFC_5_2 = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
RFC_2_2_1_GROUPS = "user-agent: a\ndisallow: /c\n\nuser-agent: b\ndisallow: /d\n\nuser-agent: e\nuser-agent: f\ndisallow: /g\n\nuser-agent: h\n"
RFC_2_2_1_MERGE = "user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\nuser-agent: ExampleBot\ndisallow: /baz\n"
GOOGLE_GROUPS = (
    "user-agent: googlebot-news\ndisallow: /group1\n\nuser-agent: *\ndisallow: /group2\n\n"
    "user-agent: googlebot\ndisallow: /group3\n"
)
GOOGLE_MERGE = (
    "user-agent: googlebot-news\ndisallow: /fish\n\nuser-agent: *\ndisallow: /carrots\n\n"
    "user-agent: googlebot-news\ndisallow: /shrimp\n"
)
GOOGLE_SITEMAP_IN_GROUP = "user-agent: a\nsitemap: https://example.com/sitemap.xml\n\nuser-agent: b\ndisallow: /\n"
WORDPRESS = (
    "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
    "Sitemap: https://muria.example/wp-sitemap.xml\n"
)
SEARCH = "User-agent: *\nDisallow: /*?s=\n"


def _any(disallow: str) -> str:
    return f"User-agent: *\nDisallow: {disallow}\n"


def _pair(allow: str, disallow: str) -> str:
    return f"User-agent: *\nAllow: {allow}\nDisallow: {disallow}\n"


# (name, robots.txt, agent, url or path, expected)
TABLE: list[tuple[str, str, str, str, bool]] = [
    # RFC 9309 5.1: the simple example file
    ("rfc5.1 * group: /example/ disallowed", RFC_5_1, "otherbot", "/example/x.html", D),
    ("rfc5.1 * group: *.gif$", RFC_5_1, "otherbot", "/images/a.gif", D),
    ("rfc5.1 * group: *.gif$ is anchored", RFC_5_1, "otherbot", "/images/a.gif?size=2", A),
    ("rfc5.1 * group: /publications/ allowed", RFC_5_1, "otherbot", "/publications/x", A),
    ("rfc5.1 * group: no rule matches", RFC_5_1, "otherbot", "/index.html", A),
    ("rfc5.1 foobot: allow longer than disallow /", RFC_5_1, "foobot", "/example/page.html", A),
    ("rfc5.1 foobot: allowed.gif", RFC_5_1, "foobot", "/example/allowed.gif", A),
    ("rfc5.1 foobot: other page", RFC_5_1, "foobot", "/example/other.html", D),
    ("rfc5.1 foobot: other gif", RFC_5_1, "foobot", "/example/other.gif", D),
    ("rfc5.1 foobot: full user agent", RFC_5_1, "FooBot/2.1 (+https://foo.example)", "/x", D),
    ("rfc5.1 barbot: its group", RFC_5_1, "barbot", "/example/page.html", D),
    ("rfc5.1 barbot: not the * group", RFC_5_1, "barbot", "/example/other.html", A),
    ("rfc5.1 bazbot: shares barbot's group", RFC_5_1, "bazbot", "/example/page.html", D),
    ("rfc5.1 quxbot: empty group, no rules", RFC_5_1, "quxbot", "/example/page.html", A),
    ("rfc5.1 quxbot: not the * group", RFC_5_1, "quxbot", "/a.gif", A),
    # RFC 9309 5.2: longest match
    ("rfc5.2 allow /example/page/", RFC_5_2, "foobot", "/example/page/", A),
    ("rfc5.2 longer disallow wins", RFC_5_2, "foobot", "/example/page/disallowed.gif", D),
    ("rfc5.2 other file", RFC_5_2, "foobot", "/example/page/other.gif", A),
    ("rfc5.2 other agent: no group", RFC_5_2, "otherbot", "/example/page/disallowed.gif", A),
    # RFC 9309 2.2.1: groups, merging
    ("rfc2.2.1 a /c", RFC_2_2_1_GROUPS, "a", "/c", D),
    ("rfc2.2.1 a not /d", RFC_2_2_1_GROUPS, "a", "/d", A),
    ("rfc2.2.1 b /d", RFC_2_2_1_GROUPS, "b", "/d", D),
    ("rfc2.2.1 e /g", RFC_2_2_1_GROUPS, "e", "/g", D),
    ("rfc2.2.1 f /g", RFC_2_2_1_GROUPS, "f", "/g", D),
    ("rfc2.2.1 h empty group", RFC_2_2_1_GROUPS, "h", "/g", A),
    ("rfc2.2.1 unknown agent, no * group", RFC_2_2_1_GROUPS, "z", "/c", A),
    ("rfc2.2.1 merged: first group", RFC_2_2_1_MERGE, "ExampleBot/1.0", "/foo", D),
    ("rfc2.2.1 merged: second group", RFC_2_2_1_MERGE, "ExampleBot/1.0", "/baz", D),
    ("rfc2.2.1 merged: case-insensitive agent", RFC_2_2_1_MERGE, "examplebot", "/bar", D),
    ("rfc2.2.1 merged: elsewhere allowed", RFC_2_2_1_MERGE, "ExampleBot/1.0", "/qux", A),
    # RFC 9309 2.2.2: matching, percent-encoding (the table), ties, /robots.txt
    ("rfc2.2.2 query is matched", _any("/foo/bar?baz=quz"), AGENT, "/foo/bar?baz=quz", D),
    ("rfc2.2.2 UTF-8 rule, encoded URL", _any("/foo/bar/ツ"), AGENT, "/foo/bar/%E3%83%84", D),
    ("rfc2.2.2 encoded rule, encoded URL", _any("/foo/bar/%E3%83%84"), AGENT, "/foo/bar/%E3%83%84", D),
    ("rfc2.2.2 encoded rule, UTF-8 URL", _any("/foo/bar/%E3%83%84"), AGENT, "https://x.example/foo/bar/ツ", D),
    ("rfc2.2.2 %62%61%7A rule is baz", _any("/foo/bar/%62%61%7A"), AGENT, "/foo/bar/baz", D),
    ("rfc2.2.2 baz rule, %62%61%7A URL", _any("/foo/bar/baz"), AGENT, "/foo/bar/%62%61%7A", D),
    ("rfc2.2.2 equivalent allow wins", _pair("/berita", "/berita"), AGENT, "/berita/x", A),
    ("rfc2.2.2 /robots.txt always allowed", _any("/"), AGENT, "https://x.example/robots.txt", A),
    ("rfc2.2.2 empty disallow matches nothing", "User-agent: *\nDisallow:\n", AGENT, "/", A),
    # RFC 9309 2.2.3: special characters
    ("rfc2.2.3 $ exact", _any("/this/path/exactly$"), AGENT, "/this/path/exactly", D),
    ("rfc2.2.3 $ not longer", _any("/this/path/exactly$"), AGENT, "/this/path/exactly/more", A),
    ("rfc2.2.3 * any", _any("/this/*/exactly"), AGENT, "/this/a/b/exactly", D),
    ("rfc2.2.3 * needs the rest", _any("/this/*/exactly"), AGENT, "/this/exactly", A),
    ("rfc2.2.3 comment in line", "User-agent: * # all\nDisallow: / # comment in line\n", AGENT, "/x", D),
    ("rfc2.2.3 comment line", "# comment on its own line\nUser-agent: *\nDisallow: /x\n", AGENT, "/x", D),
    ("rfc2.2.3 %2A is a literal *", _any("/path/file-with-a-%2A.html"), AGENT, "/path/file-with-a-*.html", D),
    ("rfc2.2.3 %2A lower-case hex", _any("/path/file-with-a-%2A.html"), AGENT, "/path/file-with-a-%2a.html", D),
    ("rfc2.2.3 %2A is no wildcard", _any("/path/file-with-a-%2A.html"), AGENT, "/path/file-with-a-x.html", A),
    ("rfc2.2.3 %24 is a literal $", _any("/path/foo-%24"), AGENT, "/path/foo-$", D),
    ("rfc2.2.3 %24 is no anchor", _any("/path/foo-%24"), AGENT, "/path/foo-", A),
    ("rfc2.2.3 non-final $ is literal", _any("/a$b"), AGENT, "/a$b", D),
    ("final $ only anchors", _any("/a$"), AGENT, "/a$b", A),
    ("final $ matches exactly", _any("/a$"), AGENT, "/a", D),
    # Google: URL matching based on path values
    ("google / matches all", _any("/"), AGENT, "/any/thing", D),
    ("google /* matches all", _any("/*"), AGENT, "/any/thing", D),
    ("google * matches all", _any("*"), AGENT, "/any/thing", D),
    ("google /$ root", _any("/$"), AGENT, "/", D),
    ("google /$ not below", _any("/$"), AGENT, "/page", A),
    ("google /fish", _any("/fish"), AGENT, "/fish", D),
    ("google /fish .html", _any("/fish"), AGENT, "/fish.html", D),
    ("google /fish below", _any("/fish"), AGENT, "/fish/salmon.html", D),
    ("google /fish heads", _any("/fish"), AGENT, "/fishheads/yummy.html", D),
    ("google /fish query", _any("/fish"), AGENT, "/fish.php?id=anything", D),
    ("google /fish case", _any("/fish"), AGENT, "/Fish.asp", A),
    ("google /fish catfish", _any("/fish"), AGENT, "/catfish", A),
    ("google /fish in query", _any("/fish"), AGENT, "/?id=fish", A),
    ("google /fish deeper", _any("/fish"), AGENT, "/desert/fish", A),
    ("google /fish* same as /fish", _any("/fish*"), AGENT, "/fishheads", D),
    ("google /fish* case", _any("/fish*"), AGENT, "/Fish.bar", A),
    ("google /fish/ dir", _any("/fish/"), AGENT, "/fish/", D),
    ("google /fish/ query", _any("/fish/"), AGENT, "/fish/?id=anything", D),
    ("google /fish/ file", _any("/fish/"), AGENT, "/fish/salmon.htm", D),
    ("google /fish/ not /fish", _any("/fish/"), AGENT, "/fish", A),
    ("google /fish/ not .html", _any("/fish/"), AGENT, "/fish.html", A),
    ("google /fish/ not deeper", _any("/fish/"), AGENT, "/animals/fish/", A),
    ("google /fish/ case", _any("/fish/"), AGENT, "/Fish/Salmon.asp", A),
    ("google /*.php", _any("/*.php"), AGENT, "/index.php", D),
    ("google /*.php folder", _any("/*.php"), AGENT, "/folder/filename.php", D),
    ("google /*.php query", _any("/*.php"), AGENT, "/folder/filename.php?parameters", D),
    ("google /*.php middle", _any("/*.php"), AGENT, "/folder/any.php.file.html", D),
    ("google /*.php slash", _any("/*.php"), AGENT, "/filename.php/", D),
    ("google /*.php root", _any("/*.php"), AGENT, "/", A),
    ("google /*.php case", _any("/*.php"), AGENT, "/windows.PHP", A),
    ("google /*.php$", _any("/*.php$"), AGENT, "/folder/filename.php", D),
    ("google /*.php$ query", _any("/*.php$"), AGENT, "/filename.php?parameters", A),
    ("google /*.php$ slash", _any("/*.php$"), AGENT, "/filename.php/", A),
    ("google /*.php$ php5", _any("/*.php$"), AGENT, "/filename.php5", A),
    ("google /fish*.php", _any("/fish*.php"), AGENT, "/fish.php", D),
    ("google /fish*.php deeper", _any("/fish*.php"), AGENT, "/fishheads/catfish.php?parameters", D),
    ("google /fish*.php case", _any("/fish*.php"), AGENT, "/Fish.PHP", A),
    # Google: order of precedence
    ("google allow /p beats disallow /", _pair("/p", "/"), AGENT, "/page", A),
    ("google allow /folder ties disallow /folder", _pair("/folder", "/folder"), AGENT, "/folder/page", A),
    ("google disallow /*.htm is longer", _pair("/page", "/*.htm"), AGENT, "/page.htm", D),
    ("google allow /page ties /*.ph", _pair("/page", "/*.ph"), AGENT, "/page.php", A),
    ("google allow /$ root", _pair("/$", "/"), AGENT, "/", A),
    ("google allow /$ not below", _pair("/$", "/"), AGENT, "/page.htm", D),
    # Google: groups
    ("google groups: googlebot-news", GOOGLE_GROUPS, "Googlebot-News", "/group1", D),
    ("google groups: googlebot-news not *", GOOGLE_GROUPS, "Googlebot-News", "/group2", A),
    ("google groups: googlebot", GOOGLE_GROUPS, "Googlebot/2.1", "/group3", D),
    ("google groups: googlebot not news", GOOGLE_GROUPS, "Googlebot/2.1", "/group1", A),
    ("google groups: otherbot gets *", GOOGLE_GROUPS, "Otherbot", "/group2", D),
    ("google merge: first", GOOGLE_MERGE, "googlebot-news", "/fish", D),
    ("google merge: second", GOOGLE_MERGE, "googlebot-news", "/shrimp", D),
    ("google merge: not the * group", GOOGLE_MERGE, "googlebot-news", "/carrots", A),
    ("google sitemap does not end a group: a", GOOGLE_SITEMAP_IN_GROUP, "a", "/x", D),
    ("google sitemap does not end a group: b", GOOGLE_SITEMAP_IN_GROUP, "b", "/x", D),
    # WordPress's default robots.txt
    ("wordpress admin dir", WORDPRESS, AGENT, "https://muria.example/wp-admin/", D),
    ("wordpress admin page", WORDPRESS, AGENT, "https://muria.example/wp-admin/options.php", D),
    ("wordpress admin-ajax allowed", WORDPRESS, AGENT, "https://muria.example/wp-admin/admin-ajax.php", A),
    ("wordpress admin-ajax query", WORDPRESS, AGENT, "https://muria.example/wp-admin/admin-ajax.php?action=x", A),
    ("wordpress article", WORDPRESS, AGENT, "https://muria.example/2024/05/banjir-kudus/", A),
    ("wordpress /wp-admin without slash", WORDPRESS, AGENT, "https://muria.example/wp-admin", A),
    # Search pages: Disallow: /*?s=
    ("search on home", SEARCH, AGENT, "https://x.example/?s=banjir", D),
    ("search on a page", SEARCH, AGENT, "https://x.example/page/2/?s=banjir", D),
    ("search empty term", SEARCH, AGENT, "https://x.example/berita/?s=", D),
    ("search: article", SEARCH, AGENT, "https://x.example/berita/", A),
    ("search: other query", SEARCH, AGENT, "https://x.example/berita/?p=1", A),
    ("search: ?sort= is not ?s=", SEARCH, AGENT, "https://x.example/?sort=new", A),
    ("search: &s= is not ?s=", SEARCH, AGENT, "https://x.example/?p=1&s=banjir", A),
    # Product token matching for WartaBot
    ("agent: exact token", "User-agent: WartaBot\nDisallow: /\n", AGENT, "/x", D),
    ("agent: case-insensitive", "User-agent: WARTABOT\nDisallow: /\n", AGENT, "/x", D),
    ("agent: token with version in robots.txt", "User-agent: WartaBot/1.0\nDisallow: /\n", AGENT, "/x", D),
    ("agent: a prefix is another agent", "User-agent: Warta\nDisallow: /\n", AGENT, "/x", A),
    ("agent: a longer token is another agent", "User-agent: WartaBotNews\nDisallow: /\n", AGENT, "/x", A),
    (
        "agent: own group instead of *",
        "User-agent: WartaBot\nDisallow: /privat/\n\nUser-agent: *\nDisallow: /\n",
        AGENT,
        "/berita/x",
        A,
    ),
    (
        "agent: own group rules",
        "User-agent: WartaBot\nDisallow: /privat/\n\nUser-agent: *\nDisallow: /\n",
        AGENT,
        "/privat/x",
        D,
    ),
    ("agent: * when not named", "User-agent: OtherBot\nDisallow: /\n\nUser-agent: *\nDisallow: /x\n", AGENT, "/y", A),
    (
        "agent: blank line between agent lines keeps one group",
        "User-agent: WartaBot\n\nUser-agent: *\nDisallow: /\n",
        AGENT,
        "/x",
        D,
    ),
    # Percent-encoding
    ("%2F is not /: rule /a/b", _any("/a/b"), AGENT, "/a%2Fb", A),
    ("%2F is not /: rule /a%2Fb", _any("/a%2Fb"), AGENT, "/a/b", A),
    ("%2F matches %2f", _any("/a%2Fb"), AGENT, "/a%2fb", D),
    ("%7E is ~: rule ~", _any("/~joe/"), AGENT, "/%7Ejoe/x", D),
    ("%7e is ~: rule %7e", _any("/%7ejoe/"), AGENT, "/~joe/x", D),
    ("non-ASCII rule, encoded URL", _any("/berita/café"), AGENT, "/berita/caf%C3%A9", D),
    ("encoded rule, non-ASCII URL", _any("/%C3%A9t%C3%A9"), AGENT, "/été/x", D),
    ("reserved escape stays: %3D is not =", _any("/cari?q="), AGENT, "/cari?q%3Dx", A),
    ("reserved literal matches", _any("/cari?q="), AGENT, "/cari?q=x", D),
    # Parsing
    ("byte order mark", "\ufeffUser-agent: *\nDisallow: /\n", AGENT, "/x", D),
    ("CR line ends", "User-agent: *\rDisallow: /x\r", AGENT, "/x", D),
    ("CRLF line ends", "User-agent: *\r\nDisallow: /x\r\n", AGENT, "/x", D),
    ("missing colon", "User-agent *\nDisallow /x\n", AGENT, "/x", D),
    ("upper-case keys", "USER-AGENT: *\nDISALLOW: /x\n", AGENT, "/x", D),
    ("misspelt disallow", "User-agent: *\nDisalow: /x\n", AGENT, "/x", D),
    ("rule before any group applies to no one", "Disallow: /\nUser-agent: *\nDisallow: /x\n", AGENT, "/y", A),
    ("crawl-delay does not end a group", "User-agent: a\nCrawl-delay: 5\nUser-agent: b\nDisallow: /\n", "a", "/x", D),
    (
        "crawl-delay does not end a group: the * rules below apply",
        "User-agent: WartaBot\nCrawl-delay: 1\n\nUser-agent: *\nDisallow: /\n",
        AGENT,
        "/x",
        D,
    ),
    ("allow /index.html does not allow /", _pair("/index.html", "/"), AGENT, "/", D),
    ("allow /index.html allows itself", _pair("/index.html", "/"), AGENT, "/index.html", A),
    ("a path rule without / never matches", _any("private"), AGENT, "/private", A),
    ("empty file", "", AGENT, "/x", A),
    ("fragment ignored", _any("/a$"), AGENT, "/a#section", D),
]

# (name, status, expected): RFC 9309 2.3.1 through the CLI's "status" field
STATUS_TABLE: list[tuple[str, int | None, bool]] = [
    ("status 200 parses the file", 200, D),
    ("status 401 is no rules", 401, A),
    ("status 403 is no rules", 403, A),
    ("status 404 is no rules", 404, A),
    ("status 410 is no rules", 410, A),
    ("status 429 disallows everything", 429, D),
    ("status 500 disallows everything", 500, D),
    ("status 503 disallows everything", 503, D),
    ("unreachable disallows everything", None, D),
]


def cases() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"name": name, "robots": robots, "agent": agent, "url": url, "allowed": allowed}
        for name, robots, agent, url, allowed in TABLE
    ]
    rows += [
        {
            "name": name,
            "robots": "User-agent: *\nDisallow: /\n",
            "agent": AGENT,
            "url": "/x",
            "status": status,
            "allowed": allowed,
        }
        for name, status, allowed in STATUS_TABLE
    ]
    return rows


def _fixture_text() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in cases())


@pytest.mark.parametrize(("name", "robots", "agent", "url", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_case(name: str, robots: str, agent: str, url: str, expected: bool) -> None:
    assert RobotsRules.parse(robots).allowed(url, agent) is expected


@pytest.mark.parametrize(("name", "status", "expected"), STATUS_TABLE, ids=[row[0] for row in STATUS_TABLE])
def test_status(name: str, status: int | None, expected: bool) -> None:
    assert rules_for_response(status, "User-agent: *\nDisallow: /\n").allowed("/x", AGENT) is expected


def test_fixture_is_the_table() -> None:
    assert FIXTURE.read_text(encoding="utf-8") == _fixture_text()


def test_cli_replays_every_case() -> None:
    """The real ``warta ingest robots`` answers every case of the fixture as expected."""
    proc = subprocess.run(
        [sys.executable, "-m", "shared.cli", "ingest", "robots", str(FIXTURE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    expected = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == len(expected) == len(TABLE) + len(STATUS_TABLE)
    wrong = [
        (case["name"], answer)
        for case, answer in zip(expected, answers, strict=True)
        if answer != {"allowed": case["allowed"]}
    ]
    assert wrong == []


def test_cli_bad_lines_answer_an_error_and_go_on() -> None:
    lines = [
        json.dumps({"robots": "User-agent: *\nDisallow: /x\n", "agent": "WartaBot", "url": "/x"}),
        "not json",
        json.dumps(["a list"]),
        json.dumps({"robots": "", "url": "/x"}),
        json.dumps({"robots": "", "agent": "WartaBot", "url": "/x", "status": "soon"}),
        json.dumps({"agent": "WartaBot", "url": "/x"}),
        "",
        json.dumps({"agent": "WartaBot", "url": "/x", "status": 503}),
        json.dumps({"robots": "User-agent: *\nDisallow: /x\n", "agent": "WartaBot", "url": "/y"}),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "shared.cli", "ingest", "robots"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1
    assert [a["allowed"] for a in answers] == [False, None, None, None, None, None, False, True]
    assert answers[1]["error"].startswith("not JSON")
    assert answers[2]["error"] == "expected a JSON object"
    assert answers[3]["error"] == "agent: a non-empty string is required"
    assert answers[4]["error"].startswith("status:")
    assert answers[5]["error"] == "robots: required with a 2xx status"


# The 500 KiB limit (RFC 9309 2.5)


def _big_file(last_rule: str, size: int) -> str:
    head = "User-agent: *\n"
    filler_line = "Disallow: /arsip/halaman-yang-tidak-boleh-dirayapi\n"
    count = (size - len(head) - len(last_rule)) // len(filler_line)
    body = head + filler_line * count
    return body + " " * (size - len(body) - len(last_rule)) + last_rule


def test_rule_at_the_end_of_a_500_kib_file_is_followed() -> None:
    text = _big_file("Disallow: /akhir/\n", MAX_ROBOTS_BYTES)
    assert len(text.encode()) == 500 * 1024
    rules = RobotsRules.parse(text)
    assert not rules.allowed("/akhir/x", AGENT)
    assert not rules.allowed("/arsip/halaman-yang-tidak-boleh-dirayapi/1", AGENT)
    assert rules.allowed("/berita/x", AGENT)


def test_beyond_the_limit_is_ignored_and_a_cut_line_dropped() -> None:
    text = _big_file("Disallow: /akhir/\n", MAX_ROBOTS_BYTES) + "Disallow: /lewat/\n"
    assert RobotsRules.parse(text).allowed("/lewat/x", AGENT)
    # A rule cut by the limit ("Disallow: /akhir/" read as "Disallow: /a") is not followed.
    cut = _big_file("Disallow: /akhir/", MAX_ROBOTS_BYTES + 5)
    assert RobotsRules.parse(cut).allowed("/arsip-lain", AGENT)


def test_pattern_with_many_wildcards_stays_linear() -> None:
    rules = RobotsRules.parse(_any("/" + "a*" * 2000 + "b"))
    assert rules.allowed("/" + "a" * 5000, AGENT)


# RobotsCache: fetch outcomes, TTLs and Crawl-delay as the fetcher uses them


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[tuple[int, str] | Exception]
) -> tuple[RobotsCache, _Clock, list[str]]:
    clock = _Clock()
    monkeypatch.setattr(robots_module.time, "monotonic", clock)
    calls: list[str] = []

    def fetch(url: str) -> tuple[int, str]:
        calls.append(url)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return RobotsCache(fetch, AGENT, ttl_s=3600.0), clock, calls


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_cache_4xx_allows_everything(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    cache, _, _ = _cache(monkeypatch, [(status, "User-agent: *\nDisallow: /\n")])
    assert cache.check("https://x.example/berita/1") is None


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_cache_5xx_and_429_disallow_everything_for_the_error_ttl(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    cache, clock, calls = _cache(monkeypatch, [(status, ""), (200, "User-agent: *\nDisallow:\n")])
    assert cache.check("https://x.example/berita/1") == "robots_unreachable"
    clock.now += robots_module.ERROR_TTL_S - 1
    assert cache.check("https://x.example/berita/2") == "robots_unreachable"
    assert len(calls) == 1
    clock.now += 2
    assert cache.check("https://x.example/berita/2") is None
    assert len(calls) == 2


def test_cache_unreachable_keeps_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    class Timeout(Exception):
        reason = "timeout"

    cache, _, _ = _cache(monkeypatch, [Timeout()])
    assert cache.check("https://x.example/x") == "timeout"
    assert cache.crawl_delay("https://x.example/x") is None


def test_cache_success_uses_the_long_ttl_and_rfc_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, clock, calls = _cache(monkeypatch, [(200, WORDPRESS), (200, "User-agent: *\nDisallow: /\n")])
    assert cache.allowed("https://muria.example/wp-admin/admin-ajax.php")
    assert cache.check("https://muria.example/wp-admin/options.php") == "robots"
    clock.now += 3599
    assert cache.allowed("https://muria.example/berita/")
    assert calls == ["https://muria.example/robots.txt"]
    clock.now += 2
    assert not cache.allowed("https://muria.example/berita/")


def test_cache_crawl_delay_for_our_group(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: wartabot\nCrawl-delay: 2.5\nDisallow: /privat/\n"
    cache, _, _ = _cache(monkeypatch, [(200, text)])
    assert cache.crawl_delay("https://x.example/") == 2.5
    other, _, _ = _cache(monkeypatch, [(200, "User-agent: *\nCrawl-delay: 4\n")])
    assert other.crawl_delay("https://x.example/") == 4.0


def test_crawl_delay_of_merged_groups_is_the_largest_and_bad_values_ignored() -> None:
    rules = RobotsRules.parse(
        "User-agent: WartaBot\nCrawl-delay: 1\n\nUser-agent: WartaBot\nCrawl-delay: 3\n\nUser-agent: x\nCrawl-delay: soon\n"
    )
    assert rules.crawl_delay(AGENT) == 3.0
    assert rules.crawl_delay("x") is None


def test_crawl_delay_belongs_to_the_agents_above_it() -> None:
    rules = RobotsRules.parse("User-agent: WartaBot\nCrawl-delay: 1\n\nUser-agent: *\nCrawl-delay: 7\nDisallow: /x\n")
    assert rules.crawl_delay(AGENT) == 1.0
    assert rules.crawl_delay("OtherBot") == 7.0
    assert RobotsRules.parse("User-agent: WartaBot\nDisallow: /x\n").crawl_delay(AGENT) is None


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(_fixture_text(), encoding="utf-8")
    print(f"wrote {len(cases())} cases to {FIXTURE}")

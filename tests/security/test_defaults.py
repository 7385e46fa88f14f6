"""Safe defaults (issue 13, item 11): what a fresh install exposes and which secrets it accepts.

- Consumers' metrics servers bind loopback unless ``WARTA_METRICS_HOST`` says otherwise.
- Outside dev/test a process refuses to start with a placeholder or short secret; in dev nothing
  is signed with a guessable one.
- ``make up`` keeps the admin key and a per-machine webhook secret in ``.stack/`` (0600, ours, not
  readable by the Elasticsearch service user) and gives each process only the secrets it uses.
- docker compose publishes the APIs on 127.0.0.1 by default and hands each container only its
  secrets.
- In a real browser, the web app works under its Content-Security-Policy (which blocks injected
  inline script), and so does Swagger UI at /docs under its own.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from shared.metrics import serve_metrics
from shared.settings import MIN_SECRET_CHARS, PLACEHOLDER_SECRETS
from tests.pipeline import Pipeline, free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
STRONG = "a" * MIN_SECRET_CHARS


# --- metrics servers --------------------------------------------------------------------------


def test_metrics_servers_bind_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARTA_METRICS_HOST", raising=False)
    server = serve_metrics(free_port())
    assert server is not None
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("WARTA_METRICS_HOST", "0.0.0.0")
    server = serve_metrics(free_port())
    assert server is not None
    try:
        assert server.server_address[0] == "0.0.0.0"
    finally:
        server.shutdown()
        server.server_close()


def test_every_consumer_passes_its_metrics_host() -> None:
    from services.enrich.settings import EnrichSettings

    assert EnrichSettings().metrics_host == "127.0.0.1"
    for cli in ("services/enrich/cli.py", "services/ingest/cli.py", "services/search/cli.py"):
        calls = re.findall(r"serve_metrics\(([^)]*)\)", (ROOT / cli).read_text())
        assert calls and all(c == "settings.metrics_port, settings.metrics_host" for c in calls), (cli, calls)


# --- secrets ----------------------------------------------------------------------------------


def test_a_deployment_refuses_placeholder_and_short_secrets() -> None:
    from services.ingest.settings import IngestSettings
    from services.search.settings import AlertsSettings, SearchSettings

    weak = [*sorted(PLACEHOLDER_SECRETS), "x" * (MIN_SECRET_CHARS - 1), " " * 40, "dev-secret"]
    for value in weak:
        with pytest.raises(ValidationError, match="WARTA_WEBHOOK_SECRET must be set to a real secret of at least 32"):
            AlertsSettings(env="production", webhook_secret=value)
        for cls in (IngestSettings, SearchSettings):
            with pytest.raises(ValidationError, match="WARTA_ADMIN_KEY"):
                cls(env="production", admin_key=value)
    with pytest.raises(ValidationError, match="WARTA_WEBHOOK_SECRET"):
        AlertsSettings(env="production")  # unset
    with pytest.raises(ValidationError) as exc:
        AlertsSettings(env="staging", webhook_secret="short-but-real-secret")
    assert "short-but-real-secret" not in str(exc.value)  # never echo a secret
    assert AlertsSettings(env="production", webhook_secret=STRONG).webhook_secret == STRONG
    # The APIs may start without a bootstrap key (the key index may already hold one), and do not
    # need the webhook secret, nor does the indexer (SearchSettings); the alerts consumer does not
    # need the admin key.
    SearchSettings(env="production")
    IngestSettings(env="production", admin_key="wk_" + "k" * 40)
    AlertsSettings(env="production", webhook_secret=STRONG, admin_key="short")
    # dev and test accept anything (the test namespaces' keys are short).
    AlertsSettings(env="test", webhook_secret="x", admin_key="wk_test")


def test_dev_never_signs_webhooks_with_a_guessable_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.search.settings import AlertsSettings

    monkeypatch.delenv("WARTA_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("WARTA_ENV", raising=False)
    a, b = AlertsSettings(), AlertsSettings()
    assert a.env == "dev" and not a.webhook_secret_set
    assert a.webhook_secret not in PLACEHOLDER_SECRETS and len(a.webhook_secret) >= MIN_SECRET_CHARS
    assert a.webhook_secret != b.webhook_secret
    monkeypatch.setenv("WARTA_WEBHOOK_SECRET", STRONG)
    assert AlertsSettings().webhook_secret_set


# --- make up: the stack folder and its secrets -------------------------------------------------


@pytest.fixture
def stack_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="warta-stack-test-"))
    parent.chmod(0o755)  # like a checkout: other users may traverse it
    monkeypatch.setenv("WARTA_STACK_DIR", str(parent / ".stack"))
    try:
        yield parent / ".stack"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _started_env(stack: Path) -> dict[str, dict[str, str]]:
    from shared.stack import manager
    from shared.stack.infra import Paths

    s = manager.StackSettings(dir=stack)
    paths = Paths(stack)
    paths.ensure()
    return {c.name: c.command()[1] for c in manager.components(s, paths) if c.kind == "warta"}


def test_make_up_gives_each_process_only_the_secrets_it_uses(stack_dir: Path) -> None:
    env = _started_env(stack_dir)
    admin = (stack_dir / "admin-key").read_text().strip()
    webhook = (stack_dir / "webhook-secret").read_text().strip()
    assert len(admin) >= MIN_SECRET_CHARS and len(webhook) >= MIN_SECRET_CHARS and admin != webhook
    for name, variables in env.items():
        assert variables.get("WARTA_ADMIN_KEY") == (admin if name in {"ingest-api", "search-api"} else None), name
        assert variables.get("WARTA_WEBHOOK_SECRET") == (webhook if name == "search-alerts" else None), name
    for f in ("admin-key", "webhook-secret"):
        st = (stack_dir / f).stat()
        assert st.st_mode & 0o777 == 0o600 and st.st_uid == os.geteuid(), f
    assert _started_env(stack_dir)["search-alerts"]["WARTA_WEBHOOK_SECRET"] == webhook  # per machine: kept


def test_the_elasticsearch_user_owns_only_its_folder_and_cannot_read_the_secrets(stack_dir: Path) -> None:
    from shared.stack import infra, manager
    from shared.stack import versions as V

    if os.geteuid() != 0:
        pytest.skip("only `make up` as root runs Elasticsearch as another user")
    try:
        pwd.getpwnam(infra.ES_USER)
    except KeyError:
        pytest.skip(f"no {infra.ES_USER} user on this machine (`make up` as root creates it)")
    # The layout an older `make up` left: Elasticsearch unpacked in the stack folder, which it then
    # handed whole to the ES user, admin key included.
    stack_dir.mkdir()
    old_home = stack_dir / f"elasticsearch-{V.ES_VERSION}"
    for d in (old_home / "bin", stack_dir / "es-data" / "nodes", stack_dir / "es-logs", stack_dir / "logs"):
        d.mkdir(parents=True)
    (stack_dir / "es-data" / "nodes" / "state").write_text("kept")
    (stack_dir / "admin-key").write_text("wk_old_admin_key_kept_across_the_migration\n")
    (stack_dir / "admin-key").chmod(0o600)
    subprocess.run(["chown", "-R", f"{infra.ES_USER}:{infra.ES_USER}", str(stack_dir)], check=True)

    paths = infra.Paths(stack_dir)
    paths.ensure()
    assert manager.admin_key(paths) == "wk_old_admin_key_kept_across_the_migration"
    manager.webhook_secret(paths)
    infra.migrate_es_layout(paths)  # what es_command does before it hands es/ to the ES user
    home = infra.es_home(paths)
    assert home == paths.es / f"elasticsearch-{V.ES_VERSION}" and (home / "bin").is_dir()
    assert (paths.es / "es-data" / "nodes" / "state").read_text() == "kept"
    subprocess.run(["chown", "-R", f"{infra.ES_USER}:{infra.ES_USER}", str(home.parent)], check=True)

    assert stack_dir.stat().st_uid == 0 and stack_dir.stat().st_mode & 0o777 == 0o711
    for entry in stack_dir.iterdir():
        owner = pwd.getpwuid(entry.stat().st_uid).pw_name
        assert owner == (infra.ES_USER if entry.name == "es" else "root"), entry

    def as_es_user(*cmd: str) -> int:
        return subprocess.run(list(cmd), user=infra.ES_USER, capture_output=True).returncode

    assert as_es_user("cat", str(stack_dir / "admin-key")) != 0
    assert as_es_user("cat", str(stack_dir / "webhook-secret")) != 0
    assert as_es_user("ls", str(stack_dir)) != 0  # may traverse, not list
    assert as_es_user("ls", str(home / "bin")) == 0  # but reaches its own folder


# --- docker compose ---------------------------------------------------------------------------


def _env(service: str) -> dict[str, Any]:
    svc = COMPOSE["services"][service]
    return dict(svc.get("environment") or {})


def test_compose_publishes_the_apis_on_loopback_by_default() -> None:
    published = {name: svc["ports"] for name, svc in COMPOSE["services"].items() if svc.get("ports")}
    assert set(published) == {"ingest-api", "search-api"}
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("${WARTA_BIND:-127.0.0.1}:"), (name, port)


def test_compose_gives_each_container_only_the_secrets_it_uses() -> None:
    from services.ingest.settings import IngestSettings
    from services.search.settings import AlertsSettings, SearchSettings

    users = {"WARTA_ADMIN_KEY": {"ingest-api", "search-api"}, "WARTA_WEBHOOK_SECRET": {"search-alerts"}}
    for var, allowed in users.items():
        holders = {name for name in COMPOSE["services"] if var in _env(name)}
        assert holders == allowed, (var, holders)
        for name in allowed:
            assert re.fullmatch(r"\$\{" + var + r":\?.+\}", _env(name)[var]), (name, _env(name)[var])
    # Every secret a process needs in production is given to its container.
    needs = {"ingest-api": IngestSettings, "search-api": SearchSettings, "search-indexer": SearchSettings,
             "search-alerts": AlertsSettings}  # fmt: skip
    for name, cls in needs.items():
        for field in cls.secret_fields:
            assert f"WARTA_{field.upper()}" in _env(name), (name, field)


def test_compose_consumers_expose_metrics_inside_their_network() -> None:
    for name in ("ingest-crawler", "enrich-bridge", "enrich-worker", "search-indexer", "search-alerts"):
        assert _env(name)["WARTA_METRICS_HOST"] == "0.0.0.0", name


# --- the Content-Security-Policy in a real browser ----------------------------------------------

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `python -m tests.browser_setup` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.add_init_script(RECORD_VIOLATIONS)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.e2e
def test_the_web_app_and_swagger_ui_work_under_their_policies(pipeline_factory, chromium_page) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = pipeline_factory(start=False)
    p.start(["ingest-api", "search-api"])
    page = chromium_page
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)

    response = page.goto(f"{p.search_url}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_label(re.compile("Kunci API|API key")).fill(p.ns.admin_key)
    page.get_by_role("button", name=re.compile("^(Masuk|Log in)$")).click()
    page.wait_for_selector("html[data-ready=search]")
    page.fill("#q", "banjir")
    page.click("#search-submit")
    page.wait_for_selector("html[data-ready=search]")
    for path in ("/monitors", "/sources"):
        page.click(f"nav a[href='{path}']")
        page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == [] and console == [], (page.evaluate("window.__csp"), console)
    # The policy is enforced: script injected inline (as an XSS would) does not run.
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.__pwned = 1"; document.body.append(s); }""")
    assert page.evaluate("window.__pwned") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))

    # Swagger UI: its bundle comes from the API itself (shared/apidocs.py), their inline
    # start-up script must run, and nothing it does breaks the policy.
    console.clear()
    for url in (p.search_url, p.ingest_url):
        response = page.goto(f"{url}/docs")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.evaluate("window.__csp") == [] and console == [], (page.evaluate("window.__csp"), console)

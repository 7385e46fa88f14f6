"""The report's one stylesheet, its CSP hash and the report page's Content-Security-Policy.

The report page has one ``<style>`` element, the same for every report and language, no script, no
``style`` attribute and no external resource. The API serves it with :data:`REPORT_CSP`, which
allows that stylesheet by its hash; the web app's pages allow the same hash
(services/search/web), so the Laporan page can show a report in a frame and open it in a tab (a
frame's ``srcdoc`` and a ``blob:`` page inherit the policy of the page that made them).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

REPORT_CSS = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
REPORT_STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(REPORT_CSS.encode()).digest()).decode() + "'"
# The report's own policy: its stylesheet and nothing else; framed only by this origin.
REPORT_CSP = (
    f"default-src 'none'; style-src {REPORT_STYLE_HASH}; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)

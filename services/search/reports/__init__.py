"""Reports ("kliping media"): what the articles matching a query and its filters say, as an HTML
page and an A4 PDF for a PR team's morning report (``GET /v1/reports``, the web app's Laporan page).

- :mod:`.data` reads the figures from the article index (two requests per report);
- :mod:`.charts` draws the charts as inline SVG from them;
- :mod:`.style` is the stylesheet, its hash and the page's Content-Security-Policy;
- :mod:`.render` lays them out in Indonesian or English with Jinja2, and prints the PDF with
  WeasyPrint.

A report is computed on request and stored nowhere. This package imports nothing itself, so the
web app can read the stylesheet's hash (:mod:`.style`) without the API's modules.
"""

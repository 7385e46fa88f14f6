"""The crawler: source registry, polite fetching, discovery, scheduling and source health.

One hop of the flow: a source (feed, sitemap, WordPress API or listing page) is polled, new article
URLs are fetched politely, extracted, and published to ``articles.raw`` through an
:class:`~services.ingest.crawler.runner.Publisher`.
"""

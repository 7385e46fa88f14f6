"""The search HTTP API: search, articles, stories, analytics, export, saved searches with alerts,
and API keys. Every endpoint that selects articles goes through
:class:`~services.search.criteria.Criteria` (one query path).

- :mod:`.main`: :func:`create_app` (lifespan, perimeter, error answers, routers, metrics, web app);
- :mod:`.deps`: what routes depend on (settings, Elasticsearch, stores, the caller's key);
- :mod:`.models`: the request and response models (the OpenAPI schema);
- :mod:`.results`: response bodies built from Elasticsearch answers (the hit shape);
- :mod:`.routes`: one module per resource.
"""

from services.search.api.main import create_app

__all__ = ["create_app"]

"""The Warta query language: parse ``q`` into a syntax tree, compile it to Elasticsearch DSL.

Typical use in the search API::

    from services.search.query import QuerySyntaxError, parse, to_es_query

    try:
        es_query = to_es_query(parse(q))
    except QuerySyntaxError as error:
        ...  # 400 with error.message, error.code, error.params and error.position

See ``docs/query-language.md`` for the language itself.
"""

from services.search.query.compiler import KeywordFields, to_es_query
from services.search.query.nodes import (
    And,
    Filter,
    InTitle,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    Tone,
)
from services.search.query.parser import (
    ERROR_CODES,
    QueryLimits,
    QueryNotice,
    QuerySyntaxError,
    parse,
    query_notices,
    render,
)

__all__ = [
    "ERROR_CODES",
    "And",
    "Filter",
    "InTitle",
    "KeywordFields",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "QueryLimits",
    "QueryNotice",
    "QuerySyntaxError",
    "Term",
    "Tone",
    "parse",
    "query_notices",
    "render",
    "to_es_query",
]

"""``warta``: one entry point, one subcommand per process.

The table below maps each subcommand to the module that implements it. Modules are imported
lazily (by name), so ``shared`` depends on no service and a process only imports what it runs.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("stack", "up"): ("shared.stack.cli", "stack_up"),
    ("stack", "down"): ("shared.stack.cli", "stack_down"),
    ("stack", "status"): ("shared.stack.cli", "stack_status"),
    ("stack", "versions"): ("shared.stack.cli", "stack_versions"),
    ("stack", "init"): ("shared.stack.cli", "stack_init"),
    ("ingest", "serve"): ("services.ingest.cli", "serve"),
    ("ingest", "crawler"): ("services.ingest.cli", "crawler"),
    ("ingest", "migrate-registry"): ("services.ingest.cli", "migrate_registry"),
    ("ingest", "robots"): ("services.ingest.cli", "robots"),
    ("enrich", "bridge"): ("services.enrich.cli", "bridge"),
    ("enrich", "worker"): ("services.enrich.cli", "worker"),
    ("search", "indexer"): ("services.search.cli", "indexer"),
    ("search", "alerts"): ("services.search.cli", "alerts"),
    ("search", "digests"): ("services.search.cli", "digests"),
    ("search", "serve"): ("services.search.cli", "serve"),
    ("search", "reindex"): ("services.search.lifecycle", "reindex_main"),
    ("search", "retention"): ("services.search.lifecycle", "retention_main"),
    ("nlp", "annotate"): ("services.enrich.cli", "nlp_annotate"),
    ("nlp", "cluster"): ("services.enrich.cli", "nlp_cluster"),
    ("extract",): ("services.ingest.cli", "extract"),
    ("demo", "sites"): ("services.ingest.cli", "demo_sites"),
    ("dlq", "list"): ("shared.dlq", "dlq_list"),
    ("dlq", "replay"): ("shared.dlq", "dlq_replay"),
    ("status",): ("shared.status", "main"),
}


def _usage() -> str:
    lines = ["usage: warta <command> [options]", "", "commands:"]
    lines += [f"  warta {' '.join(words)}" for words in COMMANDS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for n in (2, 1):
        key = tuple(args[:n])
        if key in COMMANDS:
            module, func = COMMANDS[key]
            handler = getattr(importlib.import_module(module), func)
            return int(handler(args[n:]) or 0)
    print(_usage(), file=sys.stderr)
    return 0 if args[:1] in (["-h"], ["--help"], ["help"]) else 2


if __name__ == "__main__":
    sys.exit(main())

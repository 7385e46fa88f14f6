"""``python -m services.ingest.demo_sites [--host H] [--port P] [--manifest] [--sources]``."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from services.ingest.demo_sites.manifest import demo_sources, expected_articles
from services.ingest.demo_sites.server import serve_demo_sites


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.ingest.demo_sites", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101, help="base port; the sites use port .. port+6")
    parser.add_argument("--manifest", action="store_true", help="print the expected articles as JSON and exit")
    parser.add_argument("--sources", action="store_true", help="print a sources seed YAML for these ports and exit")
    args = parser.parse_args()
    keys = ("lintasmuria", "kabarserayu", "penadewata", "gemalereng")
    bases = {key: f"http://{args.host}:{args.port + i}" for i, key in enumerate(keys)}
    if args.manifest:
        print(json.dumps([a.as_dict() for a in expected_articles(bases)], ensure_ascii=False, indent=2))
        return
    if args.sources:
        import yaml

        print(yaml.safe_dump({"sources": demo_sources(bases)}, allow_unicode=True, sort_keys=False))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serve_demo_sites(args.host, args.port, stop)


if __name__ == "__main__":
    main()

"""``warta extract --url URL [--html-file F]``: print one article as a JSON object."""

from __future__ import annotations

import argparse
import json
from typing import IO

from services.ingest.extract.core import extract

OUTPUT_FIELDS = ("title", "text", "published_at", "author", "image", "language", "canonical_url", "date_source")


def extract_main(argv: list[str] | None, stdin: IO[str], stdout: IO[str]) -> int:
    """Run the command. Reads the HTML from ``--html-file`` (bytes, so the page's own charset
    applies) or from ``stdin``. Prints one JSON object. Returns the exit status: 0 on success,
    2 on usage errors (argparse), 1 when the file cannot be read."""
    parser = argparse.ArgumentParser(prog="warta extract", description="Extract one article from an HTML page.")
    parser.add_argument("--url", required=True, help="the page's URL (resolves relative links, hints dates)")
    parser.add_argument("--html-file", help="HTML file to read; stdin when omitted")
    parser.add_argument("--encoding", help="charset from the HTTP Content-Type, if known")
    parser.add_argument("--all-fields", action="store_true", help="print every extracted field")
    args = parser.parse_args(argv)
    html: str | bytes
    if args.html_file:
        try:
            with open(args.html_file, "rb") as handle:
                html = handle.read()
        except OSError as exc:
            print(json.dumps({"error": f"cannot read {args.html_file}: {exc.strerror}"}), file=stdout)
            return 1
    else:
        buffer = getattr(stdin, "buffer", None)
        html = buffer.read() if buffer is not None else stdin.read()
    article = extract(html, args.url, encoding=args.encoding)
    data = article.to_dict()
    if not args.all_fields:
        data = {key: data[key] for key in OUTPUT_FIELDS}
    stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(extract_main(sys.argv[1:], sys.stdin, sys.stdout))

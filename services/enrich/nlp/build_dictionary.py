"""Generate ``aliases.json`` from ``regions.csv``, ``provinces.csv`` and ``institutions.yaml`` (all in
``shared/gazetteer/``).

Run ``python -m services.enrich.nlp.build_dictionary``. Deterministic: the same inputs give a
byte-identical file, so the committed dictionary can be checked for staleness in tests.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.gazetteer import ALIASES_JSON, INSTITUTIONS_YAML, REGIONS_CSV, normalize_alias, read_provinces

OUT_PATH = ALIASES_JSON


def load_regions(path: Path = REGIONS_CSV) -> list[dict[str, str]]:
    """Provinces and kabupaten/kota with codes without dots and names without prefixes."""
    regions: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            full = " ".join(row["nama"].split())
            level = row["level"]
            if level == "provinsi":
                kind, short = "Provinsi", full
            else:
                m = re.match(r"^(Kabupaten|Kota)( Administrasi)? (.+)$", full)
                if not m:
                    raise ValueError(f"unexpected region name: {full!r}")
                kind, short = m.group(1), m.group(3)
            regions.append(
                {
                    "kode": row["kode"],
                    "code": row["kode"].replace(".", ""),
                    "name": full,
                    "short": short,
                    "kind": kind,
                    "level": level,
                    "parent": row["parent_kode"].replace(".", ""),
                }
            )
    return regions


def build(regions: list[dict[str, str]], spec: dict[str, Any]) -> dict[str, Any]:
    """Expand the institution spec over the regions into the alias dictionary."""
    aliases: dict[str, dict[str, Any]] = {}

    def add(alias: str, canonical: str, etype: str, region: str | None) -> None:
        key = normalize_alias(alias)
        # First writer wins: regions are in code order, so "Pemkab Semarang" means the
        # Kabupaten and "Pemkot Semarang" the Kota, and national entries are added last.
        if key and key not in aliases:
            aliases[key] = {"canonical": canonical, "type": etype, "region": region}

    region_aliases: dict[str, list[str]] = {str(k): v for k, v in spec["region_aliases"].items()}
    # Province short forms come from provinces.csv, the list the search service reads too.
    for province in read_provinces():
        region_aliases.setdefault(province.code, []).extend(province.short_forms)
    loc_names: dict[str, str] = {str(k): v for k, v in spec["loc_names"].items()}
    out_regions: list[dict[str, Any]] = []
    for r in regions:
        extra = list(region_aliases.get(r["kode"], []))
        names = [r["short"], *extra]
        full_name = "Provinsi " + r["name"] if r["kind"] == "Provinsi" else r["name"]
        # Place names: the canonical LOC is the plain name people write ("Semarang",
        # "Jawa Tengah"), so a Kota and a Kabupaten of the same name share one LOC entity.
        loc_name = loc_names.get(r["kode"], r["short"])
        out_regions.append(
            {
                "code": r["code"],
                "name": r["name"],
                "level": r["level"],
                "parent": r["parent"] or None,
                "kind": r["kind"],
                "short": r["short"],
                "loc_name": loc_name,
                "aliases": sorted({*names, full_name, r["name"]}),
            }
        )
        kind_key = {"Kabupaten": "aliases_kabupaten", "Kota": "aliases_kota", "Provinsi": "aliases_provinsi"}[r["kind"]]
        fill = {"name": r["short"], "full": full_name, "kind": r["kind"]}
        for inst in spec["regional_institutions"]:
            templates = inst.get(kind_key)
            if not templates:
                continue
            canonical = inst["canonical"].format(**fill, abbr=r["short"])
            for tmpl in templates:
                for abbr in names:
                    add(tmpl.format(**fill, abbr=abbr), canonical, "ORG", r["code"])
        for agency in spec["agencies"]:
            canonical = f"{agency['name']} {full_name}"
            for abbr in names:
                for head in [agency["name"], *agency["short"]]:
                    add(f"{head} {abbr}", canonical, "ORG", r["code"])
                    add(f"{head} {r['kind']} {abbr}", canonical, "ORG", r["code"])
        for abbr in extra:
            add(abbr, loc_name, "LOC", r["code"])
    for etype, entries in spec["national_institutions"].items():
        for canonical, alias_list in entries.items():
            add(canonical, canonical, etype, None)
            for alias in alias_list:
                add(alias, canonical, etype, None)
    roles: dict[str, str] = {}
    for canonical, alias_list in spec["roles"].items():
        for alias in alias_list:
            roles[normalize_alias(alias)] = canonical
    return {
        "_provenance": (
            "Generated by `python -m services.enrich.nlp.build_dictionary` from shared/gazetteer/regions.csv "
            "(cahyadsn/wilayah, MIT, see LICENSE.wilayah), provinces.csv and institutions.yaml. Do not edit."
        ),
        "regions": out_regions,
        "aliases": dict(sorted(aliases.items())),
        "roles": dict(sorted(roles.items())),
        "ambiguous_region_names": sorted({normalize_alias(n) for n in spec["ambiguous_region_names"]}),
        "honorifics": sorted({normalize_alias(h) for h in spec["honorifics"]}),
    }


def render() -> str:
    """The dictionary file content for the current inputs."""
    spec = yaml.safe_load(INSTITUTIONS_YAML.read_text(encoding="utf-8"))
    return json.dumps(build(load_regions(), spec), ensure_ascii=False, indent=0, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    content = render()
    OUT_PATH.write_text(content, encoding="utf-8")
    data = json.loads(content)
    print(f"wrote {OUT_PATH}: {len(data['regions'])} regions, {len(data['aliases'])} aliases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Build the bundled offline price catalog (providers/catalog) from ../shared/pricing.

    python scripts/build_catalog.py --from ../shared/pricing --out providers/catalog

Inputs (see ../shared/pricing/PROVENANCE.md): instance_types.csv, prices_all_regions.csv.gz
(every region; prices.csv is checked to be a subset of it and is otherwise unused) and
gcp_accelerators.csv. The output is sorted, diff-friendly UTF-8 text that is committed to git, so
a clone without ../shared installs and runs. The same inputs always give byte-identical output:
no timestamps, no absolute paths, no dict-order or locale dependence.

The file layout and the shard naming are defined in `tollgate.providers.bundled`, which this
script imports so that writer and reader cannot drift apart.
"""

from __future__ import annotations

import argparse
import csv
import msgspec
import gzip
import hashlib
import io
import json
import re
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Mapping

from tollgate.providers.bundled import (
    ACCELERATOR_PRICE_COLUMNS,
    PROVIDERS,
    SHARD_PRICE_COLUMNS,
    SPEC_COLUMNS,
    region_alias_key,
    shard_key,
    type_lookup_key,
)

CATALOG_FORMAT_VERSION = 1
SHARED_DIR_LABEL = "../shared/pricing"  # recorded instead of the absolute path: determinism

SPECS_FILE = "instance_types.csv"
ALL_REGIONS_FILE = "prices_all_regions.csv.gz"
MAJOR_REGIONS_FILE = "prices.csv"
ACCELERATORS_FILE = "gcp_accelerators.csv"
PROVENANCE_FILE = "PROVENANCE.md"

# CSV pricing_model -> catalog column. A GCP committed-use discount is a 1y/3y commitment just like
# a reservation, so it shares the reserved columns (the engine's PRICE_OPTIONS say the same).
OPTION_COLUMN = {
    "on_demand": "on_demand",
    "spot": "spot",
    "reserved_1y": "reserved_1y",
    "reserved_3y": "reserved_3y",
    "cud_1y": "reserved_1y",
    "cud_3y": "reserved_3y",
}

# Every catalog price must convert to Money exactly (nano-dollars), so at most 9 decimals; the
# data has at most 6 and is kept verbatim.
PRICE_TEXT = re.compile(r"^\d+(\.\d{1,9})?$")


# --- upstream sources ---------------------------------------------------------------------------


class Upstream(msgspec.Struct, frozen=True):
    """One upstream file the catalog's numbers came from (PROVENANCE.md, "Sources")."""

    id: str  # key written into price cells; short and stable
    provenance_id: str  # the id PROVENANCE.md uses (one upstream id can cover several files)
    repo: str
    commit: str  # full 40-hex commit
    path: str
    as_of: str  # commit date of the file, as PROVENANCE.md records it
    licence: str
    used_for: str
    generated_at: str = ""  # the generation timestamp the file embeds, when it has one
    display_name: str = ""  # a live API has no commit: its name is said outright

    @property
    def name(self) -> str:
        # Exactly the `source` column of the CSVs: repo@12-char-commit:path.
        return self.display_name or f"{self.repo}@{self.commit[:12]}:{self.path}"

    @property
    def attribution(self) -> str:
        text = (
            f"{self.used_for}: derived from {self.repo} ({self.path} at commit {self.commit}, "
            f"{self.as_of}); licence: {self.licence}."
        )
        if self.licence.startswith("CC BY-SA"):
            text += " The derived rows are shared under the same licence (CC BY-SA 4.0)."
        return text


# Licences: PROVENANCE.md records those of SpareCores (CC BY-SA 4.0) and anycloud (no licence
# file). The others were read from the upstream repositories' LICENSE files or source headers.
UPSTREAMS: tuple[Upstream, ...] = (
    Upstream(
        id="karp-aws",
        provenance_id="karp-aws",
        repo="aws/karpenter-provider-aws",
        commit="6fc13b5236fd04fd16ff3f9dc7490d0813994099",
        path="pkg/providers/pricing/zz_generated.pricing_aws.go",
        as_of="2026-07-20",
        licence="Apache-2.0",
        used_for="AWS on-demand prices in us-east-1",
        generated_at="2026-07-20T13:44:30Z",
    ),
    Upstream(
        id="karp-aws-gov",
        provenance_id="karp-aws",
        repo="aws/karpenter-provider-aws",
        commit="6fc13b5236fd04fd16ff3f9dc7490d0813994099",
        path="pkg/providers/pricing/zz_generated.pricing_aws_us_gov.go",
        as_of="2026-07-20",
        licence="Apache-2.0",
        used_for="AWS on-demand prices in us-gov-east-1 and us-gov-west-1",
    ),
    Upstream(
        id="karp-doc",
        provenance_id="karp-doc",
        repo="aws/karpenter-provider-aws",
        commit="692ccdd0629e488300821443f0fa0bc3c3e08047",
        path="website/content/en/preview/reference/instance-types.md",
        as_of="2026-07-11",
        licence="Apache-2.0",
        used_for="AWS instance specs (vCPU, memory, GPU and accelerator count/name/memory, arch)",
    ),
    Upstream(
        id="opszero",
        provenance_id="opszero",
        repo="vantage-sh/ec2instances.info",
        commit="a19cd859f0591c40bead51230996dcfc8c468071",
        path="opszero-app/instances.json",
        as_of="2024-04-04",
        licence="MIT",
        used_for="AWS regional on-demand and spot (2024-04 average) prices; current-generation flag",
    ),
    Upstream(
        id="vantage-x2iedn",
        provenance_id="vantage-x2iedn",
        repo="vantage-sh/ec2instances.info",
        commit="7c24b98f1490c6e0e5aeeb867cd5e3c4b7eed18b",
        path="next/ec2.json",
        as_of="2025-06-11",
        licence="MIT",
        used_for="AWS reserved 1y/3y prices (Standard, All Upfront, amortized) for x2iedn.32xlarge",
    ),
    Upstream(
        id="leaner",
        provenance_id="leaner",
        repo="LeanerCloud/ec2-instances-info",
        commit="ef5638afcaa55044a865f7e8b1379341c4a3f247",
        path="generated_instances_data.txt",
        as_of="2023-08-30",
        licence="MIT (data from ec2instances.info; the repository's own code is Unlicense)",
        used_for="AWS us-east-1 reserved 1y prices (Standard, All Upfront, amortized)",
    ),
    Upstream(
        id="sc",
        provenance_id="sc",
        repo="SpareCores/sc-data-dumps",
        commit="8a80bc648e88b23de433bfd7709dffc4b2233514",
        path="data/server/{aws,gcp,azure}/*.json",
        as_of="2026-01-29",
        licence="CC BY-SA 4.0",
        used_for=(
            "Instance specs for 28 AWS types and 69 Azure sizes, GPU models for GCP a3-ultragpu/a4"
            " and AWS p2/p3/g3/dl1, Azure arch"
        ),
    ),
    Upstream(
        id="cyclenerd",
        provenance_id="cyclenerd",
        repo="Cyclenerd/google-cloud-pricing-cost-calculator",
        commit="fd66b26ff84fee5cdd94f341ea89206e76c06b99",
        path="pricing.yml",
        as_of="2026-07-30",
        licence="Apache-2.0",
        used_for="GCP machine prices (on-demand, spot, 1y/3y committed use) and specs",
        generated_at="2026-07-30T06:13:17",
    ),
    Upstream(
        id="cyclenerd-mt",
        provenance_id="cyclenerd-mt",
        repo="Cyclenerd/google-cloud-pricing-cost-calculator",
        commit="8c32d22df47862c1e729bee12cd763f25cbfdec9",
        path="tools/machinetypes.csv",
        as_of="2026-07-01",
        licence="Apache-2.0",
        used_for="GCP vCPU and memory per machine type; deprecated/obsolete flag",
    ),
    Upstream(
        id="anycloud-azure",
        provenance_id="anycloud",
        repo="anycloud-sh/catalog",
        commit="62ff0a987e0c257a89235415d2877812fb1aaf29",
        path="azure/vms.csv",
        as_of="2026-05-20",
        licence="no licence file in the repo",
        used_for="Azure spot prices, on-demand fallback and Linux corrections; Azure specs",
    ),
    Upstream(
        id="anycloud-gcp",
        provenance_id="anycloud",
        repo="anycloud-sh/catalog",
        commit="62ff0a987e0c257a89235415d2877812fb1aaf29",
        path="gcp/vms.csv",
        as_of="2026-05-20",
        licence="no licence file in the repo",
        used_for="GCP per-GPU accelerator prices",
    ),
    Upstream(
        id="karp-azure",
        provenance_id="karp-azure",
        repo="Azure/karpenter-provider-azure",
        commit="2b431da153a6a92b705c18046512c60b1631b682",
        path="pkg/providers/pricing/zz_generated.pricing.go",
        as_of="2026-07-16",
        licence="Apache-2.0",
        used_for="Azure Linux pay-as-you-go on-demand prices",
        generated_at="2026-06-18T03:43:41Z",
    ),
)


# --- region names (public knowledge, written by hand) ---------------------------------------------
# canonical id -> (display name, other aliases). AWS: the first name is the Price List API's
# `location` attribute; the console's "Europe (...)" spellings are aliases. Azure: the first name is
# the portal display name; the alias is the Retail Prices API `location`. GCP: the city/area name.

REGION_NAMES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "aws": {
        "af-south-1": ("Africa (Cape Town)", ()),
        "ap-east-1": ("Asia Pacific (Hong Kong)", ()),
        "ap-northeast-1": ("Asia Pacific (Tokyo)", ()),
        "ap-northeast-2": ("Asia Pacific (Seoul)", ()),
        "ap-northeast-3": ("Asia Pacific (Osaka)", ()),
        "ap-south-1": ("Asia Pacific (Mumbai)", ()),
        "ap-south-2": ("Asia Pacific (Hyderabad)", ()),
        "ap-southeast-1": ("Asia Pacific (Singapore)", ()),
        "ap-southeast-2": ("Asia Pacific (Sydney)", ()),
        "ap-southeast-3": ("Asia Pacific (Jakarta)", ()),
        "ap-southeast-4": ("Asia Pacific (Melbourne)", ()),
        "ap-southeast-5": ("Asia Pacific (Malaysia)", ()),
        "ca-central-1": ("Canada (Central)", ()),
        "ca-west-1": ("Canada West (Calgary)", ()),
        "eu-central-1": ("EU (Frankfurt)", ("Europe (Frankfurt)",)),
        "eu-central-2": ("EU (Zurich)", ("Europe (Zurich)",)),
        "eu-north-1": ("EU (Stockholm)", ("Europe (Stockholm)",)),
        "eu-south-1": ("EU (Milan)", ("Europe (Milan)",)),
        "eu-south-2": ("EU (Spain)", ("Europe (Spain)",)),
        "eu-west-1": ("EU (Ireland)", ("Europe (Ireland)",)),
        "eu-west-2": ("EU (London)", ("Europe (London)",)),
        "eu-west-3": ("EU (Paris)", ("Europe (Paris)",)),
        "il-central-1": ("Israel (Tel Aviv)", ()),
        "me-central-1": ("Middle East (UAE)", ()),
        "me-south-1": ("Middle East (Bahrain)", ()),
        "sa-east-1": ("South America (Sao Paulo)", ("South America (São Paulo)",)),
        "us-east-1": ("US East (N. Virginia)", ()),
        "us-east-2": ("US East (Ohio)", ()),
        "us-gov-east-1": ("AWS GovCloud (US-East)", ()),
        "us-gov-west-1": ("AWS GovCloud (US-West)", ("AWS GovCloud (US)",)),
        "us-west-1": ("US West (N. California)", ()),
        "us-west-2": ("US West (Oregon)", ()),
    },
    "azure": {
        "australiacentral": ("Australia Central", ("AU Central",)),
        "australiacentral2": ("Australia Central 2", ("AU Central 2",)),
        "australiaeast": ("Australia East", ("AU East",)),
        "australiasoutheast": ("Australia Southeast", ("AU Southeast",)),
        "austriaeast": ("Austria East", ()),
        "belgiumcentral": ("Belgium Central", ()),
        "brazilsouth": ("Brazil South", ("BR South",)),
        "brazilsoutheast": ("Brazil Southeast", ("BR Southeast",)),
        "canadacentral": ("Canada Central", ("CA Central",)),
        "canadaeast": ("Canada East", ("CA East",)),
        "centralindia": ("Central India", ("IN Central",)),
        "centralus": ("Central US", ("US Central",)),
        "chilecentral": ("Chile Central", ()),
        "denmarkeast": ("Denmark East", ()),
        "eastasia": ("East Asia", ("AP East",)),
        "eastus": ("East US", ("US East",)),
        "eastus2": ("East US 2", ("US East 2",)),
        "francecentral": ("France Central", ("FR Central",)),
        "francesouth": ("France South", ("FR South",)),
        "germanynorth": ("Germany North", ("DE North",)),
        "germanywestcentral": ("Germany West Central", ("DE West Central",)),
        "indonesiacentral": ("Indonesia Central", ()),
        "israelcentral": ("Israel Central", ("IL Central",)),
        "italynorth": ("Italy North", ("IT North",)),
        "japaneast": ("Japan East", ("JA East",)),
        "japanwest": ("Japan West", ("JA West",)),
        "jioindiacentral": ("Jio India Central", ()),
        "jioindiawest": ("Jio India West", ()),
        "koreacentral": ("Korea Central", ("KR Central",)),
        "koreasouth": ("Korea South", ("KR South",)),
        "malaysiawest": ("Malaysia West", ()),
        "mexicocentral": ("Mexico Central", ("MX Central",)),
        "newzealandnorth": ("New Zealand North", ("NZ North",)),
        "northcentralus": ("North Central US", ("US North Central",)),
        "northeurope": ("North Europe", ("EU North",)),
        "norwayeast": ("Norway East", ("NO East",)),
        "norwaywest": ("Norway West", ("NO West",)),
        "polandcentral": ("Poland Central", ("PL Central",)),
        "qatarcentral": ("Qatar Central", ("QA Central",)),
        "southafricanorth": ("South Africa North", ("ZA North",)),
        "southafricawest": ("South Africa West", ("ZA West",)),
        "southcentralus": ("South Central US", ("US South Central",)),
        "southeastasia": ("Southeast Asia", ("AP Southeast",)),
        "southindia": ("South India", ("IN South",)),
        "spaincentral": ("Spain Central", ("ES Central",)),
        "swedencentral": ("Sweden Central", ("SE Central",)),
        "swedensouth": ("Sweden South", ("SE South",)),
        "switzerlandnorth": ("Switzerland North", ("CH North",)),
        "switzerlandwest": ("Switzerland West", ("CH West",)),
        "uaecentral": ("UAE Central", ("AE Central",)),
        "uaenorth": ("UAE North", ("AE North",)),
        "uksouth": ("UK South", ()),
        "ukwest": ("UK West", ()),
        "westcentralus": ("West Central US", ("US West Central",)),
        "westeurope": ("West Europe", ("EU West",)),
        "westindia": ("West India", ("IN West",)),
        "westus": ("West US", ("US West",)),
        "westus2": ("West US 2", ("US West 2",)),
        "westus3": ("West US 3", ("US West 3",)),
    },
    "gcp": {
        "africa-south1": ("Johannesburg", ()),
        "asia-east1": ("Taiwan", ()),
        "asia-east2": ("Hong Kong", ()),
        "asia-northeast1": ("Tokyo", ()),
        "asia-northeast2": ("Osaka", ()),
        "asia-northeast3": ("Seoul", ()),
        "asia-south1": ("Mumbai", ()),
        "asia-south2": ("Delhi", ()),
        "asia-southeast1": ("Singapore", ()),
        "asia-southeast2": ("Jakarta", ()),
        "asia-southeast3": ("Bangkok", ()),
        "australia-southeast1": ("Sydney", ()),
        "australia-southeast2": ("Melbourne", ()),
        "europe-central2": ("Warsaw", ()),
        "europe-north1": ("Finland", ()),
        "europe-north2": ("Stockholm", ()),
        "europe-southwest1": ("Madrid", ()),
        "europe-west1": ("Belgium", ()),
        "europe-west10": ("Berlin", ()),
        "europe-west12": ("Turin", ()),
        "europe-west2": ("London", ()),
        "europe-west3": ("Frankfurt", ()),
        "europe-west4": ("Netherlands", ()),
        "europe-west6": ("Zurich", ()),
        "europe-west8": ("Milan", ()),
        "europe-west9": ("Paris", ()),
        "me-central1": ("Doha", ()),
        "me-central2": ("Dammam", ()),
        "me-west1": ("Tel Aviv", ()),
        "northamerica-northeast1": ("Montréal", ("Montreal",)),
        "northamerica-northeast2": ("Toronto", ()),
        "northamerica-south1": ("Querétaro", ("Queretaro",)),
        "southamerica-east1": ("São Paulo", ("Sao Paulo",)),
        "southamerica-west1": ("Santiago", ()),
        "us-central1": ("Iowa", ()),
        "us-east1": ("South Carolina", ()),
        "us-east4": ("Northern Virginia", ()),
        "us-east5": ("Columbus", ()),
        "us-south1": ("Dallas", ()),
        "us-west1": ("Oregon", ()),
        "us-west2": ("Los Angeles", ()),
        "us-west3": ("Salt Lake City", ()),
        "us-west4": ("Las Vegas", ()),
    },
}


# --- reading the inputs -------------------------------------------------------------------------


class BuildError(Exception):
    """The inputs do not look like what this script was written for; fix the data or the script."""


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_all_regions_is_superset(
    all_regions: list[dict[str, str]], major_regions: list[dict[str, str]]
) -> None:
    """prices.csv must be a subset of the all-regions file, row for row, value for value.

    Only the all-regions file is used; if the two ever disagree, which one is right is a question
    for the data, not something to paper over here.
    """
    by_key = {price_row_key(row): row for row in all_regions}
    for row in major_regions:
        other = by_key.get(price_row_key(row))
        if other is None:
            raise BuildError(f"{MAJOR_REGIONS_FILE} row missing from {ALL_REGIONS_FILE}: {row}")
        if other != row:
            raise BuildError(f"{MAJOR_REGIONS_FILE} and {ALL_REGIONS_FILE} differ: {row} vs {other}")


def price_row_key(row: Mapping[str, str]) -> tuple[str, str, str, str]:
    return (row["provider"], row["region"], row["instance_type"], row["pricing_model"])


def check_price_text(text: str, where: str) -> str:
    if not PRICE_TEXT.match(text):
        raise BuildError(f"price {text!r} is not a plain decimal ({where})")
    if Decimal(text) == 0:
        # A zero price would read as "free"; the engine must never price at $0.
        raise BuildError(f"zero price ({where})")
    return text


class SourceIds:
    """Maps the CSV `source` column to catalog source ids and checks each row's as-of date."""

    def __init__(self, upstreams: Iterable[Upstream]) -> None:
        self._by_name = {u.name: u for u in upstreams}
        self.cited: Counter[str] = Counter()

    def id_for(self, source_column: str, as_of: str) -> str:
        upstream = self._by_name.get(source_column)
        if upstream is None:
            raise BuildError(f"unknown source {source_column!r}: add it to UPSTREAMS")
        if as_of != upstream.as_of:
            raise BuildError(f"{upstream.id}: row as_of {as_of} != recorded {upstream.as_of}")
        self.cited[upstream.id] += 1
        return upstream.id


# --- building the tables ------------------------------------------------------------------------

PriceCells = dict[str, str]  # catalog column -> "price:source_id"


def build_specs(rows: list[dict[str, str]]) -> dict[str, list[list[str]]]:
    """provider -> spec lines (fields in SPEC_COLUMNS order), sorted by instance type."""
    by_provider: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for row in rows:
        provider = row["provider"]
        fields = [row[column].strip() for column in SPEC_COLUMNS]
        key = type_lookup_key(provider, fields[0])
        if key in by_provider[provider]:
            raise BuildError(f"duplicate spec for {provider} {fields[0]}")
        float(fields[1])  # vcpu is required by InstanceSpec; fail the build, not a lookup
        by_provider[provider][key] = fields
    return {p: sorted(lines.values()) for p, lines in by_provider.items()}


def build_price_cells(
    rows: list[dict[str, str]], sources: SourceIds
) -> dict[str, dict[tuple[str, str], PriceCells]]:
    """provider -> (instance_type, region) -> column -> 'price:source_id'."""
    cells: dict[str, dict[tuple[str, str], PriceCells]] = defaultdict(lambda: defaultdict(dict))
    canonical_spelling: dict[tuple[str, str], str] = {}
    for row in rows:
        provider, region = row["provider"], row["region"]
        # One Azure size arrives with trailing blanks ("Standard_NM16ads_MA35D  ").
        instance_type = row["instance_type"].strip()
        spelling = canonical_spelling.setdefault(
            (provider, type_lookup_key(provider, instance_type)), instance_type
        )
        if spelling != instance_type:
            raise BuildError(f"{provider} type spelled two ways: {spelling!r}, {instance_type!r}")
        if row["os"] != "linux":
            raise BuildError(f"non-Linux row: {row}")
        column = OPTION_COLUMN.get(row["pricing_model"])
        if column is None:
            raise BuildError(f"unknown pricing_model {row['pricing_model']!r}")
        where = f"{provider} {region} {instance_type} {row['pricing_model']}"
        price = check_price_text(row["usd_per_hour"], where)
        line = cells[provider][(instance_type, region)]
        if column in line:
            raise BuildError(f"two prices for one cell: {where}")
        line[column] = f"{price}:{sources.id_for(row['source'], row['as_of'])}"
    return cells


def build_accelerator_cells(
    rows: list[dict[str, str]], sources: SourceIds
) -> dict[tuple[str, str], PriceCells]:
    """(region, accelerator_type) -> column -> 'price:source_id' (GCP only)."""
    cells: dict[tuple[str, str], PriceCells] = defaultdict(dict)
    for row in rows:
        if row["provider"] != "gcp":
            raise BuildError(f"accelerator row for {row['provider']}: only gcp is expected")
        column = row["pricing_model"]
        if column not in ACCELERATOR_PRICE_COLUMNS:
            raise BuildError(f"unexpected accelerator pricing_model {column!r}")
        key = (row["region"], row["accelerator_type"].strip().lower())
        where = f"gcp {key} {column}"
        if column in cells[key]:
            raise BuildError(f"two accelerator prices for one cell: {where}")
        price = check_price_text(row["usd_per_hour_per_gpu"], where)
        cells[key][column] = f"{price}:{sources.id_for(row['source'], row['as_of'])}"
    return cells


def build_region_lines(regions_in_data: Mapping[str, set[str]]) -> list[list[str]]:
    """provider, region, display name, '|'-joined aliases for every region that has prices."""
    lines: list[list[str]] = []
    for provider in sorted(regions_in_data):
        names = REGION_NAMES.get(provider, {})
        missing = sorted(regions_in_data[provider] - set(names))
        if missing:
            raise BuildError(f"add display names for {provider} regions {missing} to REGION_NAMES")
        owner_of_alias: dict[str, str] = {}
        for region in sorted(regions_in_data[provider]):
            display_name, aliases = names[region]
            for alias in (region, display_name, *aliases):
                owner = owner_of_alias.setdefault(region_alias_key(alias), region)
                if owner != region:
                    raise BuildError(f"{provider} alias {alias!r} names {owner} and {region}")
            lines.append([provider, region, display_name, "|".join(aliases)])
    return lines


# --- writing ------------------------------------------------------------------------------------


def tsv(header: Iterable[str], lines: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    for fields in (header, *lines):
        fields = list(fields)
        if any("\t" in f or "\n" in f for f in fields):
            raise BuildError(f"tab or newline inside a field: {fields}")
        out.write("\t".join(fields) + "\n")
    return out.getvalue()


def ascii_only(text: str) -> str:
    # The reader finds Azure sizes in a lower-cased copy of the file and slices the original at
    # the same offsets, which holds only for ASCII.
    if not text.isascii():
        raise BuildError("specs and price shards must be ASCII")
    return text


def price_line(instance_type: str, region: str, line: PriceCells, columns: Iterable[str]) -> list[str]:
    return [instance_type, region, *(line.get(column, "") for column in columns)]


def shard_texts(cells: Mapping[tuple[str, str], PriceCells], provider: str) -> dict[str, str]:
    """shard name -> file text; lines sorted by (instance_type, region)."""
    grouped: dict[str, list[list[str]]] = defaultdict(list)
    for (instance_type, region), line in sorted(cells.items()):
        grouped[shard_key(provider, instance_type)].append(
            price_line(instance_type, region, line, SHARD_PRICE_COLUMNS)
        )
    header = ("instance_type", "region", *SHARD_PRICE_COLUMNS)
    return {shard: tsv(header, lines) for shard, lines in sorted(grouped.items())}


class OutputDir:
    """Writes files with fixed encoding and line endings, and knows which files it wrote."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: set[Path] = set()

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        self.written.add(path)

    def remove_stale_shards(self) -> list[Path]:
        # A shard that no longer has rows would otherwise keep serving old prices.
        stale = [
            path
            for provider in PROVIDERS
            for path in sorted((self.root / provider / "prices").glob("*.tsv"))
            if path not in self.written
        ]
        for path in stale:
            path.unlink()
        return stale


def sources_document(
    upstreams: Iterable[Upstream],
    cited: Counter[str],
    counts: Mapping[str, object],
    inputs: Mapping[str, object],
    label: str = SHARED_DIR_LABEL,
) -> str:
    listed = list(upstreams)
    as_of = max(u.as_of for u in listed)
    document = {
        "catalog": {
            "format": CATALOG_FORMAT_VERSION,
            "as_of": as_of,
            "built_from": {"directory": label, "files": inputs},
            "currency": "USD",
            "unit": "per hour",
            "os": "linux",
            "tenancy": "shared",
            "price_columns": list(SHARD_PRICE_COLUMNS),
            "notes": [
                "as_of is the upstream commit date of each source, not the vendor's publication date",
                "gcp committed-use discounts (cud_1y/cud_3y) are stored as reserved_1y/reserved_3y",
                "aws reserved prices are Standard class, All Upfront, amortized to an hourly rate",
            ],
            "counts": counts,
        },
        "sources": [
            {
                "id": u.id,
                "name": u.name,
                "as_of": u.as_of,
                "licence": u.licence,
                "attribution": u.attribution,
                "provenance_id": u.provenance_id,
                "repo": u.repo,
                "commit": u.commit,
                "path": u.path,
                "generated_at": u.generated_at,
                "used_for": u.used_for,
                "price_cells": cited.get(u.id, 0),
            }
            for u in sorted(listed, key=lambda u: u.id)
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def attribution_markdown(
    upstreams: Iterable[Upstream], catalog_as_of: str, counts: Mapping[str, object], label: str = SHARED_DIR_LABEL
) -> str:
    rows = "\n".join(
        f"| {u.id} | {u.repo} @ `{u.commit}` | `{u.path}` | {u.as_of}"
        f"{f' (generated {u.generated_at})' if u.generated_at else ''} | {u.licence} | {u.used_for} |"
        for u in sorted(upstreams, key=lambda u: u.id)
    )
    return f"""# Bundled price catalog: attribution

This folder is generated by `scripts/build_catalog.py` from `{label}` (see its
`PROVENANCE.md` for the full extraction rules). Do not edit by hand; rebuild instead.

Only numbers and facts were taken from the public repositories below; no source code or prose.
All prices are USD per hour, Linux, shared tenancy. Newest source date: **{catalog_as_of}**.
"as of" is the commit date of the upstream file, not the date the vendor published the price.

## Sources

Every price cell in `*/prices/*.tsv` and `gcp/accelerators.tsv` is written `price:source_id`;
the ids are listed here and, with the same data, in `sources.json`.

| id | repository @ commit | path | as of | licence | used for |
|---|---|---|---|---|---|
{rows}

Licences: PROVENANCE.md records the SpareCores licence (CC BY-SA 4.0) and that anycloud-sh/catalog
has no licence file. The other licences were read from the upstream repositories' LICENSE files or
source file headers.

## Share-alike notice (SpareCores)

Some instance spec rows (`*/specs.tsv`) are derived from SpareCores/sc-data-dumps, which is licensed
under the Creative Commons Attribution-ShareAlike 4.0 International licence (CC BY-SA 4.0,
https://creativecommons.org/licenses/by-sa/4.0/): specs of 28 AWS types and 69 Azure sizes that no
other source lists, GPU models of GCP a3-ultragpu/a4 and AWS p2/p3/g3/dl1, and Azure CPU
architectures. Those derived rows are redistributed under CC BY-SA 4.0, with attribution to the
Spare Cores project (https://sparecores.com). Spec rows do not record their source individually.

## What the prices mean

* AWS reserved_1y/reserved_3y: Standard class, All Upfront, amortized to an effective hourly rate.
* GCP reserved_1y/reserved_3y are the 1- and 3-year committed-use discount (CUD) prices as computed
  by Cyclenerd (resource-based), stored in the reserved columns.
* AWS spot prices are 2024-04 regional averages; GCP and Azure spot prices are snapshots at the
  source date. Spot prices were not cross-checked between sources.
* Azure on-demand: karp-azure, falling back to anycloud; 1,436 karp-azure rows that carried the
  Windows price were replaced with anycloud's Linux price (cells then cite anycloud-azure).

## Known gaps (summary of PROVENANCE.md)

1. AWS families launched after 2024-04 (g6, g6e, gr6, p5en, p6, c8/m8/r8, ...) and 17 repriced
   types (p4d, p4de, p5.48xlarge, several .metal) have on-demand prices in us-east-1 (and GovCloud)
   only; p5e, trn2 and dl2q have a spec but no price at all.
2. AWS spot is a 2024-04 regional average (opszero; 3 us-east-1 cells come from leaner and
   vantage-x2iedn), with nothing for newer types.
3. AWS reserved: us-east-1 1y only (2023-08) plus x2iedn.32xlarge 1y/3y in 25 regions; no
   convertible or no-upfront terms. AWS China (CNY prices) is excluded.
4. Azure reserved prices are missing entirely.
5. GCP accelerators: no CUD prices; GPUs sold only bundled (L4, A100, H100) are priced only where
   they reproduce the machine totals; H200 and B200 have none. a3-ultragpu-8g, a4-highgpu-8g and
   other GCP types have a spec but no machine price.
6. Windows, RHEL, SLES, dedicated tenancy and Savings Plans are not covered.
7. Spec gaps: Inferentia/Trainium device memory and the g2 GPU model are blank; Azure NVv4 partial
   MI25 GPUs show count 1.
8. About 665 Azure on-demand prices differ by more than 1 % between the two Azure sources; check
   live where it matters.

## Coverage of this build

{coverage_table(counts)}
"""


def coverage_table(counts: Mapping[str, object]) -> str:
    header = (
        "| provider | types with spec | types with prices | spec, no price | price, no spec "
        "| regions | price lines |\n|---|---|---|---|---|---|---|"
    )
    rows = []
    for provider in PROVIDERS:
        c = counts[provider]
        assert isinstance(c, dict)
        rows.append(
            f"| {provider} | {c['specs']} | {c['priced_types']} | {c['specs_without_prices']} "
            f"| {c['prices_without_specs']} | {c['regions']} | {c['price_lines']} |"
        )
    return "\n".join([header, *rows])


# --- main ---------------------------------------------------------------------------------------


def build(
    source_dir: Path, out_dir: Path, upstreams: tuple[Upstream, ...] = UPSTREAMS, label: str = SHARED_DIR_LABEL
) -> dict[str, object]:
    """Write the catalog from CSVs in the ../shared/pricing schema. `upstreams` lists every source
    the rows may cite; `label` is what the catalog says it was built from."""
    spec_rows = read_csv_rows(source_dir / SPECS_FILE)
    price_rows = read_csv_rows(source_dir / ALL_REGIONS_FILE)
    accelerator_rows = read_csv_rows(source_dir / ACCELERATORS_FILE)
    major_path = source_dir / MAJOR_REGIONS_FILE
    major_rows_checked = 0
    if major_path.exists():
        major_rows = read_csv_rows(major_path)
        verify_all_regions_is_superset(price_rows, major_rows)
        major_rows_checked = len(major_rows)

    sources = SourceIds(upstreams)
    specs = build_specs(spec_rows)
    prices = build_price_cells(price_rows, sources)
    accelerators = build_accelerator_cells(accelerator_rows, sources)

    out = OutputDir(out_dir)
    counts: dict[str, object] = {}
    regions_in_data: dict[str, set[str]] = defaultdict(set)
    for provider in PROVIDERS:
        out.write(f"{provider}/specs.tsv", ascii_only(tsv(SPEC_COLUMNS, specs.get(provider, []))))
        shards = shard_texts(prices.get(provider, {}), provider)
        for shard, text in shards.items():
            out.write(f"{provider}/prices/{shard}.tsv", ascii_only(text))
        provider_cells = prices.get(provider, {})
        regions_in_data[provider].update(region for _, region in provider_cells)
        spec_keys = {type_lookup_key(provider, fields[0]) for fields in specs.get(provider, [])}
        priced_keys = {type_lookup_key(provider, t) for t, _ in provider_cells}
        counts[provider] = {
            "specs": len(spec_keys),
            "priced_types": len(priced_keys),
            "specs_without_prices": len(spec_keys - priced_keys),
            "prices_without_specs": len(priced_keys - spec_keys),
            "price_lines": len(provider_cells),
            "price_cells": dict(
                sorted(Counter(c for line in provider_cells.values() for c in line).items())
            ),
            "regions": len(regions_in_data[provider]),
            "shards": len(shards),
        }

    out.write(
        "gcp/accelerators.tsv",
        tsv(
            ("region", "accelerator_type", *ACCELERATOR_PRICE_COLUMNS),
            (
                [region, accelerator, *(line.get(c, "") for c in ACCELERATOR_PRICE_COLUMNS)]
                for (region, accelerator), line in sorted(accelerators.items())
            ),
        ),
    )
    regions_in_data["gcp"].update(region for region, _ in accelerators)
    counts["gcp_accelerator_lines"] = len(accelerators)
    counts["input_rows"] = {
        SPECS_FILE: len(spec_rows),
        ALL_REGIONS_FILE: len(price_rows),
        ACCELERATORS_FILE: len(accelerator_rows),
    }

    region_lines = build_region_lines(regions_in_data)
    out.write(
        "regions.tsv",
        tsv(("provider", "region", "display_name", "aliases"), region_lines),
    )

    inputs = {
        name: {"sha256": sha256_of(source_dir / name)}
        for name in (SPECS_FILE, ALL_REGIONS_FILE, MAJOR_REGIONS_FILE, ACCELERATORS_FILE, PROVENANCE_FILE)
        if (source_dir / name).exists()
    }
    out.write("sources.json", sources_document(upstreams, sources.cited, counts, inputs, label))
    catalog_as_of = max(u.as_of for u in upstreams)
    out.write("ATTRIBUTION.md", attribution_markdown(upstreams, catalog_as_of, counts, label))
    stale = out.remove_stale_shards()
    return {
        "files": len(out.written),
        "stale_removed": [str(p) for p in stale],
        "prices_csv_rows_found_identical_in_all_regions": major_rows_checked,
        "counts": counts,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from", dest="source_dir", type=Path, default=Path("../shared/pricing"))
    parser.add_argument("--out", dest="out_dir", type=Path, default=Path("providers/catalog"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = build(args.source_dir, args.out_dir)
    except (BuildError, FileNotFoundError, KeyError) as error:
        print(f"build_catalog: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

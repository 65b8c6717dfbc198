"""The bundled offline catalog, checked against the committed catalog files.

Expected values were read by hand from ../shared/pricing/prices_all_regions.csv.gz,
instance_types.csv and gcp_accelerators.csv (and PROVENANCE.md's sanity table).
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tollgate.engine.money import Money
from tollgate.engine.prices import PRICE_OPTIONS, PriceMiss, PriceQuote, PriceSource
from tollgate.providers.bundled import (
    PROVIDERS,
    BundledCatalog,
    parse_price_cell,
    shard_key,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = REPO_ROOT / "providers" / "catalog"
SHARED_PRICING = REPO_ROOT.parent / "shared" / "pricing"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_catalog.py"

KARP_AWS = "aws/karpenter-provider-aws@6fc13b5236fd:pkg/providers/pricing/zz_generated.pricing_aws.go"
OPSZERO = "vantage-sh/ec2instances.info@a19cd859f059:opszero-app/instances.json"
KARP_AZURE = "Azure/karpenter-provider-azure@2b431da153a6:pkg/providers/pricing/zz_generated.pricing.go"
CYCLENERD = "Cyclenerd/google-cloud-pricing-cost-calculator@fd66b26ff84f:pricing.yml"
ANYCLOUD_GCP = "anycloud-sh/catalog@62ff0a987e0c:gcp/vms.csv"


@pytest.fixture(scope="module")
def catalog() -> BundledCatalog:
    return BundledCatalog()


def quote(result: PriceQuote | PriceMiss) -> PriceQuote:
    assert isinstance(result, PriceQuote), result
    return result


def miss(result: PriceQuote | PriceMiss, code: str) -> PriceMiss:
    assert isinstance(result, PriceMiss), result
    assert result.code == code, result
    return result


# --- quotes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "region", "instance_type", "option", "amount", "as_of", "upstream"),
    [
        # 2025 P4/P5 price cut: karp-aws, not leaner's pre-cut 32.7726.
        ("aws", "us-east-1", "p4d.24xlarge", "on_demand", "21.957642", "2026-07-20", KARP_AWS),
        ("aws", "us-east-1", "g5.xlarge", "on_demand", "1.006", "2026-07-20", KARP_AWS),
        # af-south-1 exists only in the all-regions file, not in prices.csv.
        ("aws", "af-south-1", "g4dn.xlarge", "on_demand", "0.698", "2024-04-04", OPSZERO),
        ("aws", "us-east-1", "g5.xlarge", "spot", "0.52312", "2024-04-04", OPSZERO),
        ("azure", "eastus", "Standard_NC24ads_A100_v4", "on_demand", "3.673", "2026-07-16", KARP_AZURE),
        ("gcp", "us-central1", "a2-highgpu-1g", "on_demand", "3.673385", "2026-07-30", CYCLENERD),
        # GCP committed-use discounts answer the reserved options.
        ("gcp", "us-central1", "a2-highgpu-1g", "reserved_1y", "2.314207", "2026-07-30", CYCLENERD),
        ("gcp", "us-central1", "a2-highgpu-1g", "reserved_3y", "1.285708", "2026-07-30", CYCLENERD),
    ],
)
def test_price_quotes_match_the_source_data(
    catalog: BundledCatalog,
    provider: str,
    region: str,
    instance_type: str,
    option: str,
    amount: str,
    as_of: str,
    upstream: str,
) -> None:
    result = quote(catalog.price(provider, region, instance_type, option))
    assert result.unit_hourly == Money.from_str(amount)
    assert result.source == "bundled"
    assert result.as_of == as_of
    assert result.upstream == upstream


def test_prices_are_exact_integer_nanos_not_floats(catalog: BundledCatalog) -> None:
    p4d = quote(catalog.price("aws", "us-east-1", "p4d.24xlarge", "on_demand")).unit_hourly
    assert type(p4d.nanos) is int
    assert p4d.nanos == 21_957_642_000
    a2 = quote(catalog.price("gcp", "us-central1", "a2-highgpu-1g", "on_demand")).unit_hourly
    # 0.1 + 0.2-style drift would show here if anything went through float.
    assert (p4d + a2).nanos == 25_631_027_000
    assert (p4d * 730).nanos == 16_029_078_660_000


def test_azure_sizes_and_regions_are_case_and_display_name_insensitive(
    catalog: BundledCatalog,
) -> None:
    expected = Money.from_str("3.673")
    for size, region in [
        ("standard_nc24ads_a100_v4", "eastus"),
        ("STANDARD_NC24ADS_A100_V4", "East US"),
        ("  Standard_NC24ads_A100_v4 ", "EASTUS"),
        ("Standard_NC24ads_A100_v4", "US East"),  # Retail Prices API `location`
    ]:
        assert quote(catalog.price("azure", region, size, "on_demand")).unit_hourly == expected


def test_gcp_accelerator_prices(catalog: BundledCatalog) -> None:
    t4 = quote(catalog.accelerator_price("gcp", "us-central1", "nvidia-tesla-t4", "on_demand"))
    assert t4.unit_hourly == Money.from_str("0.35")
    assert (t4.as_of, t4.upstream) == ("2026-05-20", ANYCLOUD_GCP)
    spot = quote(catalog.accelerator_price("gcp", "us-central1", "nvidia-tesla-t4", "spot"))
    assert spot.unit_hourly == Money.from_str("0.1654")
    # No CUD prices for accelerators, and no separately attached GPUs outside GCP.
    miss(catalog.accelerator_price("gcp", "us-central1", "nvidia-tesla-t4", "reserved_1y"),
         "option_not_offered")
    miss(catalog.accelerator_price("gcp", "us-central1", "nvidia-h200-141gb", "on_demand"),
         "unknown_type")
    miss(catalog.accelerator_price("aws", "us-east-1", "nvidia-tesla-t4", "on_demand"),
         "unknown_type")


# --- misses -------------------------------------------------------------------------------------


def test_type_without_a_row_in_the_region_is_not_in_region(catalog: BundledCatalog) -> None:
    result = miss(catalog.price("aws", "us-west-2", "g6.2xlarge", "on_demand"), "not_in_region")
    assert result.reason.startswith("g6.2xlarge has no us-west-2 price in the bundled catalog")
    # g5 has regional prices, but not in af-south-1.
    miss(catalog.price("aws", "af-south-1", "g5.xlarge", "on_demand"), "not_in_region")


def test_row_without_the_option_is_option_not_offered(catalog: BundledCatalog) -> None:
    result = miss(catalog.price("aws", "us-east-1", "g6.xlarge", "spot"), "option_not_offered")
    assert result.reason == "g6.xlarge has no spot price in us-east-1 in the bundled catalog"
    miss(catalog.price("azure", "eastus", "Standard_B2ms", "reserved_1y"), "option_not_offered")


def test_sagemaker_types_are_explained(catalog: BundledCatalog) -> None:
    result = catalog.price("aws", "us-east-1", "ml.g5.xlarge", "on_demand")
    assert isinstance(result, PriceMiss)
    assert "SageMaker" in result.reason and "EC2 prices only" in result.reason


def test_non_linux_is_not_covered(catalog: BundledCatalog) -> None:
    result = miss(
        catalog.price("aws", "us-east-1", "g5.xlarge", "on_demand", os="windows"), "os_not_covered"
    )
    assert result.reason == (
        "the bundled catalog holds Linux prices only; windows is not covered"
    )


def test_made_up_type_is_unknown(catalog: BundledCatalog) -> None:
    result = miss(catalog.price("aws", "us-east-1", "g9.huge", "on_demand"), "unknown_type")
    assert result.reason == "'g9.huge' is not an aws instance type in the bundled catalog"
    miss(catalog.price("azure", "eastus", "Standard_Q9000", "on_demand"), "unknown_type")
    miss(catalog.price("gcp", "us-central1", "zz9-megagpu-1g", "on_demand"), "unknown_type")


def test_type_with_spec_but_no_price_anywhere_is_not_in_region(catalog: BundledCatalog) -> None:
    # p5e.48xlarge has a spec, and PROVENANCE lists it among the types with no price at all.
    assert catalog.spec("aws", "p5e.48xlarge") is not None
    miss(catalog.price("aws", "us-east-1", "p5e.48xlarge", "on_demand"), "not_in_region")


def test_unknown_region(catalog: BundledCatalog) -> None:
    result = miss(catalog.price("aws", "mars-north-1", "g5.xlarge", "on_demand"), "unknown_region")
    assert "mars-north-1" in result.reason
    china = miss(catalog.price("aws", "cn-north-1", "g5.xlarge", "on_demand"), "unknown_region")
    assert "CNY" in china.reason
    miss(catalog.price("azure", "Atlantis", "Standard_B2ms", "on_demand"), "unknown_region")


def test_unknown_option_is_a_miss_not_a_crash(catalog: BundledCatalog) -> None:
    result = miss(catalog.price("aws", "us-east-1", "g5.xlarge", "reserved"), "option_not_offered")
    assert "'reserved'" in result.reason


# --- specs and regions --------------------------------------------------------------------------


def test_specs(catalog: BundledCatalog) -> None:
    b2ms = catalog.spec("azure", "standard_b2ms")
    assert b2ms is not None
    assert (b2ms.instance_type, b2ms.vcpu, b2ms.memory_gib) == ("Standard_B2ms", 2.0, 8.0)
    p4d = catalog.spec("aws", " p4d.24xlarge ")
    assert p4d is not None
    assert (p4d.gpu_count, p4d.gpu_model, p4d.gpu_memory_gib) == (8.0, "A100-40GB", 40.0)
    assert p4d.current_generation is True
    a2 = catalog.spec("gcp", "a2-highgpu-1g")
    assert a2 is not None and a2.current_generation is None  # blank in the data: unknown
    assert catalog.spec("aws", "G5.XLARGE") is None  # AWS/GCP names are exact
    assert catalog.spec("aws", "g9.huge") is None
    assert catalog.spec("oracle", "VM.Standard3.Flex") is None


@pytest.mark.parametrize(
    ("provider", "given", "canonical"),
    [
        ("azure", "East US", "eastus"),
        ("azure", "EASTUS", "eastus"),
        ("azure", "east us 2", "eastus2"),
        ("azure", "West Europe", "westeurope"),
        ("azure", "UK South", "uksouth"),
        ("azure", "EU West", "westeurope"),
        ("aws", "us-east-1", "us-east-1"),
        ("aws", "US East (N. Virginia)", "us-east-1"),
        ("aws", "EU (Ireland)", "eu-west-1"),
        ("aws", "Europe (Ireland)", "eu-west-1"),
        ("aws", "us-east-1a", "us-east-1"),  # zones price like their region
        ("gcp", "US-CENTRAL1", "us-central1"),
        ("gcp", "us-central1-a", "us-central1"),
        ("gcp", "europe-west10", "europe-west10"),
        ("aws", "Atlantis", None),
        ("azure", "us-east-1", None),
        ("gcp", "eastus", None),
    ],
)
def test_normalize_region(
    catalog: BundledCatalog, provider: str, given: str, canonical: str | None
) -> None:
    assert catalog.normalize_region(provider, given) == canonical


def test_every_priced_region_has_a_display_name(catalog: BundledCatalog) -> None:
    for provider in PROVIDERS:
        regions = catalog.regions_for(provider)
        assert regions, provider
        for region in regions:
            assert catalog.region_display_name(provider, region)
    assert catalog.region_display_name("azure", "uksouth") == "UK South"
    assert len(catalog.regions_for("aws")) == 32  # all-regions data, not the 13 major ones


def test_types_for_lists_specs_sorted(catalog: BundledCatalog) -> None:
    names = [spec.instance_type for spec in catalog.types_for("gcp")]
    assert names == sorted(names)
    assert "a2-highgpu-1g" in names
    assert len(catalog.types_for("aws")) == 1396


# --- sources and provenance ---------------------------------------------------------------------


def test_sources_and_licences(catalog: BundledCatalog) -> None:
    by_id = {source.id: source for source in catalog.sources()}
    assert {"karp-aws", "opszero", "leaner", "vantage-x2iedn", "karp-azure", "cyclenerd", "sc"} <= set(by_id)
    assert by_id["karp-aws"].name == KARP_AWS
    assert by_id["karp-aws"].as_of == "2026-07-20"
    assert by_id["sc"].licence == "CC BY-SA 4.0"
    assert by_id["anycloud-azure"].licence == "no licence file in the repo"
    assert catalog.source_info("cyclenerd") == by_id["cyclenerd"]
    assert catalog.source_info("nope") is None
    assert catalog.catalog_as_of() == "2026-07-30"


def test_attribution_ships_with_the_data() -> None:
    text = (CATALOG_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in text and "SpareCores/sc-data-dumps" in text
    assert "6fc13b5236fd04fd16ff3f9dc7490d0813994099" in text
    assert "Known gaps" in text


def test_bundled_catalog_satisfies_the_price_source_protocol() -> None:
    source: PriceSource = BundledCatalog()
    assert source.mode == "bundled"


# --- the committed files ------------------------------------------------------------------------


def test_committed_shards_are_consistent() -> None:
    """Every line sits in the shard its type maps to, lines are sorted, every cell is an exact
    decimal citing a listed source. Catches a hand edit or a shard_key change without a rebuild."""
    known_sources = {s.id for s in BundledCatalog().sources()}
    for provider in PROVIDERS:
        shard_files = sorted((CATALOG_DIR / provider / "prices").glob("*.tsv"))
        assert shard_files, provider
        for path in shard_files:
            lines = path.read_text(encoding="utf-8").splitlines()
            assert lines[0].split("\t") == ["instance_type", "region", *PRICE_OPTIONS]
            keys = []
            for line in lines[1:]:
                instance_type, region, *cells = line.split("\t")
                assert shard_key(provider, instance_type) == path.stem, line
                assert len(cells) == len(PRICE_OPTIONS), line
                parsed = [parse_price_cell(cell) for cell in cells]
                assert any(parsed), line
                for cell in parsed:
                    if cell is not None:
                        amount, source_id = cell
                        assert source_id in known_sources, line
                        assert Money.from_str(amount).nanos > 0, line
                keys.append((instance_type, region))
            assert keys == sorted(keys) and len(set(keys)) == len(keys), path


def test_sources_json_metadata() -> None:
    document = json.loads((CATALOG_DIR / "sources.json").read_text(encoding="utf-8"))
    catalog_meta = document["catalog"]
    assert catalog_meta["as_of"] == "2026-07-30"
    assert catalog_meta["built_from"]["directory"] == "../shared/pricing"
    assert catalog_meta["counts"]["input_rows"]["prices_all_regions.csv.gz"] == 216_076
    for entry in document["sources"]:
        assert set(entry) >= {"id", "name", "as_of", "licence", "attribution"}


# --- laziness and isolation ---------------------------------------------------------------------


class RecordingRoot:
    """A catalog root over the real folder that records which files are read."""

    def __init__(self, path: Path, reads: list[str]) -> None:
        self._path = path
        self._reads = reads

    def __truediv__(self, child: str) -> RecordingRoot:
        return RecordingRoot(self._path / child, self._reads)

    def is_file(self) -> bool:
        return self._path.is_file()

    def is_dir(self) -> bool:
        return self._path.is_dir()

    def read_bytes(self) -> bytes:
        self._reads.append(self._path.relative_to(CATALOG_DIR).as_posix())
        return self._path.read_bytes()


def test_lookups_read_only_the_files_they_need() -> None:
    reads: list[str] = []
    catalog = BundledCatalog(root=RecordingRoot(CATALOG_DIR, reads))
    assert reads == []  # constructing reads nothing

    quote(catalog.price("aws", "us-east-1", "g5.xlarge", "on_demand"))
    assert sorted(reads) == ["aws/prices/g5.tsv", "regions.tsv", "sources.json"]

    reads.clear()
    quote(catalog.price("aws", "eu-west-1", "g5.2xlarge", "spot"))  # same shard: cached
    assert reads == []

    assert catalog.spec("azure", "Standard_B2ms") is not None
    assert reads == ["azure/specs.tsv"]


def test_a_catalog_without_price_shards_fails_loudly(tmp_path: Path) -> None:
    # A wheel whose package-data glob misses */prices/*.tsv must not answer "no price" everywhere.
    for name in ("regions.tsv", "sources.json"):
        (tmp_path / name).write_bytes((CATALOG_DIR / name).read_bytes())
    (tmp_path / "aws").mkdir()
    (tmp_path / "aws" / "specs.tsv").write_bytes((CATALOG_DIR / "aws" / "specs.tsv").read_bytes())
    with pytest.raises(FileNotFoundError, match="aws/prices"):
        BundledCatalog(root=tmp_path).price("aws", "us-east-1", "g5.xlarge", "on_demand")


def test_one_lookup_imports_no_provider_sdk() -> None:
    code = (
        "import sys\n"
        "from tollgate.providers.bundled import BundledCatalog\n"
        "r = BundledCatalog().price('aws', 'us-east-1', 'g5.xlarge', 'on_demand')\n"
        "assert r.unit_hourly.nanos == 1_006_000_000, r\n"
        "roots = {'boto3', 'botocore', 'google', 'azure', 'pandas', 'pydantic'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in roots))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


# --- the build ----------------------------------------------------------------------------------


def test_build_is_deterministic_and_reproduces_the_committed_catalog(tmp_path: Path) -> None:
    if not (SHARED_PRICING / "prices_all_regions.csv.gz").exists():
        pytest.skip(f"{SHARED_PRICING} is absent")
    out = tmp_path / "catalog"
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--from", str(SHARED_PRICING), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(CATALOG_DIR).as_posix()
        for p in CATALOG_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert built == committed
    different = [
        name for name in built if not filecmp.cmp(out / name, CATALOG_DIR / name, shallow=False)
    ]
    assert different == [], "committed catalog is stale: rerun scripts/build_catalog.py"

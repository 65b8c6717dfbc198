"""The command line of live pricing: --pricing cached, tollgate prices show|clear, the progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tollgate.integrations.cli import main
from tollgate.integrations.price_source import DelayedProgress, build_price_source, price_cache_path
from tollgate.providers.live.base import LiveQuote
from tollgate.providers.live.cache import PriceCache

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-gpu-training" / "plan.json"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOLLGATE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TOLLGATE_PRICE_CACHE", raising=False)
    return tmp_path


def seed(cache_dir: Path) -> None:
    PriceCache(cache_dir / "prices.sqlite").put(
        [LiveQuote("aws", "us-east-1", "p4d.24xlarge", "on_demand", "19.5", "aws-pricing", "2026-11-01", "standard")]
    )


def test_the_cache_lives_in_the_cache_directory(cache_dir: Path) -> None:
    assert price_cache_path() == cache_dir / "prices.sqlite"


def test_pricing_cached_uses_the_cache_without_network_and_says_so(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cache_dir)
    code = main(["check", str(EXAMPLE), "--pricing", "cached", "--format", "json", "--suggest", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["pricing"]["mode"] == "cached"
    node_group = next(r for r in report["resources"] if r["address"] == "aws_eks_node_group.a100_training")
    assert node_group["price"]["source"] == "cache" and node_group["price"]["unit_hourly_usd"] == 19.5
    assert node_group["price"]["upstream"] == "AWS Price List API (pricing:GetProducts), from the local cache"
    other = next(r for r in report["resources"] if r["address"] == "aws_instance.eu_replica")
    assert other["price"]["source"] == "bundled"
    names = [s["name"] for s in report["pricing"]["sources"]]
    assert "AWS Price List API (pricing:GetProducts), from the local cache" in names


def test_prices_show_lists_cached_prices_as_json(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cache_dir)
    assert main(["prices", "show", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    [row] = shown["prices"]
    assert (row["instance_type"], row["hourly_usd"], row["api"], row["fresh"]) == ("p4d.24xlarge", "19.5", "aws-pricing", True)


def test_prices_clear_empties_the_cache(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(cache_dir)
    assert main(["prices", "clear", "--provider", "aws"]) == 0
    assert "removed 1 cached price" in capsys.readouterr().out
    assert PriceCache(cache_dir / "prices.sqlite").rows() == []


def test_a_corrupt_cache_is_reported_and_the_check_priced_from_the_bundled_catalog(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cache_dir / "prices.sqlite").write_bytes(b"\x00garbage")
    code = main(["check", str(EXAMPLE), "--pricing", "cached", "--format", "json", "--suggest", "none"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0 and "Traceback" not in captured.err
    node_group = next(r for r in report["resources"] if r["address"] == "aws_eks_node_group.a100_training")
    assert node_group["price"]["source"] == "bundled"
    [problem] = report["pricing"]["problems"]
    assert problem.startswith(f"price cache {cache_dir / 'prices.sqlite'}: file is not a database")


@pytest.mark.parametrize("command", [["prices", "show"], ["prices", "clear"]])
def test_prices_commands_on_a_corrupt_cache_fail_with_one_line_naming_the_file(
    command: list[str], cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cache_dir / "prices.sqlite").write_bytes(b"\x00garbage")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == f"tollgate: error: price cache {cache_dir / 'prices.sqlite'}: file is not a database\n"


def test_settings_pricing_live_is_accepted(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tollgate.yaml"
    config.write_text("version: 1\nsettings:\n  pricing: cached\n")
    assert main(["check", str(EXAMPLE), "--config", str(config), "--format", "json", "--output", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["pricing"]["mode"] == "cached"


def test_an_endpoint_that_is_not_https_off_loopback_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tollgate.yaml"
    config.write_text("version: 1\nsettings:\n  endpoints:\n    aws_pricing: http://pricing.example.com\n")
    assert main(["check", str(EXAMPLE), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "tollgate.yaml" in err and "loopback" in err and err.count("\n") == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_bar_when_output_is_not_a_terminal() -> None:
    source = build_price_source("live", None, progress_stream=io.StringIO())
    assert getattr(source, "progress") is None
    assert getattr(build_price_source("live", None, progress_stream=Terminal()), "progress") is not None


def test_the_progress_bar_appears_only_after_a_moment() -> None:
    quick = Terminal()
    bar = DelayedProgress(3, quick, delay=60)
    bar.advance(), bar.advance(), bar.advance(), bar.close()
    assert quick.getvalue() == ""
    slow = Terminal()
    bar = DelayedProgress(3, slow, delay=0)
    bar.advance(), bar.advance(), bar.advance(), bar.close()
    assert "fetching live prices" in slow.getvalue()

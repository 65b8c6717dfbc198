"""`tollgate check --pricing live` end to end: the real CLI, the real SDKs, real HTTP to fakes of
all three providers on 127.0.0.1 (endpoints from tollgate.yaml), credentials from each provider's
standard chain (AWS environment variables, a Google ADC file whose token endpoint is the fake), the
SQLite cache on a second run, and the fallback chain when a provider is down."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest

from tests.fakes.aws_fake import AwsFake
from tests.fakes.azure_fake import AzureRetailFake
from tests.fakes.gcp_fake import SKUS_PATH, GcpBillingFake
from tests.fakes.loopback import LoopbackServer, Reply, Request
from tollgate.integrations.cli import main

REPO = Path(__file__).resolve().parents[2]
AWS_PLAN = REPO / "examples" / "aws-gpu-training" / "plan.json"
AZURE_PLAN = REPO / "examples" / "azure-aks-gpu" / "plan.json"
GCP_PLAN = REPO / "examples" / "gcp-gpu-serving" / "plan.json"


class Fakes:
    def __init__(self) -> None:
        self.aws = AwsFake()
        self.azure = AzureRetailFake()
        self.gcp = GcpBillingFake()
        self.tokens: list[str] = []
        self.aws_server = LoopbackServer(self.aws.handle)
        self.azure_server = LoopbackServer(self.azure.handle)
        self.gcp_server = LoopbackServer(self._google)

    def _google(self, request: Request) -> Reply:
        if request.path == "/token":  # the OAuth token endpoint named in the ADC file
            self.tokens.append(request.body.decode())
            return Reply(200, {"access_token": "ya29.fake", "expires_in": 3600, "token_type": "Bearer"})
        return self.gcp._handle(request)

    def servers(self) -> list[LoopbackServer]:
        return [self.aws_server, self.azure_server, self.gcp_server]

    def request_count(self) -> int:
        return sum(len(s.requests) for s in self.servers())


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    fakes = Fakes()
    fakes.aws.add_product("us-east-1", "p4d.24xlarge", "19.50", reserved_1y_all_upfront_fee="100000")
    fakes.aws.add_product("us-east-1", "g5.2xlarge", "1.10")
    fakes.aws.add_spot("us-east-1", "us-east-1a", "g5.2xlarge", "0.50", "2026-11-22T01:00:00Z")
    fakes.aws.add_spot("us-east-1", "us-east-1b", "g5.2xlarge", "0.40", "2026-11-22T01:00:00Z")
    fakes.azure.add_vm("eastus", "Standard_NC24ads_A100_v4", "3.20", spot="0.70")
    fakes.azure.add_vm("eastus", "Standard_D4s_v5", "0.18")
    gcp, us = fakes.gcp, ["us-central1"]
    gcp.add_family_rates("N1 Predefined Instance", us, core="0.03", ram="0.004")
    gcp.add_gpu("Nvidia Tesla T4", us, "0.30")
    gcp.add_family_rates("A2 Instance", us, core="0.01", ram="0.001", usage="Preemptible")
    gcp.add_gpu("Nvidia Tesla A100", us, "1.00", usage="Preemptible")
    gcp.add_family_rates("G2 Instance", us, core="0.02", ram="0.002")
    gcp.add_gpu("Nvidia L4", us, "0.50")
    for server in fakes.servers():
        server.__enter__()

    adc = tmp_path / "adc.json"
    # An ADC file (what `gcloud auth application-default login` writes) holding a still-valid access
    # token: google.auth.default() loads it and never needs Google's token endpoint. (A service
    # account file would also probe iamcredentials.googleapis.com: not on loopback.)
    adc.write_text(json.dumps({
        "type": "authorized_user", "client_id": "fake.apps.googleusercontent.com", "client_secret": "fake",
        "refresh_token": "1//fake", "token": "ya29.fake-token", "expiry": "2099-01-01T00:00:00Z",
    }))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_PRICING", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("TOLLGATE_CACHE_DIR", str(tmp_path / "cache"))
    try:
        yield fakes
    finally:
        for server in fakes.servers():
            server.__exit__()


def config(tmp_path: Path, fakes: Fakes, aws_url: str | None = None) -> str:
    aws = aws_url or fakes.aws_server.url
    path = tmp_path / "tollgate.yaml"
    path.write_text(
        "version: 1\nsettings:\n  pricing: live\n  endpoints:\n"
        f"    aws_pricing: {aws}\n    aws_ec2: {aws}\n"
        f"    azure_retail: {fakes.azure_server.url}\n    gcp_billing: {fakes.gcp_server.url}\n"
    )
    return str(path)


def check(config_path: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict], dict, str]:  # type: ignore[type-arg]
    code = main(["check", str(AWS_PLAN), str(AZURE_PLAN), str(GCP_PLAN), "--config", config_path, "--format", "json", "--suggest", "none"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    return code, {r["address"]: r for r in report["resources"]}, report, captured.err


def test_live_prices_come_from_each_providers_api_and_say_so(tmp_path: Path, fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    code, resources, report, err = check(config(tmp_path, fakes), capsys)
    assert code == 0 and err == ""
    assert report["pricing"]["mode"] == "live" and report["pricing"]["problems"] == []

    p4d = resources["aws_eks_node_group.a100_training"]["price"]
    assert (p4d["source"], p4d["unit_hourly_usd"]) == ("live", 19.5)
    asg = resources["aws_autoscaling_group.inference"]["price"]
    assert (asg["option"], asg["source"], asg["unit_hourly_usd"]) == ("spot", "live", 0.45)  # median of 0.50 and 0.40
    assert asg["detail"] == "median of 2 zones; cheapest us-east-1b $0.4000"

    spot_pool = resources["azurerm_kubernetes_cluster_node_pool.a100_spot"]["price"]
    assert (spot_pool["source"], spot_pool["unit_hourly_usd"]) == ("live", 0.7)

    # a2-highgpu-1g spot = 12 vCPU x 0.01 + 85 GiB x 0.001 + 1 A100 x 1.00
    a2 = resources["google_compute_instance.a100_spot"]["price"]
    assert (a2["source"], a2["unit_hourly_usd"]) == ("live", 1.205)
    # n1-standard-8 + 2 attached T4 = 8 x 0.03 + 30 GiB x 0.004 + 2 x 0.30 (machine and GPUs both live)
    n1 = resources["google_compute_instance.t4_batch[0]"]["price"]
    assert (n1["source"], n1["unit_hourly_usd"]) == ("live", 0.96)
    # Authenticated with the token from the ADC file (Google's standard credential chain).
    sku_requests = [r for r in fakes.gcp_server.requests if r.path == SKUS_PATH]
    assert sku_requests and all(r.headers.get("authorization") == "Bearer ya29.fake-token" for r in sku_requests)

    # Not offered by the fake: the bundled catalog serves it, and the price says why.
    replica = resources["aws_instance.eu_replica"]["price"]
    assert replica["source"] == "bundled" and "has no offer" in replica["fallback"]
    names = {s["name"] for s in report["pricing"]["sources"]}
    assert {
        "AWS Price List API (pricing:GetProducts), fetched live",
        "Amazon EC2 spot price history (ec2:DescribeSpotPriceHistory), fetched live",
        "Azure Retail Prices API (prices.azure.com), fetched live",
        "Google Cloud Billing Catalog API (cloudbilling.services.skus.list), fetched live",
    } <= names


def test_a_second_run_is_served_from_the_cache_without_a_request(tmp_path: Path, fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, fakes)
    check(path, capsys)
    before = fakes.request_count()
    code, resources, report, _ = check(path, capsys)
    assert code == 0 and fakes.request_count() == before
    assert resources["aws_eks_node_group.a100_training"]["price"]["source"] == "cache"
    assert resources["google_compute_instance.a100_spot"]["price"]["unit_hourly_usd"] == 1.205


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_provider_that_is_down_falls_back_and_is_one_line(tmp_path: Path, fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    code, resources, report, err = check(config(tmp_path, fakes, aws_url=_closed_port()), capsys)
    assert code == 0
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("tollgate: warning: aws-") for line in lines)
    assert "Traceback" not in err and "AKIA" not in err
    p4d = resources["aws_eks_node_group.a100_training"]["price"]
    assert p4d["source"] == "bundled" and p4d["fallback"].startswith("aws-pricing:")
    assert p4d["unit_hourly_usd"] == 21.957642  # the bundled catalog's price, never $0
    assert resources["azurerm_kubernetes_cluster_node_pool.a100_spot"]["price"]["source"] == "live"
    assert any(p.startswith("aws-pricing:") for p in report["pricing"]["problems"])


def test_prices_refresh_fetches_again_what_the_cache_holds(tmp_path: Path, fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, fakes)
    check(path, capsys)
    fakes.aws.products = [p for p in fakes.aws.products if p["product"]["attributes"]["instanceType"] != "p4d.24xlarge"]
    fakes.aws.add_product("us-east-1", "p4d.24xlarge", "18.00")  # AWS changed its price
    aws_before = len(fakes.aws_server.requests)
    assert main(["prices", "refresh", "--config", path]) == 0
    assert "refreshed" in capsys.readouterr().out
    assert len(fakes.aws_server.requests) > aws_before
    _, resources, _, _ = check(path, capsys)
    assert resources["aws_eks_node_group.a100_training"]["price"]["unit_hourly_usd"] == 18.0


def test_a_budget_with_actual_spend_reads_cost_explorer(tmp_path: Path, fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.aws.set_spend("45000.25", {"team": "ml"})
    path = Path(config(tmp_path, fakes))
    path.write_text(
        path.read_text().replace("  endpoints:\n", f"  endpoints:\n    aws_ce: {fakes.aws_server.url}\n")
        + "policies:\n  - id: ml-budget\n    type: budget\n    monthly_limit_usd: 50000\n"
        "    scope: {providers: [aws]}\n    actual_spend: {provider: aws, filter: {tags: {team: ml}}}\n"
    )
    code, _, report, _ = check(str(path), capsys)
    [budget] = report["budgets"]
    assert budget["month_to_date_usd"] == 45000.25 and budget["source"] == "live:aws-ce" and budget["cap_usd"] == 50000.0
    assert budget["projected_usd"] == round(45000.25 + budget["change_rest_of_month_usd"], 2)
    ce = [r for r in fakes.aws_server.requests if r.headers.get("x-amz-target", "").endswith("GetCostAndUsage")]
    assert ce and ce[0].json()["Filter"]["Tags"]["Key"] == "team"
    over = [f for f in report["findings"] if f["policy_id"] == "ml-budget" and "month-to-date" in f["message"]]
    assert code == 1 and over and over[0]["severity"] == "error"

"""The Azure live clients against loopback fakes over real HTTP(S).

Retail Prices: stdlib urllib over plain http to `AzureRetailFake`. Cost Management: the real
azure-mgmt-costmanagement client over https (azure-core's bearer-token policy refuses plain
http) to `AzureCostManagementFake`, trusting the fake's self-signed certificate through
`connection_verify`. Credentials are static objects: DefaultAzureCredential would probe IMDS.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from tollgate.providers.live import azure as azure_module
from tollgate.providers.live.azure import AzurePriceClient, AzureSpendClient
from tollgate.providers.live.base import (
    LIVE_OPTIONS,
    ClientSettings,
    CredentialsError,
    Endpoints,
    LiveQuote,
    MalformedResponse,
    ProviderTimeout,
    ProviderUnavailable,
    RetryPolicy,
    Timeouts,
)

from tests.fakes.azure_fake import AzureCostManagementFake, AzureRetailFake
from tests.fakes.loopback import Fault, LoopbackServer

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "pricing" / "api-samples"
ALL = frozenset(LIVE_OPTIONS)
NINE_PLACES = Decimal("0.000000001")
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def settings(endpoint_key: str, url: str, read: float = 2.0, attempts: int = 3) -> ClientSettings:
    return ClientSettings(
        endpoints=Endpoints({endpoint_key: url}),
        timeouts=Timeouts(connect=1.0, read=read, lookup=8.0),
        retry=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05),
    )


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"../shared sample {name} not present")
    return path


def by_option(quotes: list[LiveQuote]) -> dict[str, LiveQuote]:
    options = [quote.option for quote in quotes]
    assert len(options) == len(set(options)), options
    return {quote.option: quote for quote in quotes}


def per_hour(term_total: str, years: int) -> str:
    return str((Decimal(term_total) / (8760 * years)).quantize(NINE_PLACES))


# One server per module and scheme: LoopbackServer's shutdown waits up to 0.5 s (the
# serve_forever poll), which per test would dominate the run time. Each test gets a fresh fake.


def _unset(request: Any) -> Any:
    raise AssertionError("no fake installed")


@pytest.fixture(scope="module")
def http_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(_unset) as server:
        yield server


@pytest.fixture(scope="module")
def https_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(_unset, tls=True) as server:
        yield server


def install(server: LoopbackServer, handle: Any) -> LoopbackServer:
    with server._lock:
        server.handle = handle
        server.requests.clear()
        server.faults.clear()
    return server


# -- Retail Prices --------------------------------------------------------------------------


@pytest.fixture
def retail(http_server: LoopbackServer) -> tuple[AzureRetailFake, LoopbackServer, AzurePriceClient]:
    fake = AzureRetailFake()
    server = install(http_server, fake.handle)
    return fake, server, AzurePriceClient(settings("azure_retail", server.url))


def test_verbatim_sample_page(retail: Any) -> None:
    fake, server, client = retail
    fake.load_sample(sample("azure_retail_prices_page.json"))

    quotes = by_option(client.fetch("westeurope", "Standard_D8_v4", ALL))

    assert set(quotes) == {"on_demand", "reserved_1y", "reserved_3y"}  # the Windows DevTest "Spot" item is out
    assert quotes["on_demand"].hourly_usd == "0.46"
    assert quotes["reserved_1y"].hourly_usd == per_hour("2377", 1) == "0.271347032"
    assert quotes["reserved_3y"].hourly_usd == per_hour("4594", 3) == "0.174809741"
    assert quotes["reserved_1y"].detail == "reservation $2377/1 year ÷ 8760 h"
    assert quotes["reserved_3y"].detail == "reservation $4594/3 years ÷ 26280 h"
    for quote in quotes.values():
        assert (quote.provider, quote.region, quote.instance_type, quote.api, quote.effective) == (
            "azure", "westeurope", "Standard_D8_v4", "azure-retail", "2020-08-01")
    # The sample's NextPageLink (https://prices.azure.com:443/...?$skip=100) was moved onto the fake.
    assert [request.query.get("$skip") for request in server.requests] == [None, ["100"]]


def test_add_vm_spot_reservations_and_decoys(retail: Any) -> None:
    fake, server, client = retail
    fake.add_vm("eastus", "Standard_D4s_v5", on_demand="0.192", spot="0.0384",
                reserved_1y_term_total="1009.0", reserved_3y_term_total="1945", effective="2026-10-01T00:00:00Z")
    fake.add_vm("eastus", "Standard_D8s_v5", on_demand="0.384")  # another size: filtered out by the API

    quotes = by_option(client.fetch("eastus", "Standard_D4s_v5", ALL))

    assert {option: quote.hourly_usd for option, quote in quotes.items()} == {
        "on_demand": "0.192",  # not the Windows (0.096), Low Priority (0.0384) or DevTest (0.0768) decoy
        "spot": "0.0384",
        "reserved_1y": per_hour("1009", 1),
        "reserved_3y": per_hour("1945", 3),
    }
    assert quotes["spot"].effective == "2026-10-01"
    assert "D4s v5 Spot" in quotes["spot"].detail
    (request,) = server.requests
    assert request.path == "/api/retail/prices"
    assert request.query["api-version"] == ["2023-01-01-preview"]
    assert request.query["currencyCode"] == ["'USD'"]
    assert request.query["$filter"] == [
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_D4s_v5'"]


def test_primary_meter_preferred_then_lowest(retail: Any) -> None:
    fake, _, client = retail
    fake.add_item(fake.vm_item("eastus", "Standard_E4_v5", "0.20", meter="E4 v5 regional", primary=False))
    fake.add_item(fake.vm_item("eastus", "Standard_E4_v5", "0.26"))
    fake.add_item(fake.vm_item("eastus", "Standard_E4_v5", "0.25", meter="E4 v5 other"))

    (quote,) = client.fetch("eastus", "Standard_E4_v5", ALL)

    assert quote.hourly_usd == "0.25"
    assert "3 meters matched, chose the primary-region meter with the lowest price" in quote.detail


def test_paging_follows_next_page_link_onto_the_configured_endpoint(retail: Any) -> None:
    fake, server, client = retail
    fake.page_size = 2
    fake.add_vm("westus2", "Standard_F4s_v2", on_demand="0.169", spot="0.0338",
                reserved_1y_term_total="888", reserved_3y_term_total="1709")  # 7 items -> 4 pages

    quotes = by_option(client.fetch("westus2", "Standard_F4s_v2", ALL))

    assert set(quotes) == set(LIVE_OPTIONS)
    assert len(server.requests) == 4
    assert all(link.startswith("https://prices.azure.com:443/api/retail/prices?") for link in fake.served_links[:-1])
    assert fake.served_links[-1] is None
    assert [request.query.get("$skip", ["0"])[0] for request in server.requests] == ["0", "2", "4", "6"]
    # The filter travels with every page, as in the real API's links.
    assert len({request.query["$filter"][0] for request in server.requests}) == 1


def test_throttled_twice_then_served(retail: Any) -> None:
    fake, server, client = retail
    fake.add_vm("eastus", "Standard_D2_v5", on_demand="0.096")
    server.fail_next(Fault(429, headers={"Retry-After": "0"}), Fault(429, headers={"Retry-After": "0"}))

    quotes = by_option(client.fetch("eastus", "Standard_D2_v5", ALL))

    assert quotes["on_demand"].hourly_usd == "0.096"
    assert len(server.requests) == 3


def test_retry_after_is_capped_by_max_delay(retail: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, server, client = retail
    fake.add_vm("eastus", "Standard_D2_v5", on_demand="0.096")
    server.fail_next(Fault(503, headers={"Retry-After": "120"}))
    slept: list[float] = []
    monkeypatch.setattr(azure_module.time, "sleep", slept.append)

    assert client.fetch("eastus", "Standard_D2_v5", ALL)
    assert len(slept) == 1 and 0 < slept[0] <= 0.05  # the policy's max_delay, not the server's 120 s
    assert len(server.requests) == 2


def test_persistent_500_is_unavailable(retail: Any) -> None:
    fake, server, client = retail
    fake.add_vm("eastus", "Standard_D2_v5", on_demand="0.096")
    server.fail_next(*[Fault(500, b"oops")] * 5)

    with pytest.raises(ProviderUnavailable) as caught:
        client.fetch("eastus", "Standard_D2_v5", ALL)

    assert caught.value.provider == "azure-retail"
    assert len(server.requests) == 3  # RetryPolicy(attempts=3)


def test_hang_past_the_read_timeout(retail: Any) -> None:
    _, server, _ = retail
    client = AzurePriceClient(settings("azure_retail", server.url, read=0.3))
    server.fail_next(Fault(200, hang_seconds=5.0))
    # Without the read timeout the fake answers after 5 s: no error at all.
    with pytest.raises(ProviderTimeout, match="read timeout 0.3s"):
        client.fetch("eastus", "Standard_D2_v5", ALL)
    assert len(server.requests) == 1  # timeouts are not retried


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway error page</html>",
        {"Count": 0},
        {"Items": "none"},
        {"Items": [{"type": "Consumption"}], "NextPageLink": None},
        {"Items": [], "NextPageLink": 7},
    ],
    ids=["not-json", "no-items", "items-not-list", "item-missing-fields", "link-not-string"],
)
def test_malformed_responses(retail: Any, body: Any) -> None:
    _, server, client = retail
    server.fail_next(Fault(200, body))
    with pytest.raises(MalformedResponse):
        client.fetch("eastus", "Standard_D2_v5", ALL)


def test_price_as_string_is_malformed(retail: Any) -> None:
    fake, _, client = retail
    item = fake.vm_item("eastus", "Standard_D2_v5", "0.096")
    item["unitPrice"] = "0.096"
    fake.add_item(item)
    with pytest.raises(MalformedResponse, match="unitPrice"):
        client.fetch("eastus", "Standard_D2_v5", ALL)


def test_unknown_size_is_empty(retail: Any) -> None:
    fake, server, client = retail
    fake.add_vm("eastus", "Standard_D2_v5", on_demand="0.096")
    assert client.fetch("eastus", "Standard_Nope_v9", ALL) == []
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("region", "size"),
    [("eastus", "Standard_D2_v5' or armSkuName ne '"), ("east us", "Standard_D2_v5"), ("eastus", "Standard D2 v5")],
)
def test_odd_names_are_rejected_without_a_request(retail: Any, region: str, size: str) -> None:
    _, server, client = retail
    assert client.fetch(region, size, ALL) == []
    assert server.requests == []


def test_401_from_a_proxy_is_a_credentials_error(retail: Any) -> None:
    _, server, client = retail
    server.fail_next(Fault(401, b"proxy authentication required"))
    with pytest.raises(CredentialsError, match="anonymous"):
        client.fetch("eastus", "Standard_D2_v5", ALL)


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AzurePriceClient(settings("azure_retail", f"http://127.0.0.1:{port}", attempts=2))
    with pytest.raises(ProviderUnavailable, match="cannot reach"):
        client.fetch("eastus", "Standard_D2_v5", ALL)


# -- Cost Management --------------------------------------------------------------------------


class StaticCredential:
    """A TokenCredential that hands out a fixed token (never DefaultAzureCredential in tests)."""

    def __init__(self, token: str = "static-test-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


class RefusingCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise ClientAuthenticationError("AADSTS700016: application not found in the directory.\nTrace ID: 1234\nmore")


def spend_client(server: LoopbackServer, credential: Any = None, read: float = 2.0) -> AzureSpendClient:
    return AzureSpendClient(
        settings("azure_management", server.url, read=read),
        credential=credential or StaticCredential(),
        subscription_id=SUBSCRIPTION,
        connection_verify=server.cert_file,  # trust the fake's self-signed certificate
    )


@pytest.fixture
def cost(https_server: LoopbackServer) -> tuple[AzureCostManagementFake, LoopbackServer, AzureSpendClient]:
    fake = AzureCostManagementFake()
    server = install(https_server, fake.handle)
    return fake, server, spend_client(server)


def tag(name: str, value: str) -> dict[str, Any]:
    return {"tags": {"name": name, "operator": "In", "values": [value]}}


def test_month_to_date_with_tag_filter(cost: Any) -> None:
    fake, server, client = cost
    fake.set_rows([[Decimal("12.5"), "USD"], [Decimal("0.25"), "USD"], [Decimal("0.000001"), "USD"]])

    spend = client.month_to_date({"team": "payments", "env": "prod"}, "2026-11-17")

    assert spend.amount_usd == "12.750001"
    assert (spend.provider, spend.api, spend.period_start, spend.period_end) == ("azure", "azure-costmanagement", "2026-11-01", "2026-11-17")
    assert spend.filter == {"team": "payments", "env": "prod", "scope": f"subscriptions/{SUBSCRIPTION}"}
    ((scope, body),) = fake.queries
    assert scope == f"subscriptions/{SUBSCRIPTION}"
    assert body == {
        "type": "ActualCost",
        "timeframe": "MonthToDate",
        "dataset": {
            "granularity": "None",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "filter": {"and": [tag("env", "prod"), tag("team", "payments")]},
        },
    }
    (request,) = server.requests
    assert request.headers["authorization"] == "Bearer static-test-token"
    assert request.query["api-version"]


def test_one_tag_and_a_resource_group_scope(cost: Any) -> None:
    fake, server, client = cost
    fake.set_rows([[3, "USD"]])
    scope = f"subscriptions/{SUBSCRIPTION}/resourceGroups/rg-payments"

    spend = client.month_to_date({"scope": scope, "team": "payments"}, "2026-11-03")

    assert spend.amount_usd == "3"
    ((sent_scope, body),) = fake.queries
    assert sent_scope == scope
    assert body["dataset"]["filter"] == tag("team", "payments")
    assert server.requests[0].path == f"/{scope}/providers/Microsoft.CostManagement/query"


def test_no_tags_means_no_filter(cost: Any) -> None:
    fake, _, client = cost
    assert client.month_to_date({}, "2026-11-03").amount_usd == "0"
    assert "filter" not in fake.queries[0][1]["dataset"]


def test_verbatim_cost_sample_grouped_pretax_cost(cost: Any) -> None:
    fake, _, client = cost
    path = sample("azure_cost_management_query.json")
    fake.load_sample(path)

    spend = client.month_to_date({}, "2026-11-30")

    rows = json.loads(path.read_text(), parse_float=Decimal)["responses"]["200"]["body"]["properties"]["rows"]
    assert Decimal(spend.amount_usd) == sum(row[0] for row in rows)
    assert spend.amount_usd.startswith("220.94")


def test_next_link_paging_onto_the_configured_endpoint(cost: Any) -> None:
    fake, server, client = cost
    fake.page_size = 1
    fake.set_rows([[1, "USD"], [2, "USD"], [Decimal("0.5"), "USD"]])

    assert client.month_to_date({"team": "payments"}, "2026-11-17").amount_usd == "3.5"

    assert len(server.requests) == 3
    assert fake.served_links[0].startswith("https://management.azure.com/subscriptions/")
    assert [request.query.get("$skiptoken") for request in server.requests] == [None, ["1"], ["2"]]
    assert all(body == fake.queries[0][1] for _, body in fake.queries)  # the same query on every page


def test_non_usd_costs_are_malformed(cost: Any) -> None:
    fake, _, client = cost
    fake.set_rows([[10, "EUR"]])
    with pytest.raises(MalformedResponse, match="EUR"):
        client.month_to_date({}, "2026-11-17")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway error page</html>",
        b"[1]",
        b'{"properties": {"columns": [], "rows": [[1]]}}',
        b'{"properties": {"columns": [{"name": "Cost"}, {"name": "Currency"}], "rows": [["7", "USD"]]}}',
        b'{"properties": {"columns": [{"name": "Cost"}], "rows": [[7]]}}',
    ],
    ids=["not-json", "not-object", "no-cost-column", "cost-not-number", "no-currency"],
)
def test_malformed_cost_responses(cost: Any, body: bytes) -> None:
    _, server, client = cost
    server.fail_next(Fault(200, body))
    with pytest.raises(MalformedResponse):
        client.month_to_date({}, "2026-11-17")


def test_unreachable_management_endpoint_is_unavailable(cost: Any) -> None:
    _, server, _ = cost
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AzureSpendClient(settings("azure_management", f"https://127.0.0.1:{port}"), credential=StaticCredential(),
                              subscription_id=SUBSCRIPTION, connection_verify=server.cert_file)
    with pytest.raises(ProviderUnavailable, match="ServiceRequestError"):
        client.month_to_date({}, "2026-11-17")


def test_401_is_a_credentials_error(cost: Any) -> None:
    fake, _, client = cost
    fake.reject_auth = True
    with pytest.raises(CredentialsError) as caught:
        client.month_to_date({}, "2026-11-17")
    assert "static-test-token" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_refusing_credential_is_a_credentials_error(cost: Any) -> None:
    _, server, _ = cost
    client = spend_client(server, credential=RefusingCredential())
    with pytest.raises(CredentialsError, match="AADSTS700016") as caught:
        client.month_to_date({}, "2026-11-17")
    assert "\n" not in str(caught.value)
    assert server.requests == []  # the token failed before any request was sent


def test_missing_subscription_is_a_credentials_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    client = AzureSpendClient(ClientSettings(), credential=StaticCredential())
    with pytest.raises(CredentialsError, match="AZURE_SUBSCRIPTION_ID"):
        client.month_to_date({}, "2026-11-17")


def test_throttled_twice_then_served_by_azure_core_retries(cost: Any) -> None:
    fake, server, client = cost
    fake.set_rows([[5, "USD"]])
    server.fail_next(Fault(429, headers={"Retry-After": "0"}), Fault(429, headers={"Retry-After": "0"}))
    assert client.month_to_date({}, "2026-11-17").amount_usd == "5"
    assert len(server.requests) == 3


def test_throttled_without_retry_after_is_retried_by_us(cost: Any) -> None:
    fake, server, client = cost
    fake.set_rows([[5, "USD"]])
    server.fail_next(Fault(429, {"error": {"code": "429", "message": "Too many requests"}}))
    assert client.month_to_date({}, "2026-11-17").amount_usd == "5"
    assert len(server.requests) == 2


def test_persistent_500_is_unavailable_after_azure_core_retries(cost: Any) -> None:
    _, server, client = cost
    server.fail_next(*[Fault(500, {"error": {"code": "InternalServerError", "message": "x"}})] * 5)
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        client.month_to_date({}, "2026-11-17")
    assert len(server.requests) == 3  # retry_total = attempts - 1


def test_cost_hang_past_the_read_timeout(cost: Any) -> None:
    _, server, _ = cost
    client = spend_client(server, read=0.3)
    server.fail_next(Fault(200, hang_seconds=1.0))
    with pytest.raises(ProviderTimeout, match="read timeout 0.3s"):
        client.month_to_date({}, "2026-11-17")


# -- import hygiene ---------------------------------------------------------------------------


def test_importing_the_module_loads_no_sdk_and_no_urllib_request() -> None:
    code = (
        "import sys, tollgate.providers.live.azure\n"
        "loaded = [m for m in sys.modules if m == 'azure' or m.startswith('azure.') or m == 'urllib.request']\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_odata_filter_is_url_encoded(retail: Any) -> None:
    _, server, client = retail
    client.fetch("eastus", "Standard_D2_v5", ALL)
    raw = urlsplit(client._first_url("eastus", "Standard_D2_v5")).query
    assert " " not in raw and "%20eq%20" in raw
    assert parse_qs(raw)["$filter"] == server.requests[0].query["$filter"]

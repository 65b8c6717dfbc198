"""AwsPriceClient / AwsSpendClient through real boto3 over real HTTP to the AWS fake on 127.0.0.1.

Retry budgets are kept small: botocore's standard mode sleeps rand(0,1) s before the first retry
and rand(0,2) s before the second, whatever RetryPolicy's delays say.
"""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fakes.aws_fake import AwsFake, ec2_error, json_error, server_error, throttling
from tests.fakes.loopback import Fault, LoopbackServer, Reply, Request
from tollgate.providers.live.aws import AwsPriceClient, AwsSpendClient
from tollgate.providers.live.base import (
    ON_DEMAND,
    RESERVED_1Y,
    RESERVED_3Y,
    SPOT,
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

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "pricing" / "api-samples"
ACCESS_KEY_ID = "AKIAFAKEFAKEFAKEFAKE"
LIST_OPTIONS = frozenset({ON_DEMAND, RESERVED_1Y, RESERVED_3Y})
ALL_OPTIONS = LIST_OPTIONS | {SPOT}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake static credentials and nothing else: no profile, no files, no instance metadata."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_") or name == "BOTO_CONFIG":
            monkeypatch.delenv(name)
    missing = tmp_path / "does-not-exist"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    monkeypatch.setenv("BOTO_CONFIG", str(missing))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake() -> AwsFake:
    return AwsFake()


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackServer]:
    # One server for the module: stopping one takes up to its 0.5 s poll interval.
    with LoopbackServer(lambda request: Reply(599, "no handler")) as running:
        yield running


@pytest.fixture
def server(loopback: LoopbackServer, fake: AwsFake) -> Iterator[LoopbackServer]:
    """The module's server, serving this test's fake with an empty log and no faults queued."""
    loopback.handle = fake.handle
    loopback.faults.clear()
    loopback.requests.clear()
    yield loopback
    loopback.faults.clear()


def settings_for(url: str | None, attempts: int = 3) -> ClientSettings:
    urls = {"aws_pricing": url, "aws_ec2": url, "aws_ce": url} if url else {}
    return ClientSettings(
        endpoints=Endpoints(urls),
        timeouts=Timeouts(connect=1, read=0.5, lookup=5),
        retry=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05),
    )


@functools.lru_cache(maxsize=1)
def _data_loader() -> Any:
    import botocore.session

    return botocore.session.Session().get_component("data_loader")


def fresh_session() -> Any:
    """A new boto3 Session (so credentials resolve from this test's environment) sharing one
    botocore data loader, so each test does not re-read the EC2 service model (~0.2 s)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", _data_loader())
    return boto3.session.Session(botocore_session=core)


def price_client(settings: ClientSettings) -> AwsPriceClient:
    return AwsPriceClient(settings, session=fresh_session())


def spend_client(settings: ClientSettings) -> AwsSpendClient:
    return AwsSpendClient(settings, session=fresh_session())


def by_option(quotes: list[LiveQuote]) -> dict[str, LiveQuote]:
    return {quote.option: quote for quote in quotes}


def target(request: Request) -> str:
    return request.headers.get("x-amz-target") or request.form().get("Action", "")


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"../shared api-sample {name} not present")
    return path


def canned(body: bytes | str | Any, content_type: str = "application/x-amz-json-1.1") -> Any:
    """A handler that answers every request with the same payload."""
    return lambda request: Reply(200, body, {"Content-Type": content_type})


# --------------------------------------------------------------------------- Price List


def test_on_demand_and_reserved_with_filters_sent(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096", reserved_1y_no_upfront="0.06", reserved_3y_no_upfront="0.041",
                     reserved_1y_all_upfront_fee="494", reserved_3y_all_upfront_fee="949")
    fake.add_product("us-west-2", "m5.large", "0.2")  # other region: the regionCode filter must drop it
    fake.add_product("us-east-1", "m5.xlarge", "0.192")

    quotes = by_option(price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", LIST_OPTIONS))

    assert quotes[ON_DEMAND] == LiveQuote("aws", "us-east-1", "m5.large", ON_DEMAND, "0.096", "aws-pricing", "2026-11-01")
    # All Upfront amortised, like the bundled catalog: 494 / 8760 = 0.05639269406...; 949 / 26280 = 0.03611111111...
    assert quotes[RESERVED_1Y].hourly_usd == "0.0563926941"
    assert quotes[RESERVED_1Y].detail == "standard all-upfront $494 amortised over 8760 h; no-upfront $0.0600/h"
    assert quotes[RESERVED_3Y].hourly_usd == "0.0361111111"
    assert quotes[RESERVED_3Y].detail == "standard all-upfront $949 amortised over 26280 h; no-upfront $0.0410/h"
    assert set(quotes) == LIST_OPTIONS

    [request] = server.requests  # one GetProducts answers on-demand and both reserved terms
    assert request.headers["x-amz-target"] == "AWSPriceListService.GetProducts"
    assert request.headers["content-type"].startswith("application/x-amz-json-1.1")
    assert AwsFake.region_of(request) == "us-east-1"
    body = request.json()
    assert body["ServiceCode"] == "AmazonEC2" and body["FormatVersion"] == "aws_v1"
    assert sorted((f["Type"], f["Field"], f["Value"]) for f in body["Filters"]) == sorted(
        [
            ("TERM_MATCH", "instanceType", "m5.large"),
            ("TERM_MATCH", "regionCode", "us-east-1"),
            ("TERM_MATCH", "operatingSystem", "Linux"),
            ("TERM_MATCH", "tenancy", "Shared"),
            ("TERM_MATCH", "preInstalledSw", "NA"),
            ("TERM_MATCH", "capacitystatus", "Used"),
        ]
    )


def test_no_upfront_when_there_is_no_all_upfront_offer(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("eu-west-1", "c6i.large", "0.0948", reserved_1y_no_upfront="0.06")

    quotes = by_option(price_client(settings_for(server.url)).fetch("eu-west-1", "c6i.large", LIST_OPTIONS))

    assert quotes[RESERVED_1Y].hourly_usd == "0.06"
    assert quotes[RESERVED_1Y].detail == "standard no-upfront; no all-upfront offer"
    assert RESERVED_3Y not in quotes  # no 3-year offer at all: no quote, not an error
    assert quotes[ON_DEMAND].hourly_usd == "0.0948"


def test_only_requested_options_and_no_pricing_call_for_spot_only(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096", reserved_1y_no_upfront="0.06")
    fake.add_spot("us-east-1", "us-east-1a", "m5.large", "0.040000", "2026-11-21T10:00:00Z")
    client = price_client(settings_for(server.url))

    assert [q.option for q in client.fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))] == [ON_DEMAND]
    assert [q.option for q in client.fetch("us-east-1", "m5.large", frozenset({SPOT}))] == [SPOT]
    assert [target(r) for r in server.requests] == ["AWSPriceListService.GetProducts", "DescribeSpotPriceHistory"]


def test_verbatim_api_sample_item(server: LoopbackServer) -> None:
    server.handle = canned(sample("aws_pricing_get_products.json").read_bytes())

    quotes = by_option(price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", LIST_OPTIONS))

    # OnDemand JRTCKXETXF 0.0960000000 (2021-02-01). Standard 1yr: No Upfront 4NA7Y494T4 0.06,
    # All Upfront 6QCMYABX3D $494 -> 494/8760. Standard 3yr: No Upfront BPH4J8HBKS 0.041, All
    # Upfront NQ3QZPMQV9 $949 -> 949/26280. Convertible and Partial Upfront terms are ignored.
    assert quotes[ON_DEMAND].hourly_usd == "0.096" and quotes[ON_DEMAND].effective == "2021-02-01"
    assert quotes[RESERVED_1Y].hourly_usd == "0.0563926941" and quotes[RESERVED_1Y].effective == "2020-04-01"
    assert quotes[RESERVED_1Y].detail == "standard all-upfront $494 amortised over 8760 h; no-upfront $0.0600/h"
    assert quotes[RESERVED_3Y].hourly_usd == "0.0361111111" and quotes[RESERVED_3Y].effective == "2020-04-01"
    assert quotes[RESERVED_3Y].detail == "standard all-upfront $949 amortised over 26280 h; no-upfront $0.0410/h"


def test_pricing_pages_and_prefers_the_plain_runinstances_product(fake: AwsFake, server: LoopbackServer) -> None:
    # Both match the filters (licenseModel and operation are not filtered); the plain one is on page 2.
    fake.add_product("us-east-1", "m5.large", "0.5", decoys=False, license_model="Bring your own license", operation="RunInstances:0800")
    fake.add_product("us-east-1", "m5.large", "0.096")
    fake.page_size = 1

    quotes = price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert [q.hourly_usd for q in quotes] == ["0.096"]
    assert len(server.requests) == 2
    assert "NextToken" not in server.requests[0].json() and server.requests[1].json()["NextToken"]


def test_unknown_type_is_an_empty_list(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    fake.add_spot("us-east-1", "us-east-1a", "m5.large", "0.04", "2026-11-21T10:00:00Z")

    assert price_client(settings_for(server.url)).fetch("us-east-1", "m99.huge", ALL_OPTIONS) == []
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- spot


def test_spot_api_sample_median_of_latest_per_zone(fake: AwsFake, server: LoopbackServer) -> None:
    rows = json.loads(sample("aws_ec2_describe_spot_price_history.json").read_text())["SpotPriceHistory"]
    for row in rows:
        fake.add_spot("us-east-1", row["AvailabilityZone"], row["InstanceType"], row["SpotPrice"], row["Timestamp"])
    fake.add_spot("eu-west-1", "eu-west-1a", "m5.large", "0.001", "2021-02-09T02:00:00Z")  # other region
    fake.spot_honours_start_time = False  # serve the whole recorded history, old rows included

    quotes = price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", frozenset({SPOT}))

    # Latest per zone: 1f 0.0437 (02-09 01:40; not 0.0435 from 02-08), 1a 0.0423, 1b 0.0389,
    # 1c 0.0381 (20:38; not 0.0380 from 19:14). Sorted 0.0381 0.0389 0.0423 0.0437: four zones,
    # median = (0.0389 + 0.0423) / 2 = 0.0406; cheapest us-east-1c; newest stamp 2021-02-09.
    assert quotes == [
        LiveQuote("aws", "us-east-1", "m5.large", SPOT, "0.0406", "aws-ec2-spot", "2021-02-09", "median of 4 zones; cheapest us-east-1c $0.0381")
    ]
    [request] = server.requests
    form = request.form()
    assert form["Action"] == "DescribeSpotPriceHistory" and form["Version"] == "2016-11-15"
    assert form["InstanceType.1"] == "m5.large" and form["ProductDescription.1"] == "Linux/UNIX"
    assert form["StartTime"].startswith("20")
    assert AwsFake.region_of(request) == "us-east-1"


def test_spot_pages_and_start_time_keeps_the_price_in_effect(fake: AwsFake, server: LoopbackServer) -> None:
    for zone, price in zip("abcde", ["0.05", "0.03", "0.04", "0.07", "0.01"]):
        fake.add_spot("us-west-2", f"us-west-2{zone}", "c5.large", price, "2026-11-20T08:00:00Z")
        fake.add_spot("us-west-2", f"us-west-2{zone}", "c5.large", "9.99", "2026-11-10T08:00:00Z")  # superseded
    fake.page_size = 2

    [quote] = price_client(settings_for(server.url)).fetch("us-west-2", "c5.large", frozenset({SPOT}))

    # 0.01 0.03 0.04 0.05 0.07 -> median 0.04 (odd count: the middle value)
    assert (quote.hourly_usd, quote.detail, quote.effective) == ("0.04", "median of 5 zones; cheapest us-west-2e $0.0100", "2026-11-20")
    assert len(server.requests) == 3
    assert server.requests[2].form()["NextToken"]


def test_concurrent_fetches_share_one_client(fake: AwsFake, server: LoopbackServer) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"]
    for index, region in enumerate(regions):
        fake.add_product(region, "m5.large", f"0.1{index + 1}")
        fake.add_spot(region, f"{region}a", "m5.large", f"0.0{index + 1}", "2026-11-21T00:00:00Z")
    client = price_client(settings_for(server.url))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda region: client.fetch(region, "m5.large", frozenset({ON_DEMAND, SPOT})), regions))

    for index, quotes in enumerate(results):
        assert [(q.option, q.hourly_usd) for q in quotes] == [(ON_DEMAND, f"0.1{index + 1}"), (SPOT, f"0.0{index + 1}")]


# --------------------------------------------------------------------------- faults


def test_throttling_twice_then_success(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    server.fail_next(throttling(), throttling())

    quotes = price_client(settings_for(server.url, attempts=3)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert [q.hourly_usd for q in quotes] == ["0.096"]
    assert len(server.requests) == 3


def test_persistent_5xx_is_unavailable(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    server.fail_next(*[server_error(503) for _ in range(5)])

    with pytest.raises(ProviderUnavailable) as caught:
        price_client(settings_for(server.url, attempts=2)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert caught.value.provider == "aws-pricing"
    assert "HTTP 503" in caught.value.message and "2 attempts" in caught.value.message
    assert len(server.requests) == 2  # RetryPolicy.attempts counts the first request


def test_persistent_ec2_throttling_is_unavailable(server: LoopbackServer) -> None:
    server.fail_next(ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503))

    with pytest.raises(ProviderUnavailable) as caught:
        price_client(settings_for(server.url, attempts=1)).fetch("us-east-1", "m5.large", frozenset({SPOT}))

    assert caught.value.provider == "aws-ec2-spot" and "RequestLimitExceeded" in caught.value.message


def test_hang_past_the_read_timeout(fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    server.fail_next(Fault(200, b"{}", hang_seconds=1.0), Fault(200, b"{}", hang_seconds=1.0))

    with pytest.raises(ProviderTimeout) as caught:
        price_client(settings_for(server.url, attempts=2)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert caught.value.message == "read timeout 0.5s"
    assert len(server.requests) == 2  # botocore retries a read timeout like a 5xx


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ProviderUnavailable) as caught:
        price_client(settings_for(f"http://127.0.0.1:{port}", attempts=1)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert "connection failed" in caught.value.message


@pytest.mark.parametrize(
    "payload",
    [
        {"FormatVersion": "aws_v1", "PriceList": ["{not json"]},
        {"FormatVersion": "aws_v1", "PriceList": [json.dumps({"product": {"attributes": {"instanceType": "m5.large"}}})]},  # no terms
        {"FormatVersion": "aws_v1", "PriceList": [json.dumps({"product": {"attributes": {}}, "terms": {"OnDemand": {"X": {"priceDimensions": {"Y": {"unit": "Hrs", "pricePerUnit": {"USD": "cheap"}}}, "effectiveDate": "2026-11-01T00:00:00Z"}}}})]},
        {"FormatVersion": "aws_v1"},  # no PriceList at all
    ],
    ids=["item-not-json", "missing-terms", "price-not-a-number", "missing-pricelist"],
)
def test_malformed_price_list(server: LoopbackServer, payload: dict[str, Any]) -> None:
    server.handle = canned(payload)

    with pytest.raises(MalformedResponse) as caught:
        price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert caught.value.provider == "aws-pricing"


def test_malformed_spot_xml(server: LoopbackServer) -> None:
    server.handle = canned("<DescribeSpotPriceHistoryResponse><spotPriceHistory", "text/xml")

    with pytest.raises(MalformedResponse):
        price_client(settings_for(server.url, attempts=1)).fetch("us-east-1", "m5.large", frozenset({SPOT}))


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("keep", [(), ("AWS_ACCESS_KEY_ID",)], ids=["none", "partial"])
def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer, keep: tuple[str, ...]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if name not in keep:
            monkeypatch.delenv(name)

    with pytest.raises(CredentialsError) as caught:
        price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", ALL_OPTIONS)

    assert ACCESS_KEY_ID not in str(caught.value) and "\n" not in str(caught.value)
    assert server.requests == []  # nothing unsigned went out


def test_rejected_credentials_never_echo_key_material(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    server.handle = lambda request: Reply(
        403,
        {"__type": "UnrecognizedClientException", "message": f"The security token included in the request is invalid. Credential={ACCESS_KEY_ID}/20261122"},
        {"Content-Type": "application/x-amz-json-1.1"},
    )

    with pytest.raises(CredentialsError) as caught:
        price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    text = str(caught.value)
    assert "UnrecognizedClientException" in text and "HTTP 403" in text
    assert ACCESS_KEY_ID not in text and secret not in text and "\n" not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no botocore message in tracebacks
    assert len(server.requests) == 1  # a 403 is not retried


def test_ec2_auth_failure_is_a_credentials_error(server: LoopbackServer) -> None:
    server.fail_next(ec2_error("AuthFailure", "AWS was not able to validate the provided access credentials", 401))

    with pytest.raises(CredentialsError) as caught:
        price_client(settings_for(server.url)).fetch("us-east-1", "m5.large", frozenset({SPOT}))

    assert caught.value.provider == "aws-ec2-spot"


# --------------------------------------------------------------------------- endpoints


def test_endpoint_from_environment_when_settings_are_silent(monkeypatch: pytest.MonkeyPatch, fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", server.url)

    quotes = AwsPriceClient(settings_for(None)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert [q.hourly_usd for q in quotes] == ["0.096"] and len(server.requests) == 1


def test_settings_endpoint_wins_over_environment(monkeypatch: pytest.MonkeyPatch, fake: AwsFake, server: LoopbackServer) -> None:
    fake.add_product("us-east-1", "m5.large", "0.096")
    monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", "http://127.0.0.1:9")  # discard port: would fail

    quotes = price_client(settings_for(server.url, attempts=1)).fetch("us-east-1", "m5.large", frozenset({ON_DEMAND}))

    assert [q.hourly_usd for q in quotes] == ["0.096"]


# --------------------------------------------------------------------------- Cost Explorer


def test_month_to_date_with_tag_filter(fake: AwsFake, server: LoopbackServer) -> None:
    fake.set_spend("12.50", {"team": "payments", "env": "prod"})
    fake.set_spend("3.25", {"team": "payments", "env": "dev"})
    fake.set_spend("100")  # untagged
    client = spend_client(settings_for(server.url))

    spend = client.month_to_date({"team": "payments", "env": "prod"}, "2026-11-22")

    assert (spend.amount_usd, spend.period_start, spend.period_end, spend.api) == ("12.5", "2026-11-01", "2026-11-22", "aws-ce")
    assert dict(spend.filter) == {"team": "payments", "env": "prod"}
    body = server.requests[0].json()
    assert server.requests[0].headers["x-amz-target"] == "AWSInsightsIndexService.GetCostAndUsage"
    assert body["TimePeriod"] == {"Start": "2026-11-01", "End": "2026-11-22"}
    assert body["Granularity"] == "MONTHLY" and body["Metrics"] == ["UnblendedCost"]
    assert body["Filter"] == {
        "And": [
            {"Tags": {"Key": "env", "Values": ["prod"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "team", "Values": ["payments"], "MatchOptions": ["EQUALS"]}},
        ]
    }

    assert client.month_to_date({"team": "payments"}, "2026-11-22").amount_usd == "15.75"
    assert server.requests[1].json()["Filter"] == {"Tags": {"Key": "team", "Values": ["payments"], "MatchOptions": ["EQUALS"]}}
    assert client.month_to_date({}, "2026-11-22").amount_usd == "115.75"
    assert "Filter" not in server.requests[2].json()


def test_month_to_date_on_the_first_of_the_month(fake: AwsFake, server: LoopbackServer) -> None:
    fake.set_spend("0")

    spend = spend_client(settings_for(server.url)).month_to_date({}, "2026-12-01")

    assert (spend.period_start, spend.period_end, spend.amount_usd) == ("2026-12-01", "2026-12-02", "0")


def test_cost_explorer_api_sample_grouped(server: LoopbackServer) -> None:
    server.handle = canned(sample("aws_ce_get_cost_and_usage.json").read_bytes())

    spend = spend_client(settings_for(server.url)).month_to_date({"Environment": "Dev"}, "2026-11-22")

    # Total is {} because the sample is grouped: 40.3543773134 + 0.2682364644 = 40.6226137778
    assert spend.amount_usd == "40.6226137778"


def test_cost_explorer_pages(server: LoopbackServer) -> None:
    def result(amount: str) -> dict[str, Any]:
        return {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-22"}, "Total": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}, "Groups": [], "Estimated": True}

    def pages(request: Request) -> Reply:
        token = request.json().get("NextPageToken")
        body = {"ResultsByTime": [result("1.10")], "NextPageToken": "page-2"} if token is None else {"ResultsByTime": [result("2.20")]}
        return Reply(200, body, {"Content-Type": "application/x-amz-json-1.1"})

    server.handle = pages

    assert spend_client(settings_for(server.url)).month_to_date({}, "2026-11-22").amount_usd == "3.3"
    assert [r.json().get("NextPageToken") for r in server.requests] == [None, "page-2"]


def test_cost_explorer_rejects_a_non_usd_amount(server: LoopbackServer) -> None:
    body = {"ResultsByTime": [{"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-22"}, "Total": {"UnblendedCost": {"Amount": "7", "Unit": "CNY"}}, "Groups": []}]}
    server.handle = canned(body)

    with pytest.raises(MalformedResponse) as caught:
        spend_client(settings_for(server.url)).month_to_date({}, "2026-11-22")

    assert caught.value.provider == "aws-ce"


def test_cost_explorer_throttling_is_retried(fake: AwsFake, server: LoopbackServer) -> None:
    fake.set_spend("5")
    server.fail_next(json_error("LimitExceededException", "Rate exceeded"))

    assert spend_client(settings_for(server.url, attempts=2)).month_to_date({}, "2026-11-22").amount_usd == "5"
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- import cost


def test_importing_the_module_does_not_import_boto3() -> None:
    code = "import sys, tollgate.providers.live.aws; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_sagemaker_types_are_not_asked_of_the_ec2_price_list(server: LoopbackServer) -> None:
    assert price_client(settings_for(server.url)).fetch("us-east-1", "ml.g5.xlarge", LIST_OPTIONS) == []
    assert server.requests == []

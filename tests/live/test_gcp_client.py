"""GcpPriceClient through the real google-cloud-billing SDK (REST transport) over real HTTP to the
Cloud Billing fake on 127.0.0.1, with anonymous credentials injected (one test runs the ADC path).

Machine shapes come from the bundled catalog, as in production. Timeouts and retry delays are
kept tiny so the whole file runs in a few seconds.
"""

from __future__ import annotations

import datetime
import json
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from google.auth.credentials import AnonymousCredentials

from tests.fakes.gcp_fake import SAMPLE, SKUS_PATH, GcpBillingFake, hang, permission_denied, throttled, unauthenticated, unavailable
from tests.fakes.loopback import Fault
from tollgate.providers.bundled import BundledCatalog
from tollgate.providers.live.base import (
    ON_DEMAND,
    RESERVED_1Y,
    RESERVED_3Y,
    SPOT,
    ClientSettings,
    CredentialsError,
    Endpoints,
    LiveQuote,
    MachineShape,
    MalformedResponse,
    ProviderTimeout,
    ProviderUnavailable,
    RetryPolicy,
    Timeouts,
)
from tollgate.providers.live.gcp import GcpPriceClient

REPO = Path(__file__).resolve().parents[2]
ALL = frozenset({ON_DEMAND, SPOT, RESERVED_1Y, RESERVED_3Y})
US = ["us-central1", "us-east1"]
CATALOG = BundledCatalog()

needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared/pricing/api-samples is not present")

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
FAST_TIMEOUTS = Timeouts(connect=1.0, read=0.5, lookup=5.0)


def catalog_shape(provider: str, instance_type: str) -> MachineShape | None:
    spec = CATALOG.spec(provider, instance_type)
    if spec is None:
        return None
    return MachineShape(spec.vcpu, spec.memory_gib, spec.gpu_count, spec.gpu_model)


def make_client(url: str, credentials: Any = "anonymous", timeouts: Timeouts = FAST_TIMEOUTS) -> GcpPriceClient:
    settings = ClientSettings(endpoints=Endpoints({"gcp_billing": url}), timeouts=timeouts, retry=FAST_RETRY)
    return GcpPriceClient(settings, catalog_shape, AnonymousCredentials() if credentials == "anonymous" else credentials)


@pytest.fixture(scope="module")
def running_fake() -> Iterator[GcpBillingFake]:
    with GcpBillingFake() as server:
        yield server


@pytest.fixture
def fake(running_fake: GcpBillingFake) -> GcpBillingFake:
    """The module's fake, emptied: one server for the file (each shutdown costs up to 0.5 s)."""
    running_fake.reset()
    return running_fake


def by_option(quotes: list[LiveQuote]) -> dict[str, LiveQuote]:
    options = [quote.option for quote in quotes]
    assert len(options) == len(set(options)), quotes
    return {quote.option: quote for quote in quotes}


# --- the recorded sample, verbatim ----------------------------------------------------------------


@needs_sample
def test_verbatim_sample_composes_a2_highgpu_1g(fake: GcpBillingFake) -> None:
    fake.load_sample()
    spec = CATALOG.spec("gcp", "a2-highgpu-1g")
    assert spec is not None and (spec.vcpu, spec.memory_gib, spec.gpu_count, spec.gpu_model) == (12, 85, 1, "A100-40GB")

    quotes = make_client(fake.url).fetch("us-central1", "a2-highgpu-1g", frozenset({ON_DEMAND}))

    expected = 12 * Decimal("0.031611") + 85 * Decimal("0.004237") + 1 * Decimal("2.933908")
    assert quotes == [
        LiveQuote(
            provider="gcp",
            region="us-central1",
            instance_type="a2-highgpu-1g",
            option=ON_DEMAND,
            hourly_usd="3.673385",
            api="gcp-billing",
            effective="2023-03-24",
            detail="composed: 12 vCPU × $0.031611 + 85 GiB × $0.004237 + 1 A100 × $2.933908",
        )
    ]
    assert Decimal(quotes[0].hourly_usd) == expected  # and the bundled catalog says 3.673385 too


@needs_sample
def test_the_request_is_what_the_rest_transport_sends(fake: GcpBillingFake) -> None:
    fake.load_sample()
    make_client(fake.url).fetch("us-central1", "a2-highgpu-1g", ALL)

    (request,) = fake.requests
    assert request.method == "GET"
    assert request.path == "/v1/services/6F81-5844-456A/skus" == SKUS_PATH
    assert request.query == {"currencyCode": ["USD"], "pageSize": ["5000"], "$alt": ["json;enum-encoding=int"]}
    assert request.headers["x-goog-request-params"] == "parent=services/6F81-5844-456A"
    assert "authorization" not in request.headers  # anonymous credentials add none


@needs_sample
def test_verbatim_sample_converts_idr_priced_t2d_to_usd(fake: GcpBillingFake) -> None:
    fake.load_sample()
    rate = Decimal("14999.999925")  # currencyConversionRate: USD × rate = IDR
    core = (Decimal("508.934997455") / rate).quantize(Decimal("1e-9"))
    ram = (Decimal("68.204999658") / rate).quantize(Decimal("1e-9"))

    (quote,) = make_client(fake.url).fetch("asia-southeast1", "t2d-standard-4", ALL)

    assert quote.option == ON_DEMAND
    assert Decimal(quote.hourly_usd) == 4 * core + 16 * ram
    assert abs(Decimal(quote.hourly_usd) - (4 * Decimal("508.934997455") + 16 * Decimal("68.204999658")) / rate) < Decimal("1e-7")
    assert quote.hourly_usd == "0.208468"
    assert quote.detail == "composed: 4 vCPU × $0.033929 + 16 GiB × $0.004547; converted from IDR at 14999.999925 per USD"
    # The sample spells "EffectiveTime" (capital E): not a field of the schema, so the SDK's
    # parser (ignore_unknown_fields) drops it and the price has no date.
    assert quote.effective == ""


@needs_sample
def test_shared_core_types_are_left_to_the_bundled_catalog(fake: GcpBillingFake) -> None:
    fake.load_sample()  # has E2 core and RAM rates for us-central1
    client = make_client(fake.url)

    assert client.fetch("us-central1", "e2-medium", ALL) == []
    assert client.fetch("us-central1", "f1-micro", ALL) == []
    assert [quote.option for quote in client.fetch("us-central1", "e2-standard-4", ALL)] == [ON_DEMAND]


# --- composing from family rates -------------------------------------------------------------------


def test_n1_machine_and_an_attached_t4(fake: GcpBillingFake) -> None:
    fake.add_family_rates("N1 Predefined Instance", US, core="0.031611", ram="0.004237")
    fake.add_family_rates("N1 Predefined Instance", US, core="0.00698", ram="0.00094", usage="Preemptible")
    fake.add_gpu("Nvidia Tesla T4", US, "0.35")
    fake.add_gpu("Nvidia Tesla T4", US, "0.14", "Preemptible")
    fake.add_gpu("Nvidia Tesla V100", US, "2.48")
    client = make_client(fake.url)

    machine = by_option(client.fetch("us-east1", "n1-standard-4", ALL))
    gpus = by_option(client.accelerator_fetch("us-east1", "nvidia-tesla-t4", ALL))

    assert machine[ON_DEMAND].hourly_usd == "0.189999"  # the bundled catalog's n1-standard-4 price
    assert machine[SPOT].hourly_usd == str(4 * Decimal("0.00698") + 15 * Decimal("0.00094"))
    assert set(gpus) == {ON_DEMAND, SPOT}
    assert (gpus[ON_DEMAND].instance_type, gpus[ON_DEMAND].hourly_usd) == ("nvidia-tesla-t4", "0.35")
    assert gpus[SPOT].hourly_usd == "0.14"
    assert "Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas" in gpus[SPOT].detail
    assert client.accelerator_fetch("us-east1", "nvidia-tesla-p4", ALL) == []
    assert client.accelerator_fetch("europe-west4", "nvidia-tesla-t4", ALL) == []


def test_spot_and_one_and_three_year_commitments(fake: GcpBillingFake) -> None:
    rates = {"OnDemand": ("0.031611", "0.004237"), "Preemptible": ("0.0095", "0.0013"), "Commit1Yr": ("0.019915", "0.002669"), "Commit3Yr": ("0.014225", "0.001907")}
    for usage, (core, ram) in rates.items():
        fake.add_family_rates("N2 Instance", US, core=core, ram=ram, usage=usage)
        fake.add_family_rates("Compute optimized", US, core=core, ram=ram, usage=usage)
    descriptions = {sku["description"] for sku in fake.skus}
    assert "Commitment v1: N2 Cpu in Americas for 1 Year" in descriptions
    assert "Commitment: Compute optimized Ram running in Americas for 3 Years" in descriptions
    client = make_client(fake.url)

    for machine in ("n2-standard-8", "c2-standard-8"):  # both 8 vCPU, 32 GiB
        quotes = by_option(client.fetch("us-central1", machine, frozenset({SPOT})))
        options = {ON_DEMAND: "OnDemand", SPOT: "Preemptible", RESERVED_1Y: "Commit1Yr", RESERVED_3Y: "Commit3Yr"}
        assert set(quotes) == set(options)  # one download holds every option: all are returned
        for option, usage in options.items():
            core, ram = rates[usage]
            assert Decimal(quotes[option].hourly_usd) == 8 * Decimal(core) + 32 * Decimal(ram), (machine, option)
            assert quotes[option].effective == "2026-11-01"


def test_g2_bundles_its_l4_gpus(fake: GcpBillingFake) -> None:
    fake.add_family_rates("G2 Instance", US, core="0.024988", ram="0.002927")
    fake.add_gpu("Nvidia L4", US, "0.560040")
    client = make_client(fake.url)

    (quote,) = client.fetch("us-central1", "g2-standard-4", ALL)

    assert Decimal(quote.hourly_usd) == 4 * Decimal("0.024988") + 16 * Decimal("0.002927") + Decimal("0.56004")
    assert quote.detail == "composed: 4 vCPU × $0.024988 + 16 GiB × $0.002927 + 1 L4 × $0.56004"


@needs_sample
def test_a_missing_part_drops_that_option_and_never_prices_it_lower(fake: GcpBillingFake) -> None:
    fake.load_sample()  # A2 core/RAM and the A100, on demand only
    fake.add_family_rates("A2 Instance", ["us-central1"], core="0.0096", ram="0.0013", usage="Preemptible")
    client = make_client(fake.url)

    quotes = client.fetch("us-central1", "a2-highgpu-1g", ALL)

    assert [quote.option for quote in quotes] == [ON_DEMAND]  # no spot A100 SKU, so no spot price
    assert client.fetch("us-central1", "a2-ultragpu-1g", ALL) == []  # no A100 80GB SKU at all


def test_skus_that_are_not_a_predefined_vm_price_are_ignored(fake: GcpBillingFake) -> None:
    expensive = "9.99"
    fake.add_sku("N2 Custom Instance Core running in Americas", "CPU", "OnDemand", US, expensive)
    fake.add_sku("N2 Custom Extended Instance Ram running in Americas", "RAM", "OnDemand", US, expensive, "GiBy.h")
    fake.add_sku("N2 Sole Tenancy Instance Core running in Americas", "CPU", "OnDemand", US, expensive)
    fake.add_sku("Nvidia Tesla T4 Virtual Workstation GPU running in Americas", "GPU", "OnDemand", US, expensive)
    fake.add_sku("N2 Instance Ram running in Americas", "RAM", "OnDemand", US, expensive, "GiBy.mo")  # not hourly
    fake.add_sku("N2 Instance Core running in Americas", "CPU", "Commit5Yr", US, expensive)  # unknown usage
    licence = fake.add_sku("Licensing Fee for Windows Server on VM with 8 VCPU", "Google", "OnDemand", US, expensive)
    licence["category"]["resourceFamily"] = "License"
    fake.add_family_rates("N2 Instance", US, core="0.031611", ram="0.004237")
    fake.add_gpu("Nvidia Tesla T4", US, "0.35")
    client = make_client(fake.url)

    (quote,) = client.fetch("us-central1", "n2-standard-8", ALL)

    assert quote.hourly_usd == str(8 * Decimal("0.031611") + 32 * Decimal("0.004237"))
    assert [q.hourly_usd for q in client.accelerator_fetch("us-central1", "nvidia-tesla-t4", ALL)] == ["0.35"]


def test_unknown_family_or_machine_gives_nothing_and_downloads_nothing(fake: GcpBillingFake) -> None:
    fake.add_family_rates("N2 Instance", US, core="0.031611", ram="0.004237")
    client = make_client(fake.url)

    assert client.fetch("us-central1", "t2a-standard-4", ALL) == []  # Arm: family not composed
    assert client.fetch("us-central1", "m3-ultramem-32", ALL) == []
    assert client.fetch("us-central1", "a3-megagpu-8g", ALL) == []  # A3Plus/Mega SKUs: not composed
    assert client.fetch("us-central1", "z9-standard-4", ALL) == []  # not in the catalog
    assert fake.requests == []
    assert client.fetch("us-central1", "n2-standard-4", ALL) != []


def test_empty_sku_list_gives_no_quotes(fake: GcpBillingFake) -> None:
    client = make_client(fake.url)

    assert client.fetch("us-central1", "n2-standard-4", ALL) == []
    assert client.accelerator_fetch("us-central1", "nvidia-tesla-t4", ALL) == []
    assert len(fake.sku_requests()) == 1  # and the empty answer is kept, not fetched again


# --- paging and concurrency ------------------------------------------------------------------------


@needs_sample
def test_pages_are_followed_to_the_end(fake: GcpBillingFake) -> None:
    fake.page_size = 2
    fake.load_sample()  # 7 SKUs: 4 pages of 2
    fake.add_gpu("Nvidia Tesla T4", US, "0.35")

    client = make_client(fake.url)
    assert client.fetch("us-central1", "a2-highgpu-1g", ALL)[0].hourly_usd == "3.673385"
    assert client.accelerator_fetch("us-central1", "nvidia-tesla-t4", ALL)[0].hourly_usd == "0.35"

    tokens = [request.query.get("pageToken", [""])[0] for request in fake.sku_requests()]
    assert tokens == ["", "fake-offset-2", "fake-offset-4", "fake-offset-6"]
    assert client.rate_table().skus_seen == 8


@needs_sample
def test_fifty_concurrent_fetches_share_one_download(fake: GcpBillingFake) -> None:
    fake.load_sample()
    fake.server.latency = 0.2  # the download is still running when the other 49 calls arrive
    client = make_client(fake.url, timeouts=Timeouts(connect=1.0, read=2.0, lookup=5.0))
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: client.fetch("us-central1", "a2-highgpu-1g", ALL), range(50)))

    assert all(result[0].hourly_usd == "3.673385" for result in results)
    assert len(fake.sku_requests()) == 1


@needs_sample
def test_callers_waiting_on_a_failed_download_share_its_error_then_later_calls_retry(fake: GcpBillingFake) -> None:
    fake.load_sample()
    fake.fail_next(*[unavailable() for _ in range(FAST_RETRY.attempts)])
    release = fake.server.hold()  # the first attempt stays in flight until every caller has arrived
    arrived = threading.Semaphore(0)

    def shape_and_count(provider: str, instance_type: str) -> MachineShape | None:
        arrived.release()  # fetch() asks for the shape just before it waits on the download
        return catalog_shape(provider, instance_type)

    settings = ClientSettings(
        endpoints=Endpoints({"gcp_billing": fake.url}), timeouts=Timeouts(connect=1.0, read=30.0, lookup=60.0), retry=FAST_RETRY
    )
    client = GcpPriceClient(settings, shape_and_count, AnonymousCredentials())

    def attempt(_: int) -> str:
        try:
            return client.fetch("us-central1", "a2-highgpu-1g", ALL)[0].hourly_usd
        except ProviderUnavailable:
            return "unavailable"

    with ThreadPoolExecutor(max_workers=10) as pool:
        pending = [pool.submit(attempt, index) for index in range(10)]
        for _ in range(10):
            assert arrived.acquire(timeout=30)
        fake.server.wait_for_requests(1, SKUS_PATH)
        time.sleep(0.1)  # the last arrivals step from the shape lookup into the wait (a few lines)
        release.set()
        results = [future.result() for future in pending]

    assert results == ["unavailable"] * 10
    assert len(fake.sku_requests()) == FAST_RETRY.attempts  # one retry cycle, not ten
    assert attempt(0) == "3.673385"  # a later call downloads again


# --- failures --------------------------------------------------------------------------------------


@needs_sample
def test_throttled_twice_then_served(fake: GcpBillingFake) -> None:
    fake.load_sample()
    fake.fail_next(throttled(), throttled())

    (quote,) = make_client(fake.url).fetch("us-central1", "a2-highgpu-1g", ALL)

    assert quote.hourly_usd == "3.673385"
    assert len(fake.sku_requests()) == 3


@needs_sample
def test_persistent_503_is_unavailable_after_every_retry(fake: GcpBillingFake) -> None:
    fake.load_sample()
    fake.fail_next(*[unavailable() for _ in range(10)])

    with pytest.raises(ProviderUnavailable) as caught:
        make_client(fake.url).fetch("us-central1", "a2-highgpu-1g", ALL)

    assert caught.value.provider == "gcp-billing"
    assert "HTTP 503 after 3 attempts" in str(caught.value)
    assert len(fake.sku_requests()) == FAST_RETRY.attempts


def test_retries_stop_at_the_lookup_limit(fake: GcpBillingFake) -> None:
    fake.fail_next(*[unavailable() for _ in range(10)])
    settings = ClientSettings(
        endpoints=Endpoints({"gcp_billing": fake.url}),
        timeouts=Timeouts(connect=1.0, read=0.5, lookup=0.3),
        retry=RetryPolicy(attempts=50, base_delay=0.2, max_delay=0.2),
    )
    # Usually the wait before the next retry would pass the limit (ProviderUnavailable); on a slow
    # machine the last retry may start with a sliver of the budget left and time out instead.
    with pytest.raises((ProviderUnavailable, ProviderTimeout), match=r"0\.3s lookup limit") as caught:
        GcpPriceClient(settings, catalog_shape, AnonymousCredentials()).fetch("us-central1", "n2-standard-4", ALL)

    if isinstance(caught.value, ProviderUnavailable):
        assert re.search(r"HTTP 503 after \d+ attempts?: .*; gave up at the 0\.3s lookup limit", str(caught.value))
    assert len(fake.sku_requests()) < 10  # 50 attempts allowed; the 0.3 s lookup limit stopped them


def test_a_hang_cut_short_by_the_lookup_limit_names_the_lookup_limit(fake: GcpBillingFake) -> None:
    fake.fail_next(hang(5.0))
    settings = ClientSettings(
        endpoints=Endpoints({"gcp_billing": fake.url}), timeouts=Timeouts(connect=1.0, read=2.0, lookup=0.3), retry=FAST_RETRY
    )
    # The request may only wait for what is left of the 0.3 s lookup, not the 2 s read timeout,
    # and the error must say which limit it hit.
    with pytest.raises(ProviderTimeout) as caught:
        GcpPriceClient(settings, catalog_shape, AnonymousCredentials()).fetch("us-central1", "n2-standard-4", ALL)

    assert "the SKU download ran past the 0.3s lookup limit" in str(caught.value)
    assert "read timeout" not in str(caught.value)
    assert len(fake.sku_requests()) == 1


def test_a_hang_past_the_read_timeout_is_a_timeout(fake: GcpBillingFake) -> None:
    fake.fail_next(hang(5.0))
    # Without the read timeout the fake answers after 5 s with an empty page: no error at all.
    with pytest.raises(ProviderTimeout) as caught:
        make_client(fake.url).fetch("us-central1", "n2-standard-4", ALL)

    assert "0.5s read timeout" in str(caught.value)
    assert len(fake.sku_requests()) == 1  # a timeout is not retried: the lookup budget is shared


@pytest.mark.parametrize("body", [b"<html>Bad gateway page from a proxy</html>", b'{"skus": {"not": "a list"}}'])
def test_a_body_that_is_not_a_list_skus_response_is_malformed(fake: GcpBillingFake, body: bytes) -> None:
    fake.fail_next(Fault(200, body))

    with pytest.raises(MalformedResponse) as caught:
        make_client(fake.url).fetch("us-central1", "n2-standard-4", ALL)

    assert caught.value.provider == "gcp-billing"


def test_a_sku_without_a_base_tier_price_is_malformed(fake: GcpBillingFake) -> None:
    fake.add_family_rates("N2 Instance", US, core="0.031611", ram="0.004237")
    del fake.skus[0]["pricingInfo"][0]["pricingExpression"]["tieredRates"]

    with pytest.raises(MalformedResponse, match="no tier starting at 0"):
        make_client(fake.url).fetch("us-central1", "n2-standard-4", ALL)


def test_permission_denied_is_a_credentials_error(fake: GcpBillingFake) -> None:
    fake.fail_next(permission_denied())

    with pytest.raises(CredentialsError, match="HTTP 403: The caller does not have permission"):
        make_client(fake.url).fetch("us-central1", "n2-standard-4", ALL)

    assert len(fake.sku_requests()) == 1  # never retried


def test_unauthenticated_is_a_credentials_error(fake: GcpBillingFake) -> None:
    from google.oauth2.credentials import Credentials

    def refresh(request: Any, scopes: Any) -> tuple[str, datetime.datetime]:
        return "fake-token-refreshed", datetime.datetime.utcnow() + datetime.timedelta(hours=1)

    fake.fail_next(*[unauthenticated() for _ in range(5)])

    with pytest.raises(CredentialsError, match="HTTP 401: Request had invalid authentication credentials"):
        make_client(fake.url, credentials=Credentials(token="fake-token", refresh_handler=refresh)).fetch("us-central1", "n2-standard-4", ALL)

    # google-auth's session refreshes the token and replays the call on a 401 (twice), then gives up.
    assert [request.headers["authorization"] for request in fake.sku_requests()] == ["Bearer fake-token"] + ["Bearer fake-token-refreshed"] * 2


def test_unauthenticated_with_anonymous_credentials_is_a_credentials_error(fake: GcpBillingFake) -> None:
    fake.fail_next(unauthenticated())

    # The session tries to refresh on a 401, which anonymous credentials cannot do.
    with pytest.raises(CredentialsError, match="Anonymous credentials cannot be refreshed"):
        make_client(fake.url).fetch("us-central1", "n2-standard-4", ALL)


def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the client connects

    with pytest.raises(ProviderUnavailable, match="connection failed after 3 attempts"):
        make_client(f"http://127.0.0.1:{port}").fetch("us-central1", "n2-standard-4", ALL)


def test_no_application_default_credentials_is_a_clean_credentials_error(fake: GcpBillingFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    (tmp_path / "gcloud").mkdir()

    with pytest.raises(CredentialsError) as caught:
        make_client(fake.url, credentials=None).fetch("us-central1", "n2-standard-4", ALL)

    message = str(caught.value)
    assert message.startswith("gcp-billing: no Application Default Credentials")
    assert "no-such-key.json" in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert fake.requests == []


# --- import cost -----------------------------------------------------------------------------------


def test_importing_the_client_imports_no_google_library() -> None:
    code = (
        "import sys, json, tollgate.providers.live.gcp\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'google' or m.startswith(('google.', 'proto', 'grpc', 'requests')))))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)

    assert json.loads(result.stdout) == []

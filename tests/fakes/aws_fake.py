"""A fake of the three AWS APIs Tollgate calls, in their real wire protocols, for `LoopbackServer`.

    fake = AwsFake()
    fake.add_product("us-east-1", "m5.large", on_demand="0.096", reserved_1y_no_upfront="0.06")
    with LoopbackServer(fake.handle) as server:
        ...  # point boto3's endpoint_url at server.url

* Price List (`pricing`): JSON 1.1, `X-Amz-Target: AWSPriceListService.GetProducts`. PriceList
  items are JSON *strings* in the structure of a real item (see api-samples); the request's Filters
  are applied and NextToken pages by `page_size`. `add_product` also files decoys the filters must
  exclude (Windows, Dedicated tenancy, an UnusedCapacityReservation row).
* EC2: the query protocol (form body, XML answer). DescribeSpotPriceHistory rows are chosen by the
  region in the SigV4 credential scope, since every region's endpoint is this one server.
* Cost Explorer (`ce`): JSON 1.1, `AWSInsightsIndexService.GetCostAndUsage`, Tag filters
  (alone, or under And) applied to the spend set with `set_spend`.

Errors come back in each protocol's own format; `json_error`, `throttling`, `server_error` and
`ec2_error` make `Fault`s for `LoopbackServer.fail_next`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping
from xml.sax.saxutils import escape

from tests.fakes.loopback import Fault, Reply, Request

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
XML_CONTENT_TYPE = "text/xml;charset=UTF-8"
EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"

PRICING_TARGET = "AWSPriceListService.GetProducts"
CE_TARGET = "AWSInsightsIndexService.GetCostAndUsage"

# The term and rate codes AWS uses for these offers (the same in every product).
ON_DEMAND_CODE = "JRTCKXETXF"
HOURLY_RATE_CODE = "6YS6EN2CT7"
UPFRONT_RATE_CODE = "2TG2D8R56U"
RESERVED_CODES = {
    ("1yr", "No Upfront"): "4NA7Y494T4",
    ("1yr", "All Upfront"): "6QCMYABX3D",
    ("3yr", "No Upfront"): "BPH4J8HBKS",
    ("3yr", "All Upfront"): "NQ3QZPMQV9",
}
LOCATIONS = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


# --------------------------------------------------------------------------- fault helpers


def json_error(code: str, message: str, status: int = 400) -> Fault:
    """A JSON 1.1 error (Price List, Cost Explorer)."""
    return Fault(status, {"__type": code, "message": message}, {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})


def throttling() -> Fault:
    return json_error("ThrottlingException", "Rate exceeded")


def server_error(status: int = 503) -> Fault:
    code = "ServiceUnavailableException" if status == 503 else "InternalErrorException"
    return json_error(code, "Service is unavailable, try again later", status)


def ec2_error(code: str, message: str, status: int = 400) -> Fault:
    """EC2's XML error document (RequestLimitExceeded, AuthFailure, Unavailable...)."""
    reply = _ec2_error_reply(code, message, status)
    return Fault(reply.status, reply.body, reply.headers)


def _ec2_error_reply(code: str, message: str, status: int = 400) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    )
    return Reply(status, body, {"Content-Type": XML_CONTENT_TYPE})


def _json_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status, body, {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})


def _json_error_reply(code: str, message: str, status: int = 400) -> Reply:
    fault = json_error(code, message, status)
    return Reply(fault.status, fault.body, fault.headers)


# --------------------------------------------------------------------------- data


@dataclass(slots=True)
class SpotRow:
    region: str
    availability_zone: str
    instance_type: str
    price: str
    timestamp: dt.datetime
    product_description: str = "Linux/UNIX"


@dataclass(slots=True)
class SpendEntry:
    amount: Decimal
    tags: dict[str, str] = field(default_factory=dict)


def _sku(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _timestamp(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    else:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def _dimension(sku: str, term_code: str, rate_code: str, unit: str, usd: str, description: str) -> dict[str, Any]:
    dimension: dict[str, Any] = {
        "unit": unit,
        "endRange": "Inf",
        "description": description,
        "appliesTo": [],
        "rateCode": f"{sku}.{term_code}.{rate_code}",
        "beginRange": "0",
        "pricePerUnit": {"USD": usd},
    }
    if unit == "Quantity":  # upfront fees carry no range in real items
        del dimension["endRange"], dimension["beginRange"]
    return dimension


def _term(sku: str, term_code: str, dimensions: list[dict[str, Any]], effective: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "priceDimensions": {dimension["rateCode"]: dimension for dimension in dimensions},
        "sku": sku,
        "effectiveDate": f"{effective}T00:00:00Z",
        "offerTermCode": term_code,
        "termAttributes": attributes,
    }


def _ten_places(price: str) -> str:
    """The Price List writes every price with 10 places ("0.0960000000")."""
    return f"{Decimal(price):.10f}"


def price_list_item(
    region: str,
    instance_type: str,
    on_demand: str | None,
    reserved: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    effective: str = "2026-11-01",
    operating_system: str = "Linux",
    tenancy: str = "Shared",
    capacitystatus: str = "Used",
    pre_installed_sw: str = "NA",
    license_model: str = "No License required",
    operation: str = "RunInstances",
) -> dict[str, Any]:
    """One GetProducts item in the real structure. `reserved` maps (length, purchase option) to
    (hourly, upfront fee), e.g. {("1yr", "All Upfront"): ("0", "494")}."""
    sku = _sku(region, instance_type, operating_system, tenancy, capacitystatus, pre_installed_sw, license_model, operation)
    usage_prefix = "BoxUsage" if tenancy == "Shared" else "DedicatedUsage"
    if capacitystatus == "UnusedCapacityReservation":
        usage_prefix = "UnusedBox"
    attributes = {
        "capacitystatus": capacitystatus,
        "instanceFamily": "General purpose",
        "instanceType": instance_type,
        "licenseModel": license_model,
        "location": LOCATIONS.get(region, region),
        "locationType": "AWS Region",
        "memory": "8 GiB",
        "operatingSystem": operating_system,
        "operation": operation,
        "preInstalledSw": pre_installed_sw,
        "regionCode": region,
        "servicecode": "AmazonEC2",
        "servicename": "Amazon Elastic Compute Cloud",
        "tenancy": tenancy,
        "usagetype": f"{usage_prefix}:{instance_type}",
        "vcpu": "2",
    }
    terms: dict[str, Any] = {}
    if on_demand is not None:
        hourly = _dimension(sku, ON_DEMAND_CODE, HOURLY_RATE_CODE, "Hrs", _ten_places(on_demand), f"${Decimal(on_demand).normalize()} per On Demand {operating_system} {instance_type} Instance Hour")
        terms["OnDemand"] = {f"{sku}.{ON_DEMAND_CODE}": _term(sku, ON_DEMAND_CODE, [hourly], effective, {})}
    if reserved:
        terms["Reserved"] = {}
        for (length, purchase), (hourly_usd, upfront_usd) in reserved.items():
            code = RESERVED_CODES[(length, purchase)]
            description = f"Linux/UNIX (Amazon VPC), {instance_type} reserved instance applied"
            dimensions = [_dimension(sku, code, HOURLY_RATE_CODE, "Hrs", _ten_places(hourly_usd), description)]
            if purchase != "No Upfront":
                dimensions.insert(0, _dimension(sku, code, UPFRONT_RATE_CODE, "Quantity", str(Decimal(upfront_usd).normalize()), "Upfront Fee"))
            attributes_ = {"LeaseContractLength": length, "OfferingClass": "standard", "PurchaseOption": purchase}
            terms["Reserved"][f"{sku}.{code}"] = _term(sku, code, dimensions, effective, attributes_)
    return {
        "product": {"productFamily": "Compute Instance", "attributes": attributes, "sku": sku},
        "serviceCode": "AmazonEC2",
        "terms": terms,
        "version": "20261101000000",
        "publicationDate": f"{effective}T00:00:00Z",
    }


def _filter_matches(item: Mapping[str, Any], rule: Mapping[str, Any]) -> bool:
    """One GetProducts Filter against an item (ServiceCode or a product attribute)."""
    kind, name, wanted = rule["Type"], rule["Field"], str(rule["Value"])
    actual = item["serviceCode"] if name == "ServiceCode" else item["product"]["attributes"].get(name)
    if kind in ("TERM_MATCH", "EQUALS"):
        return actual is not None and actual.lower() == wanted.lower()
    if kind == "CONTAINS":
        return actual is not None and wanted.lower() in actual.lower()
    choices = {choice.strip().lower() for choice in wanted.split(",")}
    if kind == "ANY_OF":
        return actual is not None and actual.lower() in choices
    if kind == "NONE_OF":
        return actual is None or actual.lower() not in choices
    raise ValueError(f"unknown filter type {kind}")


def _tag_expression_matches(expression: Mapping[str, Any], tags: Mapping[str, str]) -> bool:
    """A Cost Explorer Expression restricted to what the client sends: Tags, And, Or, Not."""
    if "And" in expression:
        return all(_tag_expression_matches(part, tags) for part in expression["And"])
    if "Or" in expression:
        return any(_tag_expression_matches(part, tags) for part in expression["Or"])
    if "Not" in expression:
        return not _tag_expression_matches(expression["Not"], tags)
    if "Tags" in expression:
        rule = expression["Tags"]
        return tags.get(rule["Key"]) in rule.get("Values", [])
    raise ValueError(f"unsupported Expression {sorted(expression)}")


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int | None:
    """The offset a NextToken stands for; None when the token is not one of ours."""
    if not token:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(number) if kind == "offset" else None
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- the fake


class AwsFake:
    """Price List, EC2 spot history and Cost Explorer behind one `handle(request) -> Reply`."""

    def __init__(self, page_size: int = 100) -> None:
        self.page_size = page_size  # items per page in every paged answer (small values force paging)
        self.products: list[dict[str, Any]] = []
        self.spot_rows: list[SpotRow] = []
        self.spend: list[SpendEntry] = []
        # Real EC2, given StartTime, answers each zone's price in effect then plus newer changes;
        # False serves the whole history, as the recorded api-sample does.
        self.spot_honours_start_time = True
        self.estimated = True

    # ----------------------------------------------------------- setup

    def add_product(
        self,
        region: str,
        instance_type: str,
        on_demand: str | None,
        reserved_1y_no_upfront: str | None = None,
        reserved_3y_no_upfront: str | None = None,
        reserved_1y_all_upfront_fee: str | None = None,
        reserved_3y_all_upfront_fee: str | None = None,
        effective: str = "2026-11-01",
        decoys: bool = True,
        **attributes: str,
    ) -> dict[str, Any]:
        """File a Linux/Shared/Used product (and, by default, decoys the client's filters must
        exclude). `attributes` override item attributes (license_model=..., operation=...)."""
        reserved: dict[tuple[str, str], tuple[str, str]] = {}
        if reserved_1y_no_upfront is not None:
            reserved[("1yr", "No Upfront")] = (reserved_1y_no_upfront, "0")
        if reserved_3y_no_upfront is not None:
            reserved[("3yr", "No Upfront")] = (reserved_3y_no_upfront, "0")
        if reserved_1y_all_upfront_fee is not None:
            reserved[("1yr", "All Upfront")] = ("0", reserved_1y_all_upfront_fee)
        if reserved_3y_all_upfront_fee is not None:
            reserved[("3yr", "All Upfront")] = ("0", reserved_3y_all_upfront_fee)
        item = price_list_item(region, instance_type, on_demand, reserved, effective, **attributes)
        self.products.append(item)
        if decoys and on_demand is not None:
            self._add_decoys(region, instance_type, Decimal(on_demand), effective)
        return item

    def _add_decoys(self, region: str, instance_type: str, on_demand: Decimal, effective: str) -> None:
        # Same type and region, priced so a client that picks one gets a visibly wrong answer.
        self.products.append(price_list_item(region, instance_type, str(on_demand * 2 + Decimal("0.5")), None, effective, operating_system="Windows", license_model="No License required"))
        self.products.append(price_list_item(region, instance_type, str(on_demand + Decimal("0.011")), None, effective, tenancy="Dedicated"))
        self.products.append(price_list_item(region, instance_type, "0", None, effective, capacitystatus="UnusedCapacityReservation"))
        self.products.append(price_list_item(region, instance_type, str(on_demand + Decimal("0.2")), None, effective, pre_installed_sw="SQL Web"))

    def add_raw_product(self, item: dict[str, Any]) -> None:
        """File an item exactly as given (e.g. one from the api-samples)."""
        self.products.append(item)

    def add_spot(self, region: str, az: str, instance_type: str, price: str, timestamp: str | dt.datetime, product_description: str = "Linux/UNIX") -> None:
        self.spot_rows.append(SpotRow(region, az, instance_type, price, _timestamp(timestamp), product_description))

    def set_spend(self, amount: str, tags: Mapping[str, str] | None = None) -> None:
        """Month-to-date cost of the resources carrying exactly `tags` (replaces an earlier set)."""
        wanted = dict(tags or {})
        self.spend = [entry for entry in self.spend if entry.tags != wanted]
        self.spend.append(SpendEntry(Decimal(amount), wanted))

    # ----------------------------------------------------------- dispatch

    def handle(self, request: Request) -> Reply:
        if "authorization" not in request.headers:
            return _json_error_reply("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
        target = request.headers.get("x-amz-target")
        if target is not None:
            if not request.headers.get("content-type", "").startswith(JSON_CONTENT_TYPE):
                return _json_error_reply("SerializationException", "expected application/x-amz-json-1.1")
            if target == PRICING_TARGET:
                return self._get_products(request.json())
            if target == CE_TARGET:
                return self._get_cost_and_usage(request.json())
            return _json_error_reply("UnknownOperationException", f"unknown target {target}")
        form = request.form()
        if form.get("Action") == "DescribeSpotPriceHistory":
            if form.get("Version") != "2016-11-15":
                return _ec2_error_reply("InvalidParameterValue", f"unsupported Version {form.get('Version')}")
            return self._describe_spot_price_history(form, self.region_of(request))
        return _ec2_error_reply("InvalidAction", f"The action {form.get('Action')} is not valid for this web service.")

    @staticmethod
    def region_of(request: Request) -> str | None:
        """The region in the SigV4 credential scope (Credential=AKID/date/region/service/aws4_request)."""
        match = _CREDENTIAL_SCOPE.search(request.headers.get("authorization", ""))
        return match.group(1) if match else None

    # ----------------------------------------------------------- Price List

    def _get_products(self, body: Mapping[str, Any]) -> Reply:
        if body.get("FormatVersion", "aws_v1") != "aws_v1":
            return _json_error_reply("InvalidParameterException", "FormatVersion must be aws_v1")
        if "ServiceCode" not in body:
            return _json_error_reply("ValidationException", "ServiceCode is required")
        rules = body.get("Filters") or []
        matching = [
            item for item in self.products if item["serviceCode"] == body["ServiceCode"] and all(_filter_matches(item, rule) for rule in rules)
        ]
        start = _offset(body.get("NextToken"))
        if start is None:
            return _json_error_reply("InvalidNextTokenException", "The pagination token is invalid. Try again without a pagination token.")
        size = min(self.page_size, int(body.get("MaxResults") or self.page_size))
        page = matching[start : start + size]
        more = start + size < len(matching)
        return _json_reply(
            {
                "FormatVersion": "aws_v1",
                "PriceList": [json.dumps(item, separators=(",", ":")) for item in page],
                "NextToken": _token(start + size) if more else None,
            }
        )

    # ----------------------------------------------------------- EC2 spot

    def _describe_spot_price_history(self, form: Mapping[str, str], region: str | None) -> Reply:
        if region is None:
            return _ec2_error_reply("AuthFailure", "AWS was not able to validate the provided access credentials", 401)
        types = _numbered(form, "InstanceType")
        descriptions = _numbered(form, "ProductDescription")
        zone = form.get("AvailabilityZone")
        rows = [
            row
            for row in self.spot_rows
            if row.region == region
            and (not types or row.instance_type in types)
            and (not descriptions or row.product_description in descriptions)
            and (zone is None or row.availability_zone == zone)
        ]
        if "StartTime" in form and self.spot_honours_start_time:
            rows = _in_effect_since(rows, _timestamp(form["StartTime"]))
        if "EndTime" in form:
            end = _timestamp(form["EndTime"])
            rows = [row for row in rows if row.timestamp <= end]
        rows.sort(key=lambda row: row.timestamp, reverse=True)  # EC2 answers newest first
        start = _offset(form.get("NextToken"))
        if start is None:
            return _ec2_error_reply("InvalidNextToken", "The specified token is invalid")
        size = min(self.page_size, int(form.get("MaxResults") or self.page_size))
        page = rows[start : start + size]
        token = _token(start + size) if start + size < len(rows) else ""
        return Reply(200, _spot_xml(page, token), {"Content-Type": XML_CONTENT_TYPE})

    # ----------------------------------------------------------- Cost Explorer

    def _get_cost_and_usage(self, body: Mapping[str, Any]) -> Reply:
        period = body.get("TimePeriod") or {}
        try:
            start, end = dt.date.fromisoformat(period["Start"]), dt.date.fromisoformat(period["End"])
        except (KeyError, ValueError):
            return _json_error_reply("ValidationException", "TimePeriod Start and End must be YYYY-MM-DD")
        if end <= start:
            return _json_error_reply("ValidationException", "Start date (and hour) should be before end date (and hour)")
        if body.get("Granularity") not in ("MONTHLY", "DAILY", "HOURLY") or not body.get("Metrics"):
            return _json_error_reply("ValidationException", "Granularity and Metrics are required")
        expression = body.get("Filter")
        amount = sum((entry.amount for entry in self.spend if expression is None or _tag_expression_matches(expression, entry.tags)), Decimal(0))
        periods = _months(start, end)
        results = []
        for index, (period_start, period_end) in enumerate(periods):
            # The fake books the whole amount in the last period of the window.
            value = amount if index == len(periods) - 1 else Decimal(0)
            metrics = {metric: {"Amount": str(value), "Unit": "USD"} for metric in body["Metrics"]}
            window = {"Start": period_start.isoformat(), "End": period_end.isoformat()}
            results.append({"TimePeriod": window, "Total": metrics, "Groups": [], "Estimated": self.estimated})
        first = _offset(body.get("NextPageToken"))
        if first is None:
            return _json_error_reply("InvalidNextTokenException", "The token is invalid")
        page = results[first : first + self.page_size]
        reply: dict[str, Any] = {"GroupDefinitions": [], "ResultsByTime": page, "DimensionValueAttributes": []}
        if first + self.page_size < len(results):
            reply["NextPageToken"] = _token(first + self.page_size)
        return _json_reply(reply)


def _numbered(form: Mapping[str, str], name: str) -> list[str]:
    """Query-protocol lists: InstanceType.1=..., InstanceType.2=..."""
    return [value for key, value in sorted(form.items()) if key.startswith(f"{name}.")]


def _in_effect_since(rows: list[SpotRow], start: dt.datetime) -> list[SpotRow]:
    """Each zone's latest row at or before `start`, plus every newer row."""
    newer = [row for row in rows if row.timestamp > start]
    in_effect: dict[tuple[str, str, str], SpotRow] = {}
    for row in rows:
        key = (row.availability_zone, row.instance_type, row.product_description)
        if row.timestamp <= start and (key not in in_effect or row.timestamp > in_effect[key].timestamp):
            in_effect[key] = row
    return newer + list(in_effect.values())


def _spot_xml(rows: list[SpotRow], token: str) -> str:
    items = "".join(
        "<item>"
        f"<instanceType>{escape(row.instance_type)}</instanceType>"
        f"<productDescription>{escape(row.product_description)}</productDescription>"
        f"<spotPrice>{escape(row.price)}</spotPrice>"
        f"<timestamp>{row.timestamp.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z')}</timestamp>"
        f"<availabilityZone>{escape(row.availability_zone)}</availabilityZone>"
        "</item>"
        for row in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DescribeSpotPriceHistoryResponse xmlns="{EC2_NAMESPACE}">'
        f"<requestId>{uuid.uuid4()}</requestId>"
        f"<spotPriceHistorySet>{items}</spotPriceHistorySet>"
        f"<nextToken>{escape(token)}</nextToken>"
        "</DescribeSpotPriceHistoryResponse>"
    )


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end) cut at month boundaries, as MONTHLY granularity reports it."""
    periods = []
    cursor = start
    while cursor < end:
        next_month = (cursor.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        periods.append((cursor, min(next_month, end)))
        cursor = next_month
    return periods

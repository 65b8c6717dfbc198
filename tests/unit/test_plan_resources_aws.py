"""AWS resource types in `terraform show -json` plans -> ComputeRequests (and their prices).

Every fixture is a small plan in the real plan schema, written to tmp_path and read through
`read_plan_requests` / `run_check`, like a real plan.
"""

from __future__ import annotations

import pytest

from plan_builder import (
    aws_plan,
    by_address,
    change,
    check,
    config,
    const,
    module_call,
    plan,
    provider,
    read,
    ref,
)
from tollgate.engine.model import Action, CapacityUnit, PurchaseOption, WorkloadClass
from tollgate.engine.terraform.view import EXTRACTORS


def unit(catalog, region: str, instance_type: str, option: str = "on_demand") -> float:
    quote = catalog.price("aws", region, instance_type, option)
    assert hasattr(quote, "unit_hourly"), quote
    return float(quote.unit_hourly.to_decimal())


# A create plan's after_unknown for an aws_instance whose optional+computed attributes were not
# configured: exactly what hashicorp/aws 5.x writes (trimmed to the attributes the engine reads).
INSTANCE_UNKNOWN = {
    "instance_market_options": True,
    "tenancy": True,
    "availability_zone": True,
    "launch_template": [],
    "tags": {},
    "tags_all": {},
}


def instance(instance_type="g5.xlarge", tags=None, **after):
    values = {"ami": "ami-0123456789abcdef0", "instance_type": instance_type, "launch_template": []}
    values["tags"] = tags
    if tags is not None:
        values["tags_all"] = dict(tags)
    values.update(after)
    return values


# --- aws_instance -------------------------------------------------------------------------------


def test_aws_instance_is_one_on_demand_instance_in_the_provider_region(tmp_path, catalog):
    tags = {"team": "ml", "cost-center": "CC-1", "workload-class": "online"}
    doc = aws_plan(
        [change("aws_instance.web", instance("g5.xlarge", tags), after_unknown=dict(INSTANCE_UNKNOWN))],
        [config("aws_instance.web", {"instance_type": const("g5.xlarge")})],
        region="us-west-2",
    )
    [request] = read(tmp_path, doc)
    assert request.address == "aws_instance.web"
    assert request.kind == "aws_instance"
    assert request.provider.value == "aws"
    assert request.region == "us-west-2"
    assert request.region_source == "provider configuration"
    assert request.instance_type == "g5.xlarge"
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (1, None, None)
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert request.action is Action.CREATE
    assert request.tags == tags
    assert request.workload_class is WorkloadClass.ONLINE
    # Optional+computed attributes that were never configured are not "unknowns" of the request.
    assert request.unknowns == []

    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-west-2", "g5.xlarge"))
    assert resource["monthly_usd"] == pytest.approx(round(unit(catalog, "us-west-2", "g5.xlarge") * 730, 2))
    assert resource["gpus"]["count_per_instance"] == 1
    assert resource["gpus"]["model"] == "A10G"


def test_instance_market_options_spot_is_spot_priced_from_spot_data(tmp_path, catalog):
    market = [{"market_type": "spot", "spot_options": [{"max_price": "0.90", "spot_instance_type": "one-time"}]}]
    unknown = dict(INSTANCE_UNKNOWN, instance_market_options=[{"spot_options": [{"valid_until": True}]}])
    doc = aws_plan(
        [change("aws_instance.trainer[0]", instance("g5.2xlarge", instance_market_options=market), after_unknown=unknown)],
        [config("aws_instance.trainer", {"instance_type": const("g5.2xlarge"), "instance_market_options": [{"market_type": const("spot")}]})],
        region="eu-west-1",
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert "market_type = spot" in request.purchase_reason
    [resource] = check(tmp_path, doc, catalog)["resources"]
    spot = unit(catalog, "eu-west-1", "g5.2xlarge", "spot")
    assert resource["hourly_usd"] == pytest.approx(spot)
    assert resource["hourly_usd"] != pytest.approx(0.90)  # max_price is a cap, not the price paid
    assert resource["price"]["option"] == "spot"


def test_instance_market_options_unknown_and_not_configured_is_on_demand(tmp_path):
    doc = aws_plan(
        [change("aws_instance.coordinator", instance("m6i.xlarge", {"workload-class": "batch"}), after_unknown=dict(INSTANCE_UNKNOWN))],
        [config("aws_instance.coordinator", {"instance_type": const("m6i.xlarge")})],
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert "instance_market_options" not in request.unknowns
    assert request.workload_class is WorkloadClass.BATCH


def test_instance_market_options_configured_but_unknown_is_unknown_and_unpriced(tmp_path, catalog):
    doc = aws_plan(
        [change("aws_instance.maybe", instance("g5.xlarge"), after_unknown=dict(INSTANCE_UNKNOWN))],
        [config("aws_instance.maybe", {"instance_type": const("g5.xlarge"), "instance_market_options": [{"market_type": ref("var.market")}]})],
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.UNKNOWN
    assert "instance_market_options" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "purchase option" in resource["unpriced_reason"]


def test_capacity_block_market_is_reserved_and_unpriced_with_reason(tmp_path, catalog):
    doc = aws_plan(
        [change("aws_instance.block", instance("p5.48xlarge", instance_market_options=[{"market_type": "capacity-block"}]), after_unknown={})],
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.RESERVED
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "capacity block" in resource["unpriced_reason"]


def test_instance_type_unknown_at_plan_time_is_unpriced_not_zero(tmp_path, catalog):
    after = instance(None)
    del after["instance_type"]
    doc = aws_plan(
        [change("aws_instance.dyn", after, after_unknown=dict(INSTANCE_UNKNOWN, instance_type=True))],
        [config("aws_instance.dyn", {"instance_type": ref("random_shuffle.t.result[0]", "random_shuffle.t")})],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type is None
    assert "instance_type" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert resource["monthly_usd"] is None
    assert resource["delta_monthly_usd"] is None
    assert resource["unpriced_reason"] == "instance type is unknown at plan time"
    assert resource["unknowns"] == ["instance_type"]


def test_null_tags_with_unknown_tags_all_means_no_tags_not_maybe_tagged(tmp_path):
    after = instance("t3.micro", None)
    doc = aws_plan(
        [change("aws_instance.bastion", after, after_unknown=dict(INSTANCE_UNKNOWN, tags_all=True))],
        [config("aws_instance.bastion", {"instance_type": const("t3.micro")})],
    )
    [request] = read(tmp_path, doc)
    assert request.tags == {}
    assert request.tags_known is True
    assert "tags" not in request.unknowns


def test_provider_default_tags_are_merged_into_instance_tags(tmp_path):
    after = instance("t3.large", {"team": "web"})
    del after["tags_all"]
    default_tags = [{"tags": const({"environment": "prod", "managed-by": "terraform"})}]
    doc = plan(
        [change("aws_instance.api", after, after_unknown=dict(INSTANCE_UNKNOWN, tags_all=True))],
        resources=[config("aws_instance.api", {"instance_type": const("t3.large"), "tags": const({"team": "web"})})],
        providers=[provider("aws", region="eu-west-1", default_tags=default_tags)],
    )
    [request] = read(tmp_path, doc)
    assert request.tags == {"environment": "prod", "managed-by": "terraform", "team": "web"}


def test_instance_type_from_launch_template_by_configuration_reference(tmp_path, catalog):
    template = {"name": "gpu-lt", "instance_type": "g5.4xlarge", "instance_market_options": [], "tag_specifications": []}
    after = instance(None, {"team": "ml"}, launch_template=[{"version": "$Latest"}])
    after["instance_type"] = None
    doc = aws_plan(
        [
            change("aws_launch_template.gpu", template, after_unknown={"id": True}),
            change("aws_instance.from_lt", after, after_unknown=dict(INSTANCE_UNKNOWN, instance_type=True, launch_template=[{"id": True}])),
        ],
        [
            config("aws_launch_template.gpu", {"instance_type": const("g5.4xlarge"), "name": const("gpu-lt")}),
            config("aws_instance.from_lt", {"launch_template": [{"id": ref("aws_launch_template.gpu.id", "aws_launch_template.gpu")}]}),
        ],
    )
    [request] = read(tmp_path, doc)  # the template itself is not a request
    assert request.address == "aws_instance.from_lt"
    assert request.instance_type == "g5.4xlarge"
    assert "instance_type from the launch template" in request.notes
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-east-1", "g5.4xlarge"))


def test_region_from_availability_zone_when_the_provider_has_none(tmp_path):
    doc = plan(
        [change("aws_instance.z", instance("t3.micro", availability_zone="ap-southeast-2b"), after_unknown={})],
        resources=[config("aws_instance.z", {"availability_zone": const("ap-southeast-2b")})],
        providers=[provider("aws")],
    )
    [request] = read(tmp_path, doc)
    assert request.region == "ap-southeast-2"
    assert request.zone == "ap-southeast-2b"
    assert "availability_zone" in request.region_source


def test_resource_region_argument_wins_over_the_provider(tmp_path):
    # hashicorp/aws 6 lets a resource set its own region.
    doc = aws_plan([change("aws_instance.r", instance("t3.micro", region="eu-central-1"), after_unknown={})], region="us-east-1")
    [request] = read(tmp_path, doc)
    assert request.region == "eu-central-1"


def test_provider_alias_region_is_used(tmp_path):
    doc = plan(
        [
            change("aws_instance.us", instance("t3.micro"), after_unknown={}),
            change("aws_instance.eu[0]", instance("t3.micro"), after_unknown={}),
        ],
        resources=[
            config("aws_instance.us", {"instance_type": const("t3.micro")}),
            config("aws_instance.eu", {"instance_type": const("t3.micro")}, provider_config_key="aws.eu"),
        ],
        providers=[provider("aws", region="us-east-1"), provider("aws", alias="eu", region="eu-west-1")],
    )
    requests = by_address(read(tmp_path, doc))
    assert requests["aws_instance.us"].region == "us-east-1"
    assert requests["aws_instance.eu[0]"].region == "eu-west-1"


def test_region_from_root_variable(tmp_path):
    doc = plan(
        [change("aws_instance.v", instance("t3.micro"), after_unknown={})],
        resources=[config("aws_instance.v", {"instance_type": const("t3.micro")})],
        providers=[provider("aws", region=ref("var.region"))],
        variables={"region": "ap-northeast-1"},
    )
    [request] = read(tmp_path, doc)
    assert request.region == "ap-northeast-1"
    assert request.region_source == "provider configuration"


def test_no_region_anywhere_is_unknown_and_unpriced_with_reason(tmp_path, catalog):
    doc = plan(
        [change("aws_instance.nowhere", instance("t3.micro"), after_unknown={"availability_zone": True})],
        resources=[config("aws_instance.nowhere", {"instance_type": const("t3.micro")})],
        providers=[provider("aws", access_key=ref("var.key"))],
    )
    [request] = read(tmp_path, doc)
    assert request.region is None
    assert "region" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "region is unknown" in resource["unpriced_reason"]
    [defaulted] = check(tmp_path, doc, catalog, default_regions={"aws": "us-east-1"})["resources"]
    assert defaulted["hourly_usd"] == pytest.approx(unit(catalog, "us-east-1", "t3.micro"))
    assert defaulted["region"] == "us-east-1"
    assert any("default_region" in note for note in defaulted["notes"])


def test_module_resources_keep_full_address(tmp_path):
    changes = [
        change('module.team["nlp"].aws_instance.worker[0]', instance("g5.12xlarge"), after_unknown={}),
        change('module.team["nlp"].aws_instance.worker[1]', instance("g5.12xlarge"), after_unknown={}),
        change("module.platform.module.gpu_pool.aws_instance.worker[0]", instance("p4d.24xlarge"), after_unknown={}),
    ]
    worker = config("aws_instance.worker", {"instance_type": ref("var.instance_type")})
    doc = aws_plan(
        changes,
        [],
        module_calls={
            "team": module_call("./modules/gpu-worker", [worker]),
            "platform": module_call("./modules/platform", [], {"gpu_pool": module_call("../gpu-worker", [dict(worker)])}),
        },
    )
    requests = by_address(read(tmp_path, doc))
    assert set(requests) == {
        'module.team["nlp"].aws_instance.worker[0]',
        'module.team["nlp"].aws_instance.worker[1]',
        "module.platform.module.gpu_pool.aws_instance.worker[0]",
    }
    nested = requests["module.platform.module.gpu_pool.aws_instance.worker[0]"]
    assert nested.instance_type == "p4d.24xlarge"
    assert nested.region == "us-east-1"  # inherited from the root provider


def test_old_style_module_provider_key_inherits_the_root_provider(tmp_path):
    # Terraform 0.12/0.13 wrote "<module>:<provider>" keys for module resources.
    doc = aws_plan(
        [change("module.vm.aws_instance.this", instance("t3.micro"), after_unknown={})],
        [],
        region="eu-west-3",
        module_calls={"vm": module_call("./vm", [config("aws_instance.this", {}, provider_config_key="vm:aws")])},
    )
    [request] = read(tmp_path, doc)
    assert request.region == "eu-west-3"


# --- aws_spot_instance_request ------------------------------------------------------------------


def test_spot_instance_request_is_spot_and_its_bid_is_not_the_price(tmp_path, catalog):
    after = instance("g4dn.xlarge", {"team": "ml"}, spot_price="0.35", spot_type="persistent")
    doc = aws_plan([change("aws_spot_instance_request.w[2]", after, after_unknown={})], region="eu-west-1")
    [request] = read(tmp_path, doc)
    assert request.kind == "aws_spot_instance_request"
    assert request.purchase_option is PurchaseOption.SPOT
    assert any("bid cap" in note for note in request.notes)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "eu-west-1", "g4dn.xlarge", "spot"))


def test_spot_instance_request_without_spot_price_says_the_cap_is_on_demand(tmp_path):
    doc = aws_plan([change("aws_spot_instance_request.u", instance("g5.xlarge"), after_unknown={"spot_price": True})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert any("on-demand price" in note for note in request.notes)


# --- aws_launch_template + aws_autoscaling_group ------------------------------------------------

ASG_UNKNOWN = {"mixed_instances_policy": True, "launch_template": [{"id": True}], "tag": []}


def lt(name, instance_type, tags=None, market=None):
    return {
        "name": name,
        "instance_type": instance_type,
        "instance_market_options": market or [],
        "tag_specifications": [{"resource_type": "instance", "tags": tags}] if tags else [],
    }


def asg(desired=None, low=1, high=8, **extra):
    values = {"name": "g", "min_size": low, "max_size": high, "desired_capacity": desired, "launch_template": [{"version": "$Latest"}], "tag": []}
    values.update(extra)
    return values


def test_launch_template_alone_is_not_a_request(tmp_path):
    doc = aws_plan([change("aws_launch_template.lonely", lt("lonely", "p4d.24xlarge"), after_unknown={"id": True})])
    assert read(tmp_path, doc) == []


def test_asg_instance_type_from_launch_template_by_configuration_reference(tmp_path, catalog):
    doc = aws_plan(
        [
            change("aws_launch_template.llm", lt("llm", "g5.4xlarge", {"team": "ml", "cost-center": "CC-1", "workload-class": "online"}), after_unknown={"id": True}),
            change("aws_autoscaling_group.llm", asg(4, 2, 8, tag=[{"key": "team", "value": "ml-serving", "propagate_at_launch": True}, {"key": "internal", "value": "x", "propagate_at_launch": False}]), after_unknown=ASG_UNKNOWN),
        ],
        [
            config("aws_launch_template.llm", {"instance_type": const("g5.4xlarge")}),
            config("aws_autoscaling_group.llm", {"launch_template": [{"id": ref("aws_launch_template.llm.id", "aws_launch_template.llm")}], "desired_capacity": const(4)}),
        ],
        region="us-west-2",
    )
    [request] = read(tmp_path, doc)
    assert request.address == "aws_autoscaling_group.llm"
    assert request.instance_type == "g5.4xlarge"
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (4, 2, 8)
    assert request.purchase_option is PurchaseOption.ON_DEMAND  # mixed_instances_policy unknown = never set
    assert request.purchase_mix is None
    # launch-template instance tags, then the ASG's propagated tags on top; unpropagated ones are not instance tags
    assert request.tags == {"team": "ml-serving", "cost-center": "CC-1", "workload-class": "online"}
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(4 * unit(catalog, "us-west-2", "g5.4xlarge"))
    assert resource["gpus"]["total"] == 4


def test_asg_launch_template_by_name_when_the_plan_id_is_the_literal_unknown(tmp_path):
    # hashicorp/aws writes "unknown" for the id; the name is the link.
    group = asg(2, 1, 6, launch_template=[{"id": "unknown", "name": "embeddings-g6"}])
    doc = aws_plan(
        [
            change("aws_launch_template.embeddings", lt("embeddings-g6", "g6.2xlarge"), after_unknown={"id": True}),
            change("aws_launch_template.decoy", lt("other", "p4d.24xlarge"), after_unknown={"id": True}),
            change("aws_autoscaling_group.embeddings", group, after_unknown={"mixed_instances_policy": True, "launch_template": [{"version": True}]}),
        ],
        [config("aws_autoscaling_group.embeddings", {"launch_template": [{"name": const("embeddings-g6")}]})],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type == "g6.2xlarge"
    assert request.tags == {}


def test_asg_with_count_uses_the_launch_template_of_the_same_index(tmp_path):
    # `launch_template { id = aws_launch_template.group[count.index].id }`: Terraform records the
    # reference as the resource plus count.index, so the pairing is by index.
    doc = aws_plan(
        [
            change("aws_launch_template.group[0]", lt("g0", "m6i.large"), after_unknown={"id": True}),
            change("aws_launch_template.group[1]", lt("g1", "c6i.xlarge"), after_unknown={"id": True}),
            change("aws_autoscaling_group.group[0]", asg(1, 1, 2), after_unknown=ASG_UNKNOWN),
            change("aws_autoscaling_group.group[1]", asg(2, 1, 2), after_unknown=ASG_UNKNOWN),
        ],
        [config("aws_autoscaling_group.group", {"launch_template": [{"id": ref("aws_launch_template.group", "count.index")}]})],
    )
    requests = by_address(read(tmp_path, doc))
    assert requests["aws_autoscaling_group.group[0]"].instance_type == "m6i.large"
    assert requests["aws_autoscaling_group.group[1]"].instance_type == "c6i.xlarge"


def test_launch_template_spot_market_makes_its_instances_spot(tmp_path):
    doc = aws_plan(
        [
            change("aws_launch_template.spot", lt("spot", "c5.large", market=[{"market_type": "spot", "spot_options": []}]), after_unknown={"id": True}),
            change("aws_autoscaling_group.g", asg(2, 1, 4), after_unknown=ASG_UNKNOWN),
            change("aws_instance.i", instance(None, launch_template=[{"version": "$Latest"}]), after_unknown=dict(INSTANCE_UNKNOWN, instance_type=True, launch_template=[{"id": True}])),
        ],
        [
            config("aws_autoscaling_group.g", {"launch_template": [{"id": ref("aws_launch_template.spot.id", "aws_launch_template.spot")}]}),
            config("aws_instance.i", {"launch_template": [{"id": ref("aws_launch_template.spot.id", "aws_launch_template.spot")}]}),
        ],
    )
    requests = by_address(read(tmp_path, doc))
    for address in ("aws_autoscaling_group.g", "aws_instance.i"):
        assert requests[address].instance_type == "c5.large", address
        assert requests[address].purchase_option is PurchaseOption.SPOT, address
        assert "launch template" in requests[address].purchase_reason


def test_asg_mixed_policy_splits_on_demand_base_and_percentage(tmp_path, catalog):
    policy = [
        {
            "instances_distribution": [{"on_demand_base_capacity": 1, "on_demand_percentage_above_base_capacity": 10, "spot_allocation_strategy": "price-capacity-optimized"}],
            "launch_template": [
                {
                    "launch_template_specification": [{"launch_template_name": "render"}],
                    "override": [{"instance_type": t} for t in ("g5.xlarge", "g5.2xlarge", "g6.xlarge", "g4dn.2xlarge")],
                }
            ],
        }
    ]
    group = asg(20, 2, 60, launch_template=[], mixed_instances_policy=policy)
    doc = aws_plan(
        [
            change("aws_launch_template.render", lt("render", "g5.xlarge", {"workload-class": "batch"}), after_unknown={"id": True}),
            change("aws_autoscaling_group.render_farm", group, after_unknown={"tag": []}),
        ],
        [config("aws_autoscaling_group.render_farm", {"mixed_instances_policy": [{"launch_template": [{"launch_template_specification": [{"launch_template_name": ref("aws_launch_template.render.name", "aws_launch_template.render")}]}]}]})],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_types == ("g5.xlarge", "g5.2xlarge", "g6.xlarge", "g4dn.2xlarge")
    assert (request.purchase_mix.on_demand, request.purchase_mix.spot) == (3, 17)  # 1 + ceil(10% of 19)
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.workload_class is WorkloadClass.BATCH

    [resource] = check(tmp_path, doc, catalog)["resources"]
    spot_quotes = {t: unit(catalog, "us-east-1", t, "spot") for t in ("g5.xlarge", "g5.2xlarge", "g4dn.2xlarge")}
    cheapest = min(spot_quotes, key=spot_quotes.get)
    expected = 3 * unit(catalog, "us-east-1", "g5.xlarge") + 17 * spot_quotes[cheapest]
    assert resource["hourly_usd"] == pytest.approx(expected, abs=1e-6)
    parts = {(c["option"], c["instance_type"], c["count"]) for c in resource["price"]["components"]}
    assert parts == {("on_demand", "g5.xlarge", 3), ("spot", cheapest, 17)}
    # The priced type is named, and g6.xlarge (no us-east-1 spot row) is called out.
    assert any(cheapest in note and "g6.xlarge" in note for note in resource["notes"])


def test_asg_mixed_policy_with_zero_on_demand_is_all_spot(tmp_path, catalog):
    policy = [
        {
            "instances_distribution": [{"on_demand_base_capacity": 0, "on_demand_percentage_above_base_capacity": 0}],
            "launch_template": [{"launch_template_specification": [{"launch_template_name": "cpu"}], "override": [{"instance_type": "c6i.2xlarge"}, {"instance_type": "c5.2xlarge"}]}],
        }
    ]
    doc = aws_plan([change("aws_autoscaling_group.stitchers", asg(6, 0, 24, launch_template=[], mixed_instances_policy=policy), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert (request.purchase_mix.on_demand, request.purchase_mix.spot) == (0, 6)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    cheapest = min(unit(catalog, "us-east-1", t, "spot") for t in ("c6i.2xlarge", "c5.2xlarge"))
    assert resource["hourly_usd"] == pytest.approx(6 * cheapest)


def test_asg_without_desired_capacity_starts_at_min_size(tmp_path):
    group = asg(None, 3, 9)
    del group["desired_capacity"]
    doc = aws_plan(
        [
            change("aws_launch_template.t", lt("t", "m6i.large"), after_unknown={"id": True}),
            change("aws_autoscaling_group.g", group, after_unknown=dict(ASG_UNKNOWN, desired_capacity=True)),
        ],
        [config("aws_autoscaling_group.g", {"launch_template": [{"id": ref("aws_launch_template.t.id", "aws_launch_template.t")}], "min_size": const(3)})],
    )
    [request] = read(tmp_path, doc)
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (3, 3, 9)
    assert any("min_size" in note for note in request.notes)


def test_asg_desired_capacity_configured_but_unknown_is_unpriced(tmp_path, catalog):
    group = asg(None, 0, 9)
    doc = aws_plan(
        [
            change("aws_launch_template.t", lt("t", "m6i.large"), after_unknown={"id": True}),
            change("aws_autoscaling_group.g", group, after_unknown=dict(ASG_UNKNOWN, desired_capacity=True)),
        ],
        [config("aws_autoscaling_group.g", {"launch_template": [{"id": ref("aws_launch_template.t.id", "aws_launch_template.t")}], "desired_capacity": ref("var.n")})],
    )
    [request] = read(tmp_path, doc)
    assert request.quantity.desired is None
    assert "desired_capacity" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "quantity is unknown" in resource["unpriced_reason"]


def test_asg_with_launch_configuration_reads_its_type_and_spot_price(tmp_path):
    doc = aws_plan(
        [
            change("aws_launch_configuration.lc", {"name": "lc-1", "instance_type": "c5.large", "spot_price": "0.05"}, after_unknown={}),
            change("aws_autoscaling_group.g", asg(2, 2, 4, launch_template=[], launch_configuration="lc-1"), after_unknown={}),
        ],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type == "c5.large"
    assert request.purchase_option is PurchaseOption.SPOT


# --- aws_eks_node_group -------------------------------------------------------------------------

NODE_GROUP_UNKNOWN = {"capacity_type": True, "instance_types": True, "launch_template": [], "scaling_config": [{}], "tags": {}, "tags_all": {}}


def node_group(instance_types, desired, low, high, capacity=None, tags=None, **extra):
    values = {
        "cluster_name": "c",
        "node_group_name": "ng",
        "instance_types": instance_types,
        "capacity_type": capacity,
        "scaling_config": [{"desired_size": desired, "min_size": low, "max_size": high}],
        "launch_template": [],
        "labels": None,
        "tags": tags,
        "tags_all": tags,
    }
    values.update(extra)
    return {k: v for k, v in values.items() if v is not None or k in ("labels", "tags")}


def test_eks_node_group_without_capacity_type_is_on_demand(tmp_path, catalog):
    after = node_group(["m6i.large"], 2, 2, 10, tags={"team": "ml"})
    doc = aws_plan(
        [change("aws_eks_node_group.inference", after, after_unknown=dict(NODE_GROUP_UNKNOWN, instance_types=[False]))],
        [config("aws_eks_node_group.inference", {"instance_types": const(["m6i.large"])})],
        region="eu-west-1",
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert "capacity_type" not in request.unknowns
    assert "EKS default ON_DEMAND" in request.purchase_reason
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (2, 2, 10)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(2 * unit(catalog, "eu-west-1", "m6i.large"))


def test_eks_node_group_spot_prices_the_cheapest_listed_type(tmp_path, catalog):
    types = ["g5.2xlarge", "g5.4xlarge"]
    after = node_group(types, 4, 0, 16, capacity="SPOT", labels={"workload-class": "batch"})
    doc = aws_plan(
        [change("aws_eks_node_group.gpu_spot", after, after_unknown=dict(NODE_GROUP_UNKNOWN, capacity_type=False, instance_types=[False, False]))],
        [config("aws_eks_node_group.gpu_spot", {"instance_types": const(types), "capacity_type": const("SPOT")})],
        region="eu-west-1",
    )
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.instance_types == tuple(types)
    assert request.workload_class is WorkloadClass.BATCH
    assert request.workload_class_reason.startswith("label")
    [resource] = check(tmp_path, doc, catalog)["resources"]
    cheapest = min(unit(catalog, "eu-west-1", t, "spot") for t in types)
    assert resource["hourly_usd"] == pytest.approx(4 * cheapest)


def test_eks_node_group_type_from_launch_template_by_name(tmp_path, catalog):
    after = node_group([], 5, 1, 20, capacity="SPOT", launch_template=[{"name": "jp-ml-t4", "version": "$Latest"}])
    del after["instance_types"]
    doc = aws_plan(
        [
            change("aws_launch_template.t4_spot", lt("jp-ml-t4", "g4dn.2xlarge"), after_unknown={"id": True}),
            change("aws_eks_node_group.t4_spot", after, after_unknown=dict(NODE_GROUP_UNKNOWN, capacity_type=False, launch_template=[{"id": True}])),
        ],
        [
            config("aws_launch_template.t4_spot", {"instance_type": const("g4dn.2xlarge")}),
            config("aws_eks_node_group.t4_spot", {"capacity_type": const("SPOT"), "launch_template": [{"name": ref("aws_launch_template.t4_spot.name", "aws_launch_template.t4_spot")}]}),
        ],
        region="ap-northeast-1",
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type == "g4dn.2xlarge"
    assert request.purchase_option is PurchaseOption.SPOT
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (5, 1, 20)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(5 * unit(catalog, "ap-northeast-1", "g4dn.2xlarge", "spot"))


def test_eks_node_group_without_instance_types_uses_the_eks_default(tmp_path):
    after = node_group([], 1, 1, 2)
    del after["instance_types"]
    doc = aws_plan([change("aws_eks_node_group.d", after, after_unknown=NODE_GROUP_UNKNOWN)], [config("aws_eks_node_group.d", {})])
    [request] = read(tmp_path, doc)
    assert request.instance_type == "t3.medium"
    assert any("EKS default" in note for note in request.notes)


def test_eks_node_group_instance_types_configured_but_unknown_is_unpriced(tmp_path, catalog):
    after = node_group([], 1, 1, 2)
    del after["instance_types"]
    doc = aws_plan(
        [change("aws_eks_node_group.v", after, after_unknown=NODE_GROUP_UNKNOWN)],
        [config("aws_eks_node_group.v", {"instance_types": ref("var.types")})],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type is None
    assert "instance_types" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert resource["unpriced_reason"] == "instance type is unknown at plan time"


def test_eks_node_group_desired_zero_costs_nothing_but_keeps_the_ceiling(tmp_path, catalog):
    doc = aws_plan([change("aws_eks_node_group.parked", node_group(["g5.12xlarge"], 0, 0, 6, capacity="ON_DEMAND"), after_unknown={})], region="ap-northeast-1")
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == 0
    assert resource["unpriced_reason"] is None
    assert (resource["quantity"], resource["quantity_max"]) == (0, 6)
    assert resource["gpus"]["count_per_instance"] == 4
    assert resource["price"]["unit_hourly_usd"] == pytest.approx(unit(catalog, "ap-northeast-1", "g5.12xlarge"))


def test_eks_update_prices_before_and_after(tmp_path, catalog):
    before = node_group(["g5.2xlarge"], 2, 1, 4, capacity="ON_DEMAND")
    after = node_group(["g5.2xlarge"], 6, 1, 10, capacity="ON_DEMAND")
    doc = aws_plan([change("aws_eks_node_group.gpu", after, before=before, actions=["update"], after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.action is Action.UPDATE
    assert request.before.quantity.desired == 2
    [resource] = check(tmp_path, doc, catalog)["resources"]
    price = unit(catalog, "us-east-1", "g5.2xlarge")
    assert resource["before"]["quantity"] == 2
    assert resource["quantity"] == 6
    assert resource["delta_monthly_usd"] == pytest.approx(round(4 * price * 730, 2), abs=0.01)


def test_eks_cluster_is_not_a_request(tmp_path):
    doc = aws_plan([change("aws_eks_cluster.this", {"name": "c", "role_arn": "arn"}, after_unknown={})])
    assert read(tmp_path, doc) == []


# --- aws_batch_compute_environment --------------------------------------------------------------


def batch(kind, types, low, desired, high, tags=None, instance_tags=None):
    resources = {"type": kind, "instance_type": types, "min_vcpus": low, "max_vcpus": high, "tags": instance_tags}
    if desired is not None:
        resources["desired_vcpus"] = desired
    return {"compute_environment_name": "ce", "type": "MANAGED", "compute_resources": [resources], "tags": tags, "tags_all": tags}


def test_batch_vcpus_converted_to_instances(tmp_path, catalog):
    doc = aws_plan([change("aws_batch_compute_environment.cpu_warm", batch("EC2", ["c6i.4xlarge"], 16, 16, 64), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.quantity.unit is CapacityUnit.VCPUS
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (16, 16, 64)
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert request.workload_class is WorkloadClass.BATCH
    [resource] = check(tmp_path, doc, catalog)["resources"]
    # c6i.4xlarge has 16 vCPUs: 16 vCPUs at rest = 1 instance, 64 at most = 4.
    assert (resource["quantity"], resource["quantity_min"], resource["quantity_max"]) == (1, 1, 4)
    assert resource["capacity_vcpus"] == {"desired": 16, "min": 16, "max": 64}
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-east-1", "c6i.4xlarge"))


def test_batch_vcpus_round_up_to_whole_instances(tmp_path, catalog):
    doc = aws_plan([change("aws_batch_compute_environment.a100", batch("EC2", ["p4d.24xlarge"], 0, 0, 192), after_unknown={})])
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert (resource["quantity"], resource["quantity_max"]) == (0, 2)  # 192 / 96 vCPUs
    assert resource["gpus"]["count_per_instance"] == 8
    assert resource["hourly_usd"] == 0


def test_batch_spot_environment_is_spot_and_desired_defaults_to_min(tmp_path):
    after = batch("SPOT", ["g5.xlarge", "g4dn.2xlarge"], 8, None, 256, instance_tags={"team": "bio"})
    after["compute_resources"][0]["bid_percentage"] = 60
    doc = aws_plan([change("aws_batch_compute_environment.gpu_spot", after, after_unknown={"compute_resources": [{"desired_vcpus": True}]})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert "60%" in request.purchase_reason
    assert request.instance_types == ("g4dn.2xlarge", "g5.xlarge")  # a set: the plan sorts it
    assert request.quantity.desired == 8
    assert request.tags == {"team": "bio"}  # compute_resources.tags are the instances' tags


def test_batch_fargate_and_unmanaged_environments_are_not_instance_requests(tmp_path):
    fargate = batch("FARGATE_SPOT", None, None, None, 16)
    unmanaged = {"compute_environment_name": "u", "type": "UNMANAGED", "compute_resources": [], "tags": None}
    doc = aws_plan(
        [
            change("aws_batch_compute_environment.fargate", fargate, after_unknown={}),
            change("aws_batch_compute_environment.unmanaged", unmanaged, after_unknown={}),
        ]
    )
    assert read(tmp_path, doc) == []


# --- SageMaker ----------------------------------------------------------------------------------


def endpoint_config(*variants, shadow=()):
    return {"name": "summarizer", "production_variants": list(variants), "shadow_production_variants": list(shadow), "tags": {"team": "ml"}, "tags_all": {"team": "ml"}}


def variant(name, instance_type, count, weight=1.0, **extra):
    return {"variant_name": name, "instance_type": instance_type, "initial_instance_count": count, "initial_variant_weight": weight, "serverless_config": [], **extra}


def test_sagemaker_variants_are_separate_requests(tmp_path, catalog):
    after = endpoint_config(variant("v1", "ml.g5.2xlarge", 2, 0.8), variant("v2", "ml.g5.12xlarge", 1, 0.2))
    doc = aws_plan(
        [
            change("aws_sagemaker_endpoint_configuration.summarizer", after, after_unknown={}),
            change("aws_sagemaker_endpoint.summarizer", {"name": "summarizer"}, after_unknown={"endpoint_config_name": True}),
        ],
        region="us-west-2",
    )
    requests = by_address(read(tmp_path, doc))
    # The endpoint deploys the configuration: its variants are priced once.
    assert set(requests) == {"aws_sagemaker_endpoint_configuration.summarizer variant v1", "aws_sagemaker_endpoint_configuration.summarizer variant v2"}
    v1 = requests["aws_sagemaker_endpoint_configuration.summarizer variant v1"]
    v2 = requests["aws_sagemaker_endpoint_configuration.summarizer variant v2"]
    assert (v1.instance_type, v1.quantity.desired) == ("ml.g5.2xlarge", 2)  # weight 0.8 is a traffic split
    assert (v2.instance_type, v2.quantity.desired) == ("ml.g5.12xlarge", 1)
    assert v1.purchase_option is PurchaseOption.ON_DEMAND
    assert v1.workload_class is WorkloadClass.ONLINE

    resources = by_address(check(tmp_path, doc, catalog)["resources"])
    for key, gpus in (("aws_sagemaker_endpoint_configuration.summarizer variant v1", 1), ("aws_sagemaker_endpoint_configuration.summarizer variant v2", 4)):
        resource = resources[key]
        assert resource["hourly_usd"] is None  # never the EC2 g5 price, never $0
        assert "SageMaker" in resource["unpriced_reason"]
        assert resource["gpus"]["count_per_instance"] == gpus
        assert resource["gpus"]["model"] == "A10G"


def test_sagemaker_serverless_variant_is_not_an_instance_request(tmp_path):
    serverless = variant("sls", None, None, serverless_config=[{"max_concurrency": 5, "memory_size_in_mb": 2048}])
    doc = aws_plan([change("aws_sagemaker_endpoint_configuration.e", endpoint_config(serverless, variant("gpu", "ml.g5.xlarge", 1)), after_unknown={})])
    requests = read(tmp_path, doc)
    assert [r.component for r in requests] == ["variant gpu"]


def test_sagemaker_shadow_variant_is_its_own_request(tmp_path):
    doc = aws_plan([change("aws_sagemaker_endpoint_configuration.e", endpoint_config(variant("a", "ml.g5.xlarge", 1), shadow=[variant("s", "ml.g5.xlarge", 1)]), after_unknown={})])
    assert sorted(r.component for r in read(tmp_path, doc)) == ["shadow variant s", "variant a"]


def test_sagemaker_variant_removed_in_an_update_is_a_delete(tmp_path):
    before = endpoint_config(variant("v1", "ml.g5.2xlarge", 2), variant("v2", "ml.g5.12xlarge", 1))
    after = endpoint_config(variant("v1", "ml.g5.2xlarge", 3))
    doc = aws_plan([change("aws_sagemaker_endpoint_configuration.e", after, before=before, actions=["update"], after_unknown={})])
    requests = by_address(read(tmp_path, doc))
    v1 = requests["aws_sagemaker_endpoint_configuration.e variant v1"]
    v2 = requests["aws_sagemaker_endpoint_configuration.e variant v2"]
    assert v1.action is Action.UPDATE and v1.quantity.desired == 3 and v1.before.quantity.desired == 2
    assert v2.action is Action.DELETE and v2.before is not None


def test_sagemaker_notebook_instance_is_one_unpriced_ml_instance(tmp_path, catalog):
    doc = aws_plan([change("aws_sagemaker_notebook_instance.research", {"name": "r", "instance_type": "ml.g5.xlarge", "tags": {"team": "ml"}, "tags_all": {"team": "ml"}}, after_unknown={})], region="us-west-2")
    [request] = read(tmp_path, doc)
    assert (request.instance_type, request.quantity.desired) == ("ml.g5.xlarge", 1)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "SageMaker" in resource["unpriced_reason"]
    assert resource["gpus"]["count_per_instance"] == 1


# --- actions and diffs --------------------------------------------------------------------------


def test_replace_create_before_destroy_is_replace(tmp_path, catalog):
    doc = aws_plan([change("aws_instance.t", instance("g5.xlarge"), before=instance("g5.xlarge"), actions=["create", "delete"], after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.action is Action.REPLACE
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["action"] == "replace"
    assert resource["delta_monthly_usd"] == 0  # same type: not a cost change
    assert resource["before_monthly_usd"] == resource["monthly_usd"] > 0


def test_replace_delete_before_create_is_replace(tmp_path, catalog):
    doc = aws_plan([change("aws_instance.t", instance("g5.2xlarge"), before=instance("g5.xlarge"), actions=["delete", "create"], after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.action is Action.REPLACE
    assert request.before.instance_type == "g5.xlarge"
    [resource] = check(tmp_path, doc, catalog)["resources"]
    expected = (unit(catalog, "us-east-1", "g5.2xlarge") - unit(catalog, "us-east-1", "g5.xlarge")) * 730
    assert resource["delta_monthly_usd"] == pytest.approx(expected, abs=0.01)


def test_update_in_place_type_change_prices_before_and_after(tmp_path, catalog):
    doc = aws_plan([change("aws_instance.ranker", instance("g5.12xlarge"), before=instance("g5.xlarge"), actions=["update"], after_unknown={})])
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["action"] == "update"
    assert resource["instance_type"] == "g5.12xlarge"
    assert resource["before"]["instance_type"] == "g5.xlarge"
    assert resource["gpus"]["count_per_instance"] == 4
    assert resource["before_monthly_usd"] == pytest.approx(round(unit(catalog, "us-east-1", "g5.xlarge") * 730, 2))
    assert resource["delta_monthly_usd"] > 0


def test_delete_is_a_negative_delta_described_by_what_it_was(tmp_path, catalog):
    doc = aws_plan([change("aws_instance.legacy_v100", None, before=instance("p3.2xlarge"), actions=["delete"], after_unknown=None)])
    [request] = read(tmp_path, doc)
    assert request.action is Action.DELETE
    assert request.instance_type == "p3.2xlarge"
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == 0
    assert resource["delta_monthly_usd"] == pytest.approx(-round(unit(catalog, "us-east-1", "p3.2xlarge") * 730, 2))
    assert resource["gpus"]["model"] == "V100-16GB"


def test_no_op_is_zero_delta_but_part_of_the_running_total(tmp_path, catalog):
    values = instance("r6i.2xlarge")
    doc = aws_plan([change("aws_instance.feature_store", values, before=values, actions=["no-op"], after_unknown={})])
    report = check(tmp_path, doc, catalog)
    [resource] = report["resources"]
    assert resource["action"] == "no-op"
    assert resource["delta_monthly_usd"] == 0
    monthly = round(unit(catalog, "us-east-1", "r6i.2xlarge") * 730, 2)
    assert report["totals"]["monthly_usd"] == pytest.approx(monthly)
    assert report["totals"]["before_monthly_usd"] == pytest.approx(monthly)
    assert report["totals"]["delta_monthly_usd"] == 0


def test_forget_is_not_a_saving_and_says_the_machines_keep_running(tmp_path, catalog):
    values = instance("t3.micro")
    doc = aws_plan([change("aws_instance.kept", values, before=values, actions=["forget"], after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.action is Action.NO_OP
    assert any("forget" in note for note in request.notes)


def test_read_action_data_source_is_ignored(tmp_path):
    data = change("data.aws_instance.existing", instance("p4d.24xlarge"), actions=["read"], mode="data", after_unknown={})
    managed_read = change("aws_instance.odd", instance("p4d.24xlarge"), actions=["read"], after_unknown={})
    kept = change("aws_instance.kept", instance("t3.micro"), after_unknown={})
    [request] = read(tmp_path, aws_plan([data, managed_read, kept]))
    assert request.address == "aws_instance.kept"


def test_every_registered_resource_type_has_a_test():
    # This file, test_plan_resources_gcp.py and test_plan_resources_azure.py cover these types;
    # a new @extractor must come with tests.
    assert set(EXTRACTORS) == {
        "aws_instance",
        "aws_spot_instance_request",
        "aws_autoscaling_group",
        "aws_eks_node_group",
        "aws_batch_compute_environment",
        "aws_sagemaker_endpoint_configuration",
        "aws_sagemaker_notebook_instance",
        "google_compute_instance",
        "google_compute_instance_group_manager",
        "google_compute_region_instance_group_manager",
        "google_container_node_pool",
        "google_container_cluster",
        "azurerm_linux_virtual_machine",
        "azurerm_windows_virtual_machine",
        "azurerm_virtual_machine",
        "azurerm_linux_virtual_machine_scale_set",
        "azurerm_windows_virtual_machine_scale_set",
        "azurerm_kubernetes_cluster",
        "azurerm_kubernetes_cluster_node_pool",
    }

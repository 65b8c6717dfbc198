"""AWS resource types that ask for EC2 capacity (or SageMaker ML instances)."""

from __future__ import annotations

import math
from typing import Any

from tollgate.engine.model import (
    CapacityUnit,
    ComputeRequest,
    Provider,
    PurchaseMix,
    PurchaseOption,
    Quantity,
    WorkloadClass,
)
from tollgate.engine.terraform.plan_context import aws_region_from_zone
from tollgate.engine.terraform.view import ResourceView, as_dict, as_list, dig, extractor, in_module, node_group_nodes, string_map

AWS = Provider.AWS
EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"


# --- shared helpers ---------------------------------------------------------------------------
def aws_region(view: ResourceView) -> tuple[str | None, str | None]:
    # hashicorp/aws 6 lets a resource set its own region; it wins over the provider's.
    region = view.string("region")
    if region:
        return region, "resource region argument"
    region = view.ctx.provider_attribute(view.resource, "aws", "region")
    if region:
        return region, "provider configuration"
    zone = view.string("availability_zone")
    from_zone = aws_region_from_zone(zone)
    if from_zone:
        return from_zone, f"availability_zone {zone}"
    view.mark_unknown("region")
    return None, None


def aws_tags(view: ResourceView) -> tuple[dict[str, str], bool]:
    """Tags the instances will carry. `tags_all` includes the provider's default_tags.

    In a create plan `tags_all` is unknown whenever `tags` is null and the provider has no
    default_tags; that means "no tags", not "maybe tagged".
    """
    tags_all = view.get("tags_all")
    if isinstance(tags_all, dict):
        return string_map(tags_all), True
    if view.unknown("tags"):
        view.mark_unknown("tags")
        return view.ctx.default_tags(view.resource), False
    merged = view.ctx.default_tags(view.resource)
    merged.update(string_map(view.get("tags")))
    return merged, True


def aws_request(view: ResourceView, *, tags: tuple[dict[str, str], bool] | None = None, **fields: Any) -> ComputeRequest:
    """A request in the resource's AWS region, carrying the instances' tags unless `tags` is given."""
    region, region_source = aws_region(view)
    tag_map, tags_known = tags if tags is not None else aws_tags(view)
    return view.request(
        provider=AWS, region=region, region_source=region_source, tags=tag_map, tags_known=tags_known, **fields
    )


def linked_launch_template(view: ResourceView, *attributes: str) -> dict[str, Any] | None:
    """The launch template a group uses: by configuration reference, else by literal id or name."""
    for attribute in attributes:
        linked = view.ctx.referenced(view.resource, attribute, "aws_launch_template")
        if linked:
            if len(linked) > 1:
                view.note(f"{len(linked)} launch templates match; used {linked[0].address}")
            return linked[0].values_in(view.state)
    specs: list[dict[str, Any]] = []
    for attribute in attributes:
        block = view.first_block(attribute)
        if attribute == "mixed_instances_policy":
            block = as_dict(dig(block, "launch_template", 0, "launch_template_specification", 0))
        if isinstance(block, dict) and block:
            specs.append(block)
    for spec in specs:
        # hashicorp/aws writes the literal string "unknown" for some unknown ids: not an id.
        for key, attribute in (("id", "id"), ("launch_template_id", "id"), ("name", "name"), ("launch_template_name", "name")):
            value = spec.get(key)
            if isinstance(value, str) and value and value != "unknown":
                matches = view.ctx.find_by_attribute("aws_launch_template", attribute, value)
                if matches:
                    return matches[0].values_in(view.state)
    return None


def template_instance_tags(template: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for spec in as_list(template.get("tag_specifications")):
        if isinstance(spec, dict) and spec.get("resource_type") == "instance":
            tags.update(string_map(spec.get("tags")))
    return tags


def _market_option(market: dict[str, Any], where: str) -> tuple[PurchaseOption, str] | None:
    market_type = market.get("market_type")
    if market_type == "spot":
        return PurchaseOption.SPOT, f"{where}.market_type = spot"
    if market_type == "capacity-block":
        return PurchaseOption.RESERVED, f"{where}.market_type = capacity-block (prepaid EC2 Capacity Block)"
    return None


def _instance_purchase(view: ResourceView, template: dict[str, Any] | None) -> tuple[PurchaseOption, str]:
    market = view.first_block("instance_market_options")
    option = _market_option(market, "instance_market_options") if market else None
    if option:
        return option
    if view.unknown("instance_market_options"):
        if view.ctx.is_configured(view.resource, "instance_market_options"):
            view.mark_unknown("instance_market_options")
            return PurchaseOption.UNKNOWN, "instance_market_options is unknown at plan time"
    if template:
        market = as_dict(dig(template, "instance_market_options", 0))
        option = _market_option(market, "launch template instance_market_options")
        if option:
            return option
    return PurchaseOption.ON_DEMAND, "no spot market options: AWS default on-demand"


def scaling_quantity(
    view: ResourceView, desired: str, minimum: str, maximum: str, *path: Any, default_note: str
) -> Quantity:
    low = view.integer(*path, minimum)
    high = view.integer(*path, maximum)
    count = view.integer(*path, desired)
    if count is None:
        if view.unknown(*path, desired) and not _configured_nested(view, path, desired) and low is not None:
            count = low
            view.note(default_note)
        else:
            view.mark_unknown(desired)
    return Quantity(desired=count, min=low, max=high)


def _configured_nested(view: ResourceView, path: tuple[Any, ...], attribute: str) -> bool:
    expressions = view.ctx.expressions(view.resource)
    node: Any = expressions
    for key in [p for p in path if isinstance(p, str)]:
        node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            node = node[0] if node else None
    return isinstance(node, dict) and attribute in node


# --- extractors -------------------------------------------------------------------------------
@extractor("aws_instance", AWS)
def aws_instance(view: ResourceView) -> list[ComputeRequest]:
    template = linked_launch_template(view, "launch_template") if view.first_block("launch_template") or view.unknown("launch_template") else None
    instance_type = view.string("instance_type")
    if instance_type is None and template:
        instance_type = template.get("instance_type") if isinstance(template.get("instance_type"), str) else None
        if instance_type:
            view.note("instance_type from the launch template")
    if instance_type is None and view.unknown("instance_type"):
        view.mark_unknown("instance_type")
    option, reason = _instance_purchase(view, template)
    return [
        aws_request(
            view,
            zone=view.string("availability_zone"),
            instance_type=instance_type,
            quantity=Quantity.fixed(1),
            purchase_option=option,
            purchase_reason=reason,
        )
    ]


@extractor("aws_spot_instance_request", AWS)
def aws_spot_instance_request(view: ResourceView) -> list[ComputeRequest]:
    instance_type = view.string("instance_type")
    if instance_type is None and view.unknown("instance_type"):
        view.mark_unknown("instance_type")
    cap = view.string("spot_price")
    view.note(
        f"spot_price {cap} is a bid cap, not the price paid" if cap else "no spot_price: AWS caps the bid at the on-demand price"
    )
    return [
        aws_request(
            view,
            zone=view.string("availability_zone"),
            instance_type=instance_type,
            quantity=Quantity.fixed(1),
            purchase_option=PurchaseOption.SPOT,
            purchase_reason="aws_spot_instance_request",
        )
    ]


def _linked_launch_configuration(view: ResourceView) -> dict[str, Any] | None:
    linked = view.ctx.referenced(view.resource, "launch_configuration", "aws_launch_configuration")
    if linked:
        return linked[0].values_in(view.state)
    name = view.string("launch_configuration")
    if name:
        matches = view.ctx.find_by_attribute("aws_launch_configuration", "name", name)
        if matches:
            return matches[0].values_in(view.state)
    return None


def mixed_on_demand_count(desired: int, base: int, percentage: int) -> int:
    """On-demand instances AWS launches in a mixed group: the base, then the percentage of the
    rest, rounded up (AWS rounds the on-demand share up)."""
    base = min(base, desired)
    return base + math.ceil((desired - base) * percentage / 100)


@extractor("aws_autoscaling_group", AWS)
def aws_autoscaling_group(view: ResourceView) -> list[ComputeRequest]:
    template = linked_launch_template(view, "launch_template", "mixed_instances_policy")
    configuration = None if template else _linked_launch_configuration(view)
    policy = view.first_block("mixed_instances_policy")
    quantity = scaling_quantity(
        view, "desired_capacity", "min_size", "max_size",
        default_note="desired_capacity not set: AWS starts the group at min_size",
    )
    base_type = None
    if template and isinstance(template.get("instance_type"), str):
        base_type = template["instance_type"]
    elif configuration and isinstance(configuration.get("instance_type"), str):
        base_type = configuration["instance_type"]

    purchase_mix = None
    if policy:
        overrides = [
            o["instance_type"]
            for o in as_list(dig(policy, "launch_template", 0, "override"))
            if isinstance(o, dict) and isinstance(o.get("instance_type"), str)
        ]
        if any(isinstance(o, dict) and o.get("weighted_capacity") for o in as_list(dig(policy, "launch_template", 0, "override"))):
            view.note("override weighted_capacity is set: capacity units are counted as instances")
        types = overrides or ([base_type] if base_type else [])
        distribution = as_dict(dig(policy, "instances_distribution", 0))
        base = distribution.get("on_demand_base_capacity")
        percentage = distribution.get("on_demand_percentage_above_base_capacity")
        base = base if isinstance(base, int) else 0
        percentage = percentage if isinstance(percentage, int) else 100
        if quantity.desired is not None:
            on_demand = mixed_on_demand_count(quantity.desired, base, percentage)
            purchase_mix = PurchaseMix(on_demand=on_demand, spot=quantity.desired - on_demand)
        option, reason = _mix_option(purchase_mix, base, percentage)
        if overrides:
            view.note(f"instance types from {len(overrides)} mixed-instances overrides")
    else:
        types = [base_type] if base_type else []
        option, reason = _instance_purchase_from_template(template, configuration)
    if not types:
        if template is None and configuration is None:
            # The template id is unknown until apply and no static reference names it (a dynamic
            # block, or a template managed elsewhere): the type is unknown, say why.
            view.mark_unknown("launch_template")
            view.note("launch template not resolved: its id is unknown at plan time and no static reference or name identifies it")
        else:
            view.mark_unknown("instance_type")
    tags = template_instance_tags(template) if template else {}
    tags.update(_asg_propagated_tags(view))
    return [
        aws_request(
            view,
            tags=(tags, not view.unknown("tag")),
            instance_type=types[0] if types else None,
            instance_types=tuple(types),
            quantity=quantity,
            purchase_option=option,
            purchase_reason=reason,
            purchase_mix=purchase_mix,
        )
    ]


def _mix_option(mix: PurchaseMix | None, base: int, percentage: int) -> tuple[PurchaseOption, str]:
    detail = f"mixed instances: on-demand base {base}, {percentage}% on-demand above base"
    if mix is None:
        if base == 0 and percentage == 0:
            return PurchaseOption.SPOT, detail
        if percentage == 100:
            return PurchaseOption.ON_DEMAND, detail
        return PurchaseOption.UNKNOWN, detail + " (desired size unknown)"
    if mix.spot == 0:
        return PurchaseOption.ON_DEMAND, detail
    if mix.on_demand == 0:
        return PurchaseOption.SPOT, detail
    majority = PurchaseOption.SPOT if mix.spot >= mix.on_demand else PurchaseOption.ON_DEMAND
    return majority, f"{detail}: {mix.on_demand} on-demand + {mix.spot} spot"


def _instance_purchase_from_template(
    template: dict[str, Any] | None, configuration: dict[str, Any] | None
) -> tuple[PurchaseOption, str]:
    if template:
        option = _market_option(as_dict(dig(template, "instance_market_options", 0)), "launch template instance_market_options")
        if option:
            return option
    if configuration and configuration.get("spot_price"):
        return PurchaseOption.SPOT, "launch configuration sets spot_price"
    return PurchaseOption.ON_DEMAND, "no mixed instances policy or spot options: on-demand"


def _asg_propagated_tags(view: ResourceView) -> dict[str, str]:
    tags: dict[str, str] = {}
    # `tags` is a list of maps in old configurations (and a map elsewhere): only the list form counts
    for block in view.items("tag") + as_list(view.get("tags")):
        if isinstance(block, dict) and block.get("propagate_at_launch") in (True, "true") and isinstance(block.get("key"), str):
            tags[block["key"]] = "" if block.get("value") is None else str(block.get("value"))
    return tags


@extractor("aws_eks_node_group", AWS)
def aws_eks_node_group(view: ResourceView) -> list[ComputeRequest]:
    types = [t for t in view.items("instance_types") if isinstance(t, str)]
    template = linked_launch_template(view, "launch_template") if (view.first_block("launch_template") or view.unknown("launch_template")) else None
    if not types and template and isinstance(template.get("instance_type"), str):
        types = [template["instance_type"]]
        view.note("instance type from the launch template")
    if not types:
        if view.unknown("instance_types") and view.ctx.is_configured(view.resource, "instance_types"):
            view.mark_unknown("instance_types")
        else:
            types = [EKS_DEFAULT_INSTANCE_TYPE]
            view.note(f"instance_types not set: EKS default {EKS_DEFAULT_INSTANCE_TYPE}")
    capacity = view.string("capacity_type")
    if capacity == "SPOT":
        option, reason = PurchaseOption.SPOT, "capacity_type = SPOT"
    elif capacity == "CAPACITY_BLOCK":
        option, reason = PurchaseOption.RESERVED, "capacity_type = CAPACITY_BLOCK (prepaid EC2 Capacity Block)"
    elif capacity == "ON_DEMAND":
        option, reason = PurchaseOption.ON_DEMAND, "capacity_type = ON_DEMAND"
    elif view.unknown("capacity_type") and view.ctx.is_configured(view.resource, "capacity_type"):
        view.mark_unknown("capacity_type")
        option, reason = PurchaseOption.UNKNOWN, "capacity_type is unknown at plan time"
    else:
        option, reason = PurchaseOption.ON_DEMAND, "capacity_type not set: EKS default ON_DEMAND"
    quantity = scaling_quantity(
        view, "desired_size", "min_size", "max_size", "scaling_config", 0,
        default_note="desired_size unknown: using min_size",
    )
    labels, unknown_labels = view.label_map("labels")
    taints, taints_known = view.taint_blocks("taint")
    capacity_label = capacity if capacity in ("ON_DEMAND", "SPOT", "CAPACITY_BLOCK") else None
    if capacity is None and option is PurchaseOption.ON_DEMAND:
        capacity_label = "ON_DEMAND"
    implicit = {EKS_NODEGROUP_LABEL: _eks_node_group_name(view), EKS_CAPACITY_LABEL: capacity_label}
    return [
        aws_request(
            view,
            instance_type=types[0] if types else None,
            instance_types=tuple(types),
            quantity=quantity,
            purchase_option=option,
            purchase_reason=reason,
            labels=string_map(view.get("labels")),
            node_group=node_group_nodes(labels, unknown_labels, implicit, taints, taints_known),
        )
    ]


EKS_NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
EKS_CAPACITY_LABEL = "eks.amazonaws.com/capacityType"
EKS_MODULE_SOURCES = ("terraform-aws-modules/eks/aws", "terraform-aws-modules/terraform-aws-eks")


def _eks_node_group_name(view: ResourceView) -> str | None:
    """The value of the `eks.amazonaws.com/nodegroup` label EKS puts on the group's nodes: its
    name, when known at plan time (None with node_group_name_prefix or a generated name)."""
    # A plan computes node_group_name_prefix (unknown) even when the name is set: only a prefix
    # that is really given, or a name that is unknown, means a generated name.
    if view.unknown("node_group_name") or view.string("node_group_name_prefix"):
        return None
    name = view.string("node_group_name")
    if name is None:
        return None
    if "node_group_name_prefix" not in view.values and in_module(view, EKS_MODULE_SOURCES):
        # Read from the module call without its code (no plan): terraform-aws-modules/eks names the
        # group with its name as a prefix unless use_name_prefix = false, which the call does not show.
        return None
    return name


@extractor("aws_batch_compute_environment", AWS)
def aws_batch_compute_environment(view: ResourceView) -> list[ComputeRequest]:
    resources = view.first_block("compute_resources")
    if not resources:
        return []  # UNMANAGED environments bring their own instances
    kind = resources.get("type")
    if isinstance(kind, str) and kind.startswith("FARGATE"):
        return []  # Fargate is priced per task, not per instance
    types = sorted(t for t in as_list(resources.get("instance_type")) if isinstance(t, str))
    if not types:
        view.mark_unknown("instance_type")
    if kind == "SPOT":
        bid = resources.get("bid_percentage")
        option, reason = PurchaseOption.SPOT, "compute_resources.type = SPOT" + (f" (bid at most {bid}% of on-demand)" if bid else "")
    elif kind == "EC2":
        option, reason = PurchaseOption.ON_DEMAND, "compute_resources.type = EC2 (on-demand)"
    else:
        option, reason = PurchaseOption.UNKNOWN, "compute_resources.type is unknown at plan time"
    low = view.integer("compute_resources", 0, "min_vcpus")
    high = view.integer("compute_resources", 0, "max_vcpus")
    desired = view.integer("compute_resources", 0, "desired_vcpus")
    if desired is None:
        desired = low
        view.note("desired_vcpus not set: Batch keeps min_vcpus running at rest")
    instance_tags = string_map(resources.get("tags"))
    return [
        aws_request(
            view,
            tags=(instance_tags, True) if instance_tags else None,
            instance_type=types[0] if types else None,
            instance_types=tuple(types),
            quantity=Quantity(desired=desired, min=low, max=high, unit=CapacityUnit.VCPUS),
            purchase_option=option,
            purchase_reason=reason,
            default_workload=(WorkloadClass.BATCH, "AWS Batch compute environment"),
        )
    ]


@extractor("aws_sagemaker_endpoint_configuration", AWS)
def aws_sagemaker_endpoint_configuration(view: ResourceView) -> list[ComputeRequest]:
    tags = aws_tags(view)
    requests = []
    for kind in ("production_variants", "shadow_production_variants"):
        for variant in view.items(kind):
            if not isinstance(variant, dict) or dig(variant, "serverless_config", 0):
                continue  # serverless variants are billed per request, not per instance
            count = variant.get("initial_instance_count")
            name = variant.get("variant_name") or "?"
            requests.append(
                aws_request(
                    view,
                    tags=tags,
                    instance_type=variant.get("instance_type") if isinstance(variant.get("instance_type"), str) else None,
                    quantity=Quantity.fixed(count if isinstance(count, int) else None),
                    purchase_option=PurchaseOption.ON_DEMAND,
                    purchase_reason="SageMaker endpoints run on-demand",
                    component=f"{'shadow ' if kind.startswith('shadow') else ''}variant {name}",
                    default_workload=(WorkloadClass.ONLINE, "SageMaker real-time endpoint"),
                )
            )
    return requests


@extractor("aws_sagemaker_notebook_instance", AWS)
def aws_sagemaker_notebook_instance(view: ResourceView) -> list[ComputeRequest]:
    return [
        aws_request(
            view,
            instance_type=view.string("instance_type"),
            quantity=Quantity.fixed(1),
            purchase_option=PurchaseOption.ON_DEMAND,
            purchase_reason="SageMaker notebook instances run on-demand",
        )
    ]

"""Google Cloud resource types that ask for Compute Engine capacity."""

from __future__ import annotations

import re
from typing import Any

from tollgate.engine.model import Accelerator, ComputeRequest, NodeGroupNodes, Provider, PurchaseOption, Quantity
from tollgate.engine.terraform.view import ResourceView, as_dict, as_list, dig, extractor, in_module, node_group_nodes, string_map

GCP = Provider.GCP
GKE_DEFAULT_MACHINE_TYPE = "e2-medium"
GKE_DEFAULT_ZONES_PER_REGION = 3
_ZONE_RE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")
_REGION_RE = re.compile(r"^[a-z]+-[a-z]+\d+$")


def last_segment(value: str | None) -> str | None:
    """GCP accepts self links: 'projects/p/zones/us-central1-a/machineTypes/n1-standard-1'."""
    return value.rstrip("/").rsplit("/", 1)[-1] if value else None


def split_location(location: str | None) -> tuple[str | None, str | None]:
    """-> (region, zone). A zone is a region plus '-a'; anything else is left as it is."""
    location = last_segment(location)
    if not location:
        return None, None
    match = _ZONE_RE.match(location)
    if match:
        return match.group(1), location
    if _REGION_RE.match(location):
        return location, None
    return location, None  # not a GCP location; pricing reports it as an unknown region


def gcp_region(view: ResourceView, *attributes: str) -> tuple[str | None, str | None, str | None]:
    """(region, zone, how it was found) from the resource's own location attributes, else the provider."""
    for attribute in attributes:
        region, zone = split_location(view.string(attribute))
        if region:
            return region, zone, f"{attribute} attribute"
    for provider in ("google", "google-beta"):
        for attribute in ("zone", "region"):
            region, zone = split_location(view.ctx.provider_attribute(view.resource, provider, attribute))
            if region:
                return region, zone, f"provider {attribute}"
    view.mark_unknown("region")
    return None, None, None


def scheduling_option(scheduling: dict[str, Any], where: str) -> tuple[PurchaseOption, str]:
    if scheduling.get("provisioning_model") == "SPOT":
        return PurchaseOption.SPOT, f"{where}.provisioning_model = SPOT"
    if scheduling.get("preemptible") is True:
        return PurchaseOption.SPOT, f"{where}.preemptible = true (priced as Spot VMs)"
    return PurchaseOption.ON_DEMAND, "standard provisioning (on-demand)"


def accelerators(blocks: Any) -> tuple[Accelerator, ...]:
    found = []
    for block in as_list(blocks):
        if isinstance(block, dict) and isinstance(block.get("type"), str) and isinstance(block.get("count"), int) and block["count"] > 0:
            found.append(Accelerator(type=last_segment(block["type"]) or block["type"], count=block["count"]))
    return tuple(found)


@extractor("google_compute_instance", GCP)
def google_compute_instance(view: ResourceView) -> list[ComputeRequest]:
    machine_type = last_segment(view.string("machine_type"))
    if machine_type is None and view.unknown("machine_type"):
        view.mark_unknown("machine_type")
    option, reason = scheduling_option(view.first_block("scheduling"), "scheduling")
    region, zone, region_source = gcp_region(view, "zone")
    return [
        view.request(
            provider=GCP,
            region=region,
            zone=zone,
            region_source=region_source,
            instance_type=machine_type,
            accelerators=accelerators(view.items("guest_accelerator")),
            quantity=Quantity.fixed(1),
            purchase_option=option,
            purchase_reason=reason,
            tags=string_map(view.get("labels")),
            tags_known=not view.unknown("labels"),
        )
    ]


def _group_manager(view: ResourceView) -> list[ComputeRequest]:
    templates = view.ctx.referenced(view.resource, "version", "google_compute_instance_template")
    templates += view.ctx.referenced(view.resource, "version", "google_compute_region_instance_template")
    template: dict[str, Any] = templates[0].values_in(view.state) if templates else {}
    if not template:
        for version in view.items("version"):
            name = last_segment(version.get("instance_template") if isinstance(version, dict) else None)
            for kind in ("google_compute_instance_template", "google_compute_region_instance_template"):
                matches = view.ctx.find_by_attribute(kind, "name", name) if name else []
                if matches:
                    template = matches[0].values_in(view.state)
    machine_type = last_segment(template.get("machine_type")) if isinstance(template.get("machine_type"), str) else None
    if machine_type is None:
        view.mark_unknown("machine_type")
    else:
        view.note("machine type from the instance template")
    option, reason = scheduling_option(as_dict(dig(template, "scheduling", 0)), "instance template scheduling")
    size = view.integer("target_size")
    if size is None:
        view.mark_unknown("target_size")
    region, zone, region_source = gcp_region(view, "zone", "region")
    return [
        view.request(
            provider=GCP,
            region=region,
            zone=zone,
            region_source=region_source,
            instance_type=machine_type,
            accelerators=accelerators(template.get("guest_accelerator")),
            quantity=Quantity.fixed(size),
            purchase_option=option,
            purchase_reason=reason,
            tags=string_map(template.get("labels")),
        )
    ]


extractor("google_compute_instance_group_manager", GCP)(_group_manager)
extractor("google_compute_region_instance_group_manager", GCP)(_group_manager)


def _zones_multiplier(view: ResourceView, location: str | None, node_locations: Any) -> int | None:
    """GKE node counts are per zone: a regional pool runs that many nodes in each of its zones.
    None when the location is unknown: then so is the number of zones."""
    if isinstance(node_locations, list) and node_locations:
        if len(node_locations) > 1:
            view.note(f"node counts are per zone: x{len(node_locations)} node_locations")
        return len(node_locations)
    if location is None:
        # Hook for HCL read without a plan (engine/hcl), where `location = var.region` can be
        # unknown: a zonal pool would run the count once, a regional one three times; never guess.
        view.note("node counts are per zone and the location is unknown, so the number of nodes is unknown")
        return None
    _, zone = split_location(location)
    if location and zone is None:
        view.note(f"regional location {location}: node counts are per zone, x{GKE_DEFAULT_ZONES_PER_REGION} zones (GKE default)")
        return GKE_DEFAULT_ZONES_PER_REGION
    return 1


GKE_NODEPOOL_LABEL = "cloud.google.com/gke-nodepool"
GKE_DEFAULT_POOL_NAME = "default-pool"


def _pool_nodes(view: ResourceView, path: tuple[Any, ...], name: str | None, option: PurchaseOption, preemptible: bool) -> NodeGroupNodes:
    """The labels and taints of a pool's nodes: node_config labels and taints, plus the pool name
    and Spot/preemptible labels GKE sets. `path` leads from the resource to the pool."""
    labels, unknown = view.label_map(*path, "node_config", 0, "labels")
    taints, taints_known = view.taint_blocks(*path, "node_config", 0, "taint")
    implicit: dict[str, str | None] = {GKE_NODEPOOL_LABEL: name}
    if option is PurchaseOption.SPOT:
        implicit["cloud.google.com/gke-preemptible" if preemptible else "cloud.google.com/gke-spot"] = "true"
        implicit["cloud.google.com/gke-provisioning"] = "preemptible" if preemptible else "spot"
    else:
        implicit["cloud.google.com/gke-provisioning"] = None  # not relied on for standard nodes
    return node_group_nodes(labels, unknown, implicit, taints, taints_known)


def _pool_name(view: ResourceView, path: tuple[Any, ...], pool: dict[str, Any]) -> str | None:
    """The pool's name, None when it is generated or unknown at plan time (name_prefix)."""
    if view.unknown(*path, "name") or pool.get("name_prefix") or view.unknown(*path, "name_prefix"):
        return None
    if in_module(view, ("update-variant",)):
        return None  # the kubernetes-engine update variants suffix pool names with a random id
    name = pool.get("name")
    return name if isinstance(name, str) and name else None


def _node_pool_request(
    view: ResourceView,
    pool: dict[str, Any],
    location: str | None,
    node_locations: Any,
    component: str | None,
    cluster_labels: dict[str, str],
    path: tuple[Any, ...] = (),
    name: str | None = None,
) -> ComputeRequest:
    config = as_dict(dig(pool, "node_config", 0))
    machine_type = last_segment(config.get("machine_type")) if isinstance(config.get("machine_type"), str) else None
    if machine_type is None:
        machine_type = GKE_DEFAULT_MACHINE_TYPE
        view.note(f"machine_type not set: GKE default {GKE_DEFAULT_MACHINE_TYPE}")
    if config.get("spot") is True:
        option, reason = PurchaseOption.SPOT, "node_config.spot = true"
    elif config.get("preemptible") is True:
        option, reason = PurchaseOption.SPOT, "node_config.preemptible = true (priced as Spot VMs)"
    else:
        option, reason = PurchaseOption.ON_DEMAND, "standard nodes (on-demand)"
    zones = _zones_multiplier(view, location, pool.get("node_locations") or node_locations)
    autoscaling = as_dict(dig(pool, "autoscaling", 0))
    per_zone_count = pool.get("node_count") if isinstance(pool.get("node_count"), int) else pool.get("initial_node_count")
    low = high = None
    if autoscaling:
        if isinstance(autoscaling.get("total_min_node_count"), int) or isinstance(autoscaling.get("total_max_node_count"), int):
            low, high = autoscaling.get("total_min_node_count"), autoscaling.get("total_max_node_count")
        else:
            low = autoscaling["min_node_count"] * zones if isinstance(autoscaling.get("min_node_count"), int) and zones is not None else None
            high = autoscaling["max_node_count"] * zones if isinstance(autoscaling.get("max_node_count"), int) and zones is not None else None
    desired = per_zone_count * zones if isinstance(per_zone_count, int) and zones is not None else low
    if desired is None:
        view.mark_unknown("node_count")
    region, zone = split_location(location)
    labels = dict(cluster_labels)
    labels.update(string_map(config.get("labels")))
    return view.request(
        provider=GCP,
        region=region,
        zone=zone,
        region_source="location attribute" if region else None,
        instance_type=machine_type,
        accelerators=accelerators(config.get("guest_accelerator")),
        quantity=Quantity(desired=desired, min=low, max=high),
        purchase_option=option,
        purchase_reason=reason,
        tags=string_map(config.get("resource_labels")) | labels,
        labels=labels,
        component=component,
        node_group=_pool_nodes(view, path, name, option, config.get("spot") is not True and config.get("preemptible") is True),
    )


def _cluster_of(view: ResourceView) -> dict[str, Any]:
    clusters = view.ctx.referenced(view.resource, "cluster", "google_container_cluster")
    return clusters[0].values_in(view.state) if clusters else {}


@extractor("google_container_node_pool", GCP)
def google_container_node_pool(view: ResourceView) -> list[ComputeRequest]:
    cluster = _cluster_of(view)
    location = view.string("location") or (cluster.get("location") if isinstance(cluster.get("location"), str) else None)
    if location is None:
        region, _, _ = gcp_region(view)
        location = region
    request = _node_pool_request(view, view.values, location, cluster.get("node_locations"), None, {}, (), _pool_name(view, (), view.values))
    return [request]


@extractor("google_container_cluster", GCP)
def google_container_cluster(view: ResourceView) -> list[ComputeRequest]:
    if view.get("enable_autopilot") is True:
        return []  # Autopilot bills pods, not nodes; priced from manifests
    location = view.string("location")
    if location is None:
        region, zone, _ = gcp_region(view)
        location = zone or region
    requests = []
    if view.get("remove_default_node_pool") is not True:
        default_pool = {
            "node_config": view.get("node_config"),
            "initial_node_count": view.get("initial_node_count"),
            "node_locations": view.get("node_locations"),
        }
        if view.get("node_pool") in (None, []) or view.get("initial_node_count"):
            requests.append(_node_pool_request(view, default_pool, location, None, "default node pool", {}, (), GKE_DEFAULT_POOL_NAME))
    for index, pool in enumerate(view.items("node_pool")):
        if isinstance(pool, dict):
            name = pool.get("name") or "?"
            requests.append(_node_pool_request(
                view, pool, location, view.get("node_locations"), f"node_pool {name}", {}, ("node_pool", index),
                _pool_name(view, ("node_pool", index), pool),
            ))
    return requests

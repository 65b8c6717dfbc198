"""Azure resource types that ask for virtual machines."""

from __future__ import annotations

from typing import Any

from tollgate.engine.model import ComputeRequest, NodeGroupNodes, Provider, PurchaseOption, Quantity
from tollgate.engine.terraform.plan_context import PlanContext
from tollgate.engine.terraform.plan_file import PlanResource
from tollgate.engine.terraform.view import ResourceView, extractor, node_group_nodes, string_map

AZURE = Provider.AZURE


_LOCATION_LINKS = (
    ("location", "azurerm_resource_group"),
    ("resource_group_name", "azurerm_resource_group"),
    ("kubernetes_cluster_id", "azurerm_kubernetes_cluster"),
)


def azure_location(view: ResourceView) -> tuple[str | None, str | None]:
    """The resource's location, else the location of what it references (resource group, cluster)."""
    own = view.values.get("location")
    if isinstance(own, str) and own:
        return own, "location attribute"
    found = _linked_location(view.ctx, view.resource, depth=0)
    if found:
        return found
    view.mark_unknown("location")
    return None, None


def _linked_location(ctx: PlanContext, resource: PlanResource, depth: int) -> tuple[str, str] | None:
    # A node pool's location is its cluster's, whose location is often its resource group's:
    # follow at most two links.
    if depth > 2:
        return None
    for attribute, target in _LOCATION_LINKS:
        for linked in ctx.referenced(resource, attribute, target):
            values = linked.after if isinstance(linked.after, dict) else linked.before
            location = values.get("location") if isinstance(values, dict) else None
            if isinstance(location, str) and location:
                return location, f"location of {linked.address}"
            deeper = _linked_location(ctx, linked, depth + 1)
            if deeper:
                return deeper
    return None


def priority_option(priority: Any, where: str = "priority") -> tuple[PurchaseOption, str]:
    if isinstance(priority, str) and priority.lower() in ("spot", "low"):
        return PurchaseOption.SPOT, f"{where} = {priority}"
    return PurchaseOption.ON_DEMAND, f"{where} = {priority or 'Regular'} (pay-as-you-go)"


def _size(view: ResourceView, attribute: str) -> str | None:
    size = view.string(attribute)
    if size is None and view.unknown(attribute):
        view.mark_unknown(attribute)
    return size


def _machines(view: ResourceView, size_attribute: str, os: str, count: int | None = 1) -> list[ComputeRequest]:
    """A VM (count 1) or a scale set (count from `instances`)."""
    option, reason = priority_option(view.get("priority"))
    region, region_source = azure_location(view)
    return [
        view.request(
            provider=AZURE,
            region=region,
            region_source=region_source,
            instance_type=_size(view, size_attribute),
            quantity=Quantity.fixed(count),
            purchase_option=option,
            purchase_reason=reason,
            tags=string_map(view.get("tags")),
            tags_known=not view.unknown("tags"),
            operating_system=os,
        )
    ]


@extractor("azurerm_linux_virtual_machine", AZURE)
def azurerm_linux_virtual_machine(view: ResourceView) -> list[ComputeRequest]:
    return _machines(view, "size", "linux")


@extractor("azurerm_windows_virtual_machine", AZURE)
def azurerm_windows_virtual_machine(view: ResourceView) -> list[ComputeRequest]:
    return _machines(view, "size", "windows")


@extractor("azurerm_virtual_machine", AZURE)
def azurerm_virtual_machine(view: ResourceView) -> list[ComputeRequest]:
    return _machines(view, "vm_size", _legacy_vm_os(view))


def _legacy_vm_os(view: ResourceView) -> str:
    if view.first_block("os_profile_windows_config"):
        return "windows"
    if str(view.first_block("storage_os_disk").get("os_type") or "").lower() == "windows":
        return "windows"
    offer = str(view.first_block("storage_image_reference").get("offer") or "")
    return "windows" if "windows" in offer.lower() else "linux"


def _scale_set(view: ResourceView, os: str) -> list[ComputeRequest]:
    count = view.integer("instances")
    if count is None:
        view.mark_unknown("instances")
    return _machines(view, "sku", os, count)


@extractor("azurerm_linux_virtual_machine_scale_set", AZURE)
def azurerm_linux_virtual_machine_scale_set(view: ResourceView) -> list[ComputeRequest]:
    return _scale_set(view, "linux")


@extractor("azurerm_windows_virtual_machine_scale_set", AZURE)
def azurerm_windows_virtual_machine_scale_set(view: ResourceView) -> list[ComputeRequest]:
    return _scale_set(view, "windows")


AKS_AGENTPOOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
AKS_SPOT_LABEL = "kubernetes.azure.com/scalesetpriority"


def _aks_nodes(view: ResourceView, path: tuple[Any, ...], pool: dict[str, Any], option: PurchaseOption) -> NodeGroupNodes:
    """The labels and taints of an AKS pool's nodes: node_labels and node_taints, plus the pool
    name and Spot label and taint AKS sets. `path` leads from the resource to the pool."""
    labels, unknown = view.label_map(*path, "node_labels")
    name = pool.get("name") if isinstance(pool.get("name"), str) and pool.get("name") and not view.unknown(*path, "name") else None
    if view.resource.name == "node_pool_create_before_destroy":
        name = None  # Azure/aks (v7+) suffixes these pools' names with random characters
    implicit: dict[str, str | None] = {key: name for key in AKS_AGENTPOOL_LABELS}
    raw = pool.get("node_taints") or []
    taints_known = not view.unknown(*path, "node_taints") and isinstance(raw, list) and all(isinstance(t, str) for t in raw)
    taints = [str(t) for t in raw] if taints_known else []
    if pool.get("only_critical_addons_enabled") is True:
        taints.append("CriticalAddonsOnly=true:NoSchedule")
    if option is PurchaseOption.SPOT:
        implicit[AKS_SPOT_LABEL] = "spot"
        taints.append(f"{AKS_SPOT_LABEL}=spot:NoSchedule")
    return node_group_nodes(labels, unknown, implicit, taints, taints_known)


def _aks_pool(
    view: ResourceView, pool: dict[str, Any], region: str | None, region_source: str | None, component: str | None,
    path: tuple[Any, ...] = (),
) -> ComputeRequest:
    size = pool.get("vm_size") if isinstance(pool.get("vm_size"), str) else None
    if size is None:
        view.mark_unknown("vm_size")
    autoscale = pool.get("auto_scaling_enabled") is True or pool.get("enable_auto_scaling") is True
    low = pool.get("min_count") if autoscale and isinstance(pool.get("min_count"), int) else None
    high = pool.get("max_count") if autoscale and isinstance(pool.get("max_count"), int) else None
    count = pool.get("node_count") if isinstance(pool.get("node_count"), int) else None
    if count is None and low is not None:
        count = low
        view.note("node_count not set on an autoscaled pool: AKS starts at min_count")
    if count is None:
        view.mark_unknown("node_count")
    option, reason = priority_option(pool.get("priority"))
    tags = string_map(pool.get("tags")) or string_map(view.get("tags"))
    return view.request(
        provider=AZURE,
        region=region,
        region_source=region_source,
        instance_type=size,
        quantity=Quantity(desired=count, min=low, max=high),
        purchase_option=option,
        purchase_reason=reason,
        tags=tags,
        labels=string_map(pool.get("node_labels")),
        component=component,
        node_group=_aks_nodes(view, path, pool, option),
        operating_system="windows" if str(pool.get("os_type") or "").lower() == "windows" else "linux",
    )


@extractor("azurerm_kubernetes_cluster", AZURE)
def azurerm_kubernetes_cluster(view: ResourceView) -> list[ComputeRequest]:
    region, region_source = azure_location(view)
    pool = view.first_block("default_node_pool")
    if not pool:
        return []
    return [_aks_pool(view, pool, region, region_source, f"default_node_pool {pool.get('name') or '?'}", ("default_node_pool", 0))]


@extractor("azurerm_kubernetes_cluster_node_pool", AZURE)
def azurerm_kubernetes_cluster_node_pool(view: ResourceView) -> list[ComputeRequest]:
    region, region_source = azure_location(view)
    return [_aks_pool(view, view.values, region, region_source, None)]

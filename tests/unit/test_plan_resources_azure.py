"""Azure resource types in `terraform show -json` plans -> ComputeRequests (and prices)."""

from __future__ import annotations

import pytest

from plan_builder import by_address, change, check, config, const, plan, provider, read, ref
from tollgate.engine.model import PurchaseOption, WorkloadClass


def azure_plan(changes, resources=None):
    return plan(changes, resources=resources, providers=[provider("azurerm", features=[{}])])


def unit(catalog, region, size, option="on_demand"):
    quote = catalog.price("azure", region, size, option)
    assert hasattr(quote, "unit_hourly"), quote
    return float(quote.unit_hourly.to_decimal())


def linux_vm(size="Standard_D4s_v3", location="eastus", priority="Regular", tags=None):
    return {"name": "vm", "size": size, "location": location, "priority": priority, "resource_group_name": "rg", "tags": tags, "admin_username": "azureuser"}


def test_azure_linux_vm_is_one_pay_as_you_go_instance(tmp_path, catalog):
    doc = azure_plan([change("azurerm_linux_virtual_machine.app", linux_vm(tags={"team": "web", "workload-class": "online"}), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.provider.value == "azure"
    assert (request.instance_type, request.region, request.quantity.desired) == ("Standard_D4s_v3", "eastus", 1)
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert request.operating_system == "linux"
    assert request.tags == {"team": "web", "workload-class": "online"}
    assert request.workload_class is WorkloadClass.ONLINE
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "eastus", "Standard_D4s_v3"))


def test_azure_priority_spot_is_spot(tmp_path, catalog):
    after = linux_vm(priority="Spot")
    after.update(eviction_policy="Deallocate", max_bid_price=-1)
    doc = azure_plan([change("azurerm_linux_virtual_machine.spot", after, after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.purchase_reason == "priority = Spot"
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "eastus", "Standard_D4s_v3", "spot"))


def test_azure_size_lowercase_is_priced(tmp_path, catalog):
    doc = azure_plan([change("azurerm_linux_virtual_machine.lower", linux_vm("standard_b2ms", "westeurope"), after_unknown={})])
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["unpriced_reason"] is None
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "westeurope", "Standard_B2ms"))


def test_azure_display_name_location_is_normalised(tmp_path, catalog):
    doc = azure_plan([change("azurerm_linux_virtual_machine.display", linux_vm("Standard_B2ms", "West Europe"), after_unknown={})])
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["region"] == "westeurope"
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "westeurope", "Standard_B2ms"))


def test_azure_location_comes_from_a_referenced_resource_group(tmp_path):
    after = linux_vm()
    del after["location"]
    doc = azure_plan(
        [
            change("azurerm_resource_group.rg", {"name": "rg", "location": "northeurope"}, after_unknown={"id": True}),
            change("azurerm_linux_virtual_machine.vm", after, after_unknown={"location": True}),
        ],
        [config("azurerm_linux_virtual_machine.vm", {"location": ref("azurerm_resource_group.rg.location", "azurerm_resource_group.rg")})],
    )
    [request] = read(tmp_path, doc)
    assert request.region == "northeurope"
    assert request.region_source == "location of azurerm_resource_group.rg"


def test_azure_vm_without_any_location_is_unpriced_with_reason(tmp_path, catalog):
    after = linux_vm()
    del after["location"]
    doc = azure_plan([change("azurerm_linux_virtual_machine.vm", after, after_unknown={"location": True})])
    [request] = read(tmp_path, doc)
    assert request.region is None and "location" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert "region is unknown" in resource["unpriced_reason"]


def test_azure_vm_size_unknown_is_unpriced_not_zero(tmp_path, catalog):
    after = linux_vm()
    del after["size"]
    doc = azure_plan([change("azurerm_linux_virtual_machine.vm", after, after_unknown={"size": True})])
    [request] = read(tmp_path, doc)
    assert request.instance_type is None and "size" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert resource["unpriced_reason"] == "instance type is unknown at plan time"


def test_azure_windows_vm_is_unpriced_with_a_linux_only_reason(tmp_path, catalog):
    doc = azure_plan([change("azurerm_windows_virtual_machine.db", linux_vm("Standard_D4s_v3"), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.operating_system == "windows"
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None  # never the Linux price for a Windows VM
    assert "Linux" in resource["unpriced_reason"] and "windows" in resource["unpriced_reason"]


def legacy_vm(**blocks):
    values = {
        "name": "legacy",
        "vm_size": "Standard_D2s_v3",
        "location": "francecentral",
        "resource_group_name": "rg",
        "os_profile_windows_config": [],
        "os_profile_linux_config": [],
        "storage_os_disk": [{"name": "os", "os_type": None}],
        "storage_image_reference": [{"offer": "UbuntuServer", "publisher": "Canonical"}],
        "tags": None,
    }
    values.update(blocks)
    return values


def test_azure_legacy_virtual_machine_reads_vm_size_and_is_linux_by_default(tmp_path, catalog):
    doc = azure_plan([change("azurerm_virtual_machine.main", legacy_vm(os_profile_linux_config=[{"disable_password_authentication": True}]), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert (request.instance_type, request.operating_system) == ("Standard_D2s_v3", "linux")
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "francecentral", "Standard_D2s_v3"))


@pytest.mark.parametrize(
    "blocks",
    [
        {"os_profile_windows_config": [{"provision_vm_agent": True}]},
        {"storage_os_disk": [{"name": "os", "os_type": "Windows"}]},
        {"storage_image_reference": [{"offer": "WindowsServer", "publisher": "MicrosoftWindowsServer"}]},
    ],
    ids=["windows_config", "os_disk_type", "image_offer"],
)
def test_azure_legacy_virtual_machine_detects_windows(tmp_path, blocks):
    doc = azure_plan([change("azurerm_virtual_machine.win", legacy_vm(**blocks), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.operating_system == "windows"


def scale_set(sku="Standard_F8s_v2", instances=3, priority="Regular", location="eastus"):
    return {"name": "vmss", "sku": sku, "instances": instances, "priority": priority, "location": location, "resource_group_name": "rg", "tags": {"team": "batch"}}


def test_azure_linux_scale_set_counts_instances_and_reads_spot(tmp_path, catalog):
    doc = azure_plan(
        [
            change("azurerm_linux_virtual_machine_scale_set.regular", scale_set(), after_unknown={}),
            change("azurerm_linux_virtual_machine_scale_set.spot", scale_set(priority="Spot", instances=5), after_unknown={}),
        ]
    )
    requests = by_address(read(tmp_path, doc))
    regular = requests["azurerm_linux_virtual_machine_scale_set.regular"]
    spot = requests["azurerm_linux_virtual_machine_scale_set.spot"]
    assert (regular.instance_type, regular.quantity.desired, regular.purchase_option) == ("Standard_F8s_v2", 3, PurchaseOption.ON_DEMAND)
    assert (spot.quantity.desired, spot.purchase_option) == (5, PurchaseOption.SPOT)
    resources = by_address(check(tmp_path, doc, catalog)["resources"])
    assert resources["azurerm_linux_virtual_machine_scale_set.regular"]["hourly_usd"] == pytest.approx(3 * unit(catalog, "eastus", "Standard_F8s_v2"))


def test_azure_scale_set_with_unknown_instances_is_unpriced(tmp_path, catalog):
    after = scale_set()
    del after["instances"]
    doc = azure_plan([change("azurerm_linux_virtual_machine_scale_set.v", after, after_unknown={"instances": True})])
    [request] = read(tmp_path, doc)
    assert request.quantity.desired is None and "instances" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None and "quantity" in resource["unpriced_reason"]


def test_azure_windows_scale_set_is_windows_and_unpriced(tmp_path, catalog):
    doc = azure_plan([change("azurerm_windows_virtual_machine_scale_set.w", scale_set(), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.operating_system == "windows"
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None and "Linux" in resource["unpriced_reason"]


def aks_pool(vm_size="Standard_D4s_v3", node_count=None, low=None, high=None, priority=None, labels=None, name="pool", os_type=None):
    values = {"name": name, "vm_size": vm_size, "node_labels": labels, "tags": None}
    if low is not None or high is not None:
        values.update(auto_scaling_enabled=True, min_count=low, max_count=high)
    if node_count is not None:
        values["node_count"] = node_count
    if priority is not None:
        values["priority"] = priority
    if os_type is not None:
        values["os_type"] = os_type
    return values


def test_aks_default_node_pool_is_a_request_of_the_cluster(tmp_path, catalog):
    cluster = {"name": "aks", "location": "westus3", "default_node_pool": [aks_pool("Standard_D2s_v3", low=2, high=3, name="system")], "tags": {"team": "platform"}}
    doc = azure_plan([change("azurerm_kubernetes_cluster.main", cluster, after_unknown={"default_node_pool": [{"node_count": True}]})])
    [request] = read(tmp_path, doc)
    assert request.component == "default_node_pool system"
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (2, 2, 3)  # starts at min_count
    assert request.tags == {"team": "platform"}
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(2 * unit(catalog, "westus3", "Standard_D2s_v3"))


def test_aks_fixed_node_count_has_no_min_max(tmp_path):
    cluster = {"name": "aks", "location": "eastus", "default_node_pool": [aks_pool("Standard_D2_v2", node_count=4)]}
    doc = azure_plan([change("azurerm_kubernetes_cluster.fixed", cluster, after_unknown={})])
    [request] = read(tmp_path, doc)
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (4, None, None)


def test_aks_node_pool_location_comes_from_cluster_resource_group(tmp_path, catalog):
    cluster = {"name": "aks", "resource_group_name": "rg", "default_node_pool": [aks_pool("Standard_D2s_v3", node_count=1)]}
    node_pool = aks_pool("Standard_NC6s_v3", node_count=2, priority="Spot", labels={"workload-class": "training"}, name="gpu")
    doc = azure_plan(
        [
            change("azurerm_resource_group.rg", {"name": "rg", "location": "eastus"}, after_unknown={"id": True}),
            change("azurerm_kubernetes_cluster.aks", cluster, after_unknown={"location": True}),
            change("azurerm_kubernetes_cluster_node_pool.gpu", node_pool, after_unknown={"kubernetes_cluster_id": True}),
        ],
        [
            config("azurerm_kubernetes_cluster.aks", {"location": ref("azurerm_resource_group.rg.location", "azurerm_resource_group.rg"), "resource_group_name": ref("azurerm_resource_group.rg.name", "azurerm_resource_group.rg")}),
            config("azurerm_kubernetes_cluster_node_pool.gpu", {"kubernetes_cluster_id": ref("azurerm_kubernetes_cluster.aks.id", "azurerm_kubernetes_cluster.aks"), "vm_size": const("Standard_NC6s_v3")}),
        ],
    )
    requests = by_address(read(tmp_path, doc))
    gpu = requests["azurerm_kubernetes_cluster_node_pool.gpu"]
    assert gpu.region == "eastus"
    assert gpu.purchase_option is PurchaseOption.SPOT
    assert gpu.workload_class is WorkloadClass.BATCH  # node label workload-class=training
    assert requests["azurerm_kubernetes_cluster.aks default_node_pool pool"].region == "eastus"
    resources = by_address(check(tmp_path, doc, catalog)["resources"])
    priced = resources["azurerm_kubernetes_cluster_node_pool.gpu"]
    assert priced["gpus"]["count_per_instance"] == 1 and priced["gpus"]["model"] == "V100-16GB"
    assert priced["hourly_usd"] == pytest.approx(2 * unit(catalog, "eastus", "Standard_NC6s_v3", "spot"))


def test_aks_windows_node_pool_is_windows(tmp_path):
    pool = aks_pool("Standard_D4s_v3", node_count=1, os_type="Windows", name="win")
    doc = azure_plan([change("azurerm_kubernetes_cluster_node_pool.win", pool, after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.operating_system == "windows"

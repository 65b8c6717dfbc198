"""Google Cloud resource types in `terraform show -json` plans -> ComputeRequests (and prices)."""

from __future__ import annotations

import pytest

from plan_builder import by_address, change, check, config, const, plan, provider, read, ref
from tollgate.engine.model import PurchaseOption, WorkloadClass


def gcp_plan(changes, resources=None, **provider_args):
    return plan(changes, resources=resources, providers=[provider("google", project="p", **provider_args)])


def unit(catalog, region, machine_type, option="on_demand"):
    quote = catalog.price("gcp", region, machine_type, option)
    assert hasattr(quote, "unit_hourly"), quote
    return float(quote.unit_hourly.to_decimal())


def gpu(catalog, region, accelerator, option="on_demand"):
    quote = catalog.accelerator_price("gcp", region, accelerator, option)
    assert hasattr(quote, "unit_hourly"), quote
    return float(quote.unit_hourly.to_decimal())


def vm(machine_type="n1-standard-4", zone="us-central1-a", scheduling=None, accelerators=None, labels=None):
    return {
        "name": "vm",
        "machine_type": machine_type,
        "zone": zone,
        "scheduling": scheduling if scheduling is not None else [{"preemptible": False, "provisioning_model": "STANDARD", "automatic_restart": True}],
        "guest_accelerator": accelerators or [],
        "labels": labels,
    }


# --- google_compute_instance --------------------------------------------------------------------


def test_gce_instance_region_comes_from_its_zone(tmp_path, catalog):
    doc = gcp_plan([change("google_compute_instance.vm", vm(labels={"team": "ml", "workload-class": "batch"}), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.provider.value == "gcp"
    assert (request.region, request.zone) == ("us-central1", "us-central1-a")
    assert request.instance_type == "n1-standard-4"
    assert request.purchase_option is PurchaseOption.ON_DEMAND
    assert request.tags == {"team": "ml", "workload-class": "batch"}
    assert request.workload_class is WorkloadClass.BATCH
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-central1", "n1-standard-4"))


def test_gce_preemptible_is_spot(tmp_path, catalog):
    doc = gcp_plan([change("google_compute_instance.vm", vm(scheduling=[{"preemptible": True, "automatic_restart": False}]), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert "preemptible" in request.purchase_reason
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-central1", "n1-standard-4", "spot"))


def test_gce_provisioning_model_spot_is_spot(tmp_path):
    doc = gcp_plan([change("google_compute_instance.vm", vm(scheduling=[{"provisioning_model": "SPOT", "preemptible": True}]), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.purchase_option is PurchaseOption.SPOT
    assert "provisioning_model = SPOT" in request.purchase_reason


def test_gce_n1_guest_accelerator_is_priced_on_top_of_the_machine(tmp_path, catalog):
    accelerators = [{"type": "nvidia-tesla-t4", "count": 2}]
    doc = gcp_plan([change("google_compute_instance.t4", vm("n1-standard-8", accelerators=accelerators), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert [(a.type, a.count) for a in request.accelerators] == [("nvidia-tesla-t4", 2)]
    [resource] = check(tmp_path, doc, catalog)["resources"]
    expected = unit(catalog, "us-central1", "n1-standard-8") + 2 * gpu(catalog, "us-central1", "nvidia-tesla-t4")
    assert resource["hourly_usd"] == pytest.approx(expected, abs=1e-6)
    assert resource["gpus"]["count_per_instance"] == 2
    assert resource["gpus"]["model"] == "T4"


def test_gce_accelerator_self_link_type_is_shortened(tmp_path):
    link = "projects/p/zones/us-central1-a/acceleratorTypes/nvidia-l4"
    doc = gcp_plan([change("google_compute_instance.l4", vm("n1-standard-4", accelerators=[{"type": link, "count": 1}]), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.accelerators[0].type == "nvidia-l4"


def test_gcp_self_link_machine_type_and_zone(tmp_path, catalog):
    after = vm(
        "https://www.googleapis.com/compute/v1/projects/p/zones/europe-west4-b/machineTypes/n2-standard-8",
        zone="projects/p/zones/europe-west4-b",
    )
    doc = gcp_plan([change("google_compute_instance.linked", after, after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.instance_type == "n2-standard-8"
    assert (request.region, request.zone) == ("europe-west4", "europe-west4-b")
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "europe-west4", "n2-standard-8"))


def test_gce_zone_from_the_provider_when_the_resource_sets_none(tmp_path):
    after = vm()
    del after["zone"]
    doc = gcp_plan([change("google_compute_instance.vm", after, after_unknown={"zone": True})], zone="asia-northeast1-c")
    [request] = read(tmp_path, doc)
    assert (request.region, request.zone) == ("asia-northeast1", "asia-northeast1-c")
    assert request.region_source == "provider zone"


def test_gce_machine_type_unknown_is_unpriced_not_zero(tmp_path, catalog):
    after = vm()
    del after["machine_type"]
    doc = gcp_plan(
        [change("google_compute_instance.vm", after, after_unknown={"machine_type": True})],
        [config("google_compute_instance.vm", {"machine_type": ref("var.machine_type")})],
    )
    [request] = read(tmp_path, doc)
    assert request.instance_type is None and "machine_type" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None
    assert resource["unpriced_reason"] == "instance type is unknown at plan time"


def test_gce_bundled_gpu_machine_reports_its_gpus(tmp_path, catalog):
    doc = gcp_plan([change("google_compute_instance.g2", vm("g2-standard-4"), after_unknown={})])
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["gpus"]["count_per_instance"] == 1
    assert resource["gpus"]["model"] == "L4"
    assert resource["hourly_usd"] == pytest.approx(unit(catalog, "us-central1", "g2-standard-4"))


# --- instance templates + group managers ---------------------------------------------------------


def template(machine_type="n1-standard-4", scheduling=None, accelerators=None, labels=None, name="tpl"):
    return {
        "name": name,
        "machine_type": machine_type,
        "scheduling": scheduling or [{"preemptible": False, "provisioning_model": "STANDARD"}],
        "guest_accelerator": accelerators or [],
        "labels": labels,
    }


def test_instance_group_manager_type_from_template_by_reference(tmp_path, catalog):
    tpl = template("n1-standard-4", [{"preemptible": True}], [{"type": "nvidia-tesla-t4", "count": 1}], {"team": "vision"})
    manager = {"name": "mig", "zone": "us-central1-b", "target_size": 4, "version": [{"name": "primary", "instance_template": None}]}
    doc = gcp_plan(
        [
            change("google_compute_instance_template.gpu", tpl, after_unknown={"self_link": True, "id": True}),
            change("google_compute_instance_group_manager.mig", manager, after_unknown={"version": [{"instance_template": True}]}),
        ],
        [
            config("google_compute_instance_template.gpu", {"machine_type": const("n1-standard-4")}),
            config("google_compute_instance_group_manager.mig", {"version": [{"instance_template": ref("google_compute_instance_template.gpu.self_link", "google_compute_instance_template.gpu")}]}),
        ],
    )
    [request] = read(tmp_path, doc)  # the template alone is not a request
    assert request.address == "google_compute_instance_group_manager.mig"
    assert request.instance_type == "n1-standard-4"
    assert request.quantity.desired == 4
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.tags == {"team": "vision"}
    assert (request.region, request.zone) == ("us-central1", "us-central1-b")
    [resource] = check(tmp_path, doc, catalog)["resources"]
    per_vm = unit(catalog, "us-central1", "n1-standard-4", "spot") + gpu(catalog, "us-central1", "nvidia-tesla-t4", "spot")
    assert resource["hourly_usd"] == pytest.approx(4 * per_vm, abs=1e-6)
    assert resource["gpus"]["total"] == 4


def test_region_instance_group_manager_uses_its_region_and_template_by_name(tmp_path):
    manager = {"name": "rmig", "region": "europe-west1", "target_size": 6, "version": [{"instance_template": "projects/p/global/instanceTemplates/web-tpl"}]}
    doc = gcp_plan(
        [
            change("google_compute_instance_template.web", template("e2-standard-2", name="web-tpl"), after_unknown={}),
            change("google_compute_instance_template.other", template("n2-standard-64", name="other"), after_unknown={}),
            change("google_compute_region_instance_group_manager.rmig", manager, after_unknown={}),
        ],
    )
    [request] = read(tmp_path, doc)
    assert request.kind == "google_compute_region_instance_group_manager"
    assert request.instance_type == "e2-standard-2"
    assert request.quantity.desired == 6  # target_size is the regional total
    assert (request.region, request.zone) == ("europe-west1", None)
    assert request.purchase_option is PurchaseOption.ON_DEMAND


def test_instance_group_manager_without_target_size_is_unpriced(tmp_path, catalog):
    manager = {"name": "mig", "zone": "us-central1-b", "version": [{"instance_template": "tpl"}]}
    doc = gcp_plan(
        [
            change("google_compute_instance_template.t", template(), after_unknown={}),
            change("google_compute_instance_group_manager.mig", manager, after_unknown={"target_size": True}),
        ]
    )
    [request] = read(tmp_path, doc)
    assert request.quantity.desired is None and "target_size" in request.unknowns
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] is None and "quantity" in resource["unpriced_reason"]


# --- GKE ----------------------------------------------------------------------------------------


def pool(machine_type="n2-standard-4", location="us-central1", node_count=None, autoscaling=None, node_locations=None, spot=False, preemptible=False, accelerators=None, labels=None, initial=None):
    values = {
        "cluster": "c",
        "location": location,
        "name": "p",
        "node_config": [{"machine_type": machine_type, "spot": spot, "preemptible": preemptible, "guest_accelerator": accelerators or [], "labels": labels, "resource_labels": None}],
        "autoscaling": autoscaling or [],
    }
    if node_count is not None:
        values["node_count"] = node_count
    if initial is not None:
        values["initial_node_count"] = initial
    if node_locations is not None:
        values["node_locations"] = node_locations
    return values


def test_gke_regional_pool_counts_nodes_per_zone(tmp_path, catalog):
    doc = gcp_plan([change("google_container_node_pool.regional", pool(location="us-central1", node_count=2), after_unknown={"node_locations": True})])
    [request] = read(tmp_path, doc)
    assert request.quantity.desired == 6  # 2 per zone x 3 zones
    assert any("per zone" in note for note in request.notes)
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(6 * unit(catalog, "us-central1", "n2-standard-4"))


def test_gke_zonal_pool_counts_nodes_once(tmp_path):
    doc = gcp_plan([change("google_container_node_pool.zonal", pool(location="us-central1-c", node_count=2), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.quantity.desired == 2
    assert (request.region, request.zone) == ("us-central1", "us-central1-c")


def test_gke_node_locations_multiply_node_counts(tmp_path):
    doc = gcp_plan([change("google_container_node_pool.two", pool(node_count=3, node_locations=["us-central1-a", "us-central1-f"]), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.quantity.desired == 6


def test_gke_autoscaling_min_max_are_per_zone(tmp_path):
    autoscaling = [{"min_node_count": 1, "max_node_count": 4}]
    doc = gcp_plan([change("google_container_node_pool.auto", pool(autoscaling=autoscaling, initial=1), after_unknown={"node_count": True})])
    [request] = read(tmp_path, doc)
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (3, 3, 12)


def test_gke_total_min_max_are_not_multiplied(tmp_path):
    autoscaling = [{"total_min_node_count": 2, "total_max_node_count": 10}]
    doc = gcp_plan([change("google_container_node_pool.total", pool(autoscaling=autoscaling, node_count=1), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert (request.quantity.desired, request.quantity.min, request.quantity.max) == (3, 2, 10)


def test_gke_spot_and_preemptible_node_pools_are_spot(tmp_path):
    doc = gcp_plan(
        [
            change("google_container_node_pool.spot", pool(location="us-central1-a", node_count=1, spot=True), after_unknown={}),
            change("google_container_node_pool.preemptible", pool(location="us-central1-a", node_count=1, preemptible=True), after_unknown={}),
        ]
    )
    requests = by_address(read(tmp_path, doc))
    assert requests["google_container_node_pool.spot"].purchase_option is PurchaseOption.SPOT
    assert requests["google_container_node_pool.preemptible"].purchase_option is PurchaseOption.SPOT


def test_gke_node_labels_are_tags_and_set_the_workload_class(tmp_path):
    doc = gcp_plan([change("google_container_node_pool.l", pool(location="us-central1-a", node_count=1, labels={"workload-class": "online"}), after_unknown={})])
    [request] = read(tmp_path, doc)
    assert request.tags == {"workload-class": "online"}
    assert request.workload_class is WorkloadClass.ONLINE


def test_gke_node_pool_location_comes_from_its_cluster(tmp_path):
    after = pool(location=None, node_count=1)
    del after["location"]
    doc = gcp_plan(
        [
            change("google_container_cluster.c", {"name": "c", "location": "europe-west4-a", "remove_default_node_pool": True, "initial_node_count": 1}, after_unknown={}),
            change("google_container_node_pool.p", after, after_unknown={"location": True}),
        ],
        [config("google_container_node_pool.p", {"cluster": ref("google_container_cluster.c.id", "google_container_cluster.c")})],
    )
    [request] = read(tmp_path, doc)
    assert (request.region, request.zone) == ("europe-west4", "europe-west4-a")
    assert request.quantity.desired == 1


def test_gke_cluster_with_removed_default_pool_has_no_default_request(tmp_path):
    cluster = {"name": "c", "location": "us-central1", "remove_default_node_pool": True, "initial_node_count": 1, "node_config": [{"machine_type": "e2-standard-4"}]}
    doc = gcp_plan([change("google_container_cluster.c", cluster, after_unknown={"node_pool": True})])
    assert read(tmp_path, doc) == []


def test_gke_cluster_default_pool_is_a_request_with_the_gke_default_machine(tmp_path, catalog):
    cluster = {"name": "c", "location": "us-central1-a", "initial_node_count": 3, "node_config": []}
    doc = gcp_plan([change("google_container_cluster.c", cluster, after_unknown={"node_pool": True, "node_config": True})])
    [request] = read(tmp_path, doc)
    assert request.component == "default node pool"
    assert request.instance_type == "e2-medium"
    assert request.quantity.desired == 3
    [resource] = check(tmp_path, doc, catalog)["resources"]
    assert resource["hourly_usd"] == pytest.approx(3 * unit(catalog, "us-central1", "e2-medium"))


def test_gke_cluster_inline_node_pools_are_separate_requests(tmp_path):
    cluster = {
        "name": "c",
        "location": "us-central1-a",
        "node_pool": [
            {"name": "cpu", "node_count": 2, "node_config": [{"machine_type": "n2-standard-8"}]},
            {"name": "gpu", "node_count": 1, "node_config": [{"machine_type": "g2-standard-8", "spot": True}]},
        ],
    }
    doc = gcp_plan([change("google_container_cluster.c", cluster, after_unknown={})])
    requests = by_address(read(tmp_path, doc))
    assert set(requests) == {"google_container_cluster.c node_pool cpu", "google_container_cluster.c node_pool gpu"}
    gpu_pool = requests["google_container_cluster.c node_pool gpu"]
    assert (gpu_pool.instance_type, gpu_pool.quantity.desired, gpu_pool.purchase_option) == ("g2-standard-8", 1, PurchaseOption.SPOT)


def test_gke_autopilot_cluster_is_not_a_node_request(tmp_path):
    doc = gcp_plan([change("google_container_cluster.ap", {"name": "ap", "location": "us-central1", "enable_autopilot": True}, after_unknown={})])
    assert read(tmp_path, doc) == []

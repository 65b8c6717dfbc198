"""The registry modules where compute hides, without downloading them.

A pre-commit check has no `.terraform/modules`, so a call to a registry module is opaque: its
inputs are known, its code is not. For the few modules that create most of the Kubernetes compute
people pay for, this file knows which resources an input creates and what the module fills in when
an input is unset, and synthesizes those resources in the same shape a plan would show them, so
the ordinary extractors price them:

* terraform-aws-modules/eks/aws: `eks_managed_node_groups` -> aws_eks_node_group,
  `self_managed_node_groups` -> aws_launch_template + aws_autoscaling_group; and the
  `//modules/eks-managed-node-group` / `//modules/self-managed-node-group` submodules called directly;
* terraform-google-modules/kubernetes-engine/google (and its private-cluster / beta / update-variant
  submodules): `node_pools` -> google_container_node_pool (autopilot submodules create no nodes);
* Azure/aks/azurerm: the default pool (`agents_*`) -> azurerm_kubernetes_cluster and `node_pools`
  -> azurerm_kubernetes_cluster_node_pool.

Defaults differ between major versions; the version comes from the `version` constraint, a git
`?ref=vX.Y.Z`, or (for a local copy that is not on disk) the input names. A default that differs
across the versions a constraint allows is reported unknown, never picked.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tollgate.engine.hcl.evaluate import EvalError, Unknown, to_bool, to_number, to_string

# --- the defaults table ------------------------------------------------------------------------
# (module, part) -> [(first major, last major or None, {input: default})]. A default of None means
# "left unset": the provider's own default then applies (and the extractor says so in a note).
#
# terraform-aws-modules/eks/aws
#   v18-v20: node_groups.tf of the root module passes these fallbacks to its submodules:
#     eks_managed_node_group: min_size 1, max_size 3, desired_size 1, instance_types null
#       (-> the EKS API default t3.medium; the submodule documents "Defaults to [\"t3.medium\"]"),
#       capacity_type null (-> EKS default ON_DEMAND);
#     self_managed_node_group: min_size 0, max_size 3, desired_size 1, instance_type "m6i.large".
#   v21 (docs "Default node group configurations"): min_size 1, max_size 3, desired_size 1 for both
#     kinds; instance_types t3.medium (managed) / instance_type m6i.large (self-managed).
#   Submodules called directly, variables.tf: v18-v20 min_size 0, max_size 3, desired_size 1,
#     self-managed instance_type "" (no type); v21 1/3/1 and m6i.large.
# terraform-google-modules/kubernetes-engine/google, cluster.tf (v20 and later): per node pool
#   machine_type "e2-medium", autoscaling true, min_count 1, max_count 100, initial_node_count =
#   min_count, node_count 1 when autoscaling is off, spot/preemptible false, accelerator_count 0;
#   module inputs regional true, node_pools [{name = "default-node-pool"}], initial_node_count 0.
# Azure/aks/azurerm (v4 and later): agents_size "Standard_D2s_v3", agents_count 2, agents_pool_name
#   "nodepool", auto-scaling off (`enable_auto_scaling`, `auto_scaling_enabled` from v9);
#   node_pools entries: priority "Regular", os_type "Linux", auto-scaling off.
DEFAULTS: dict[tuple[str, str], list[tuple[int, int | None, dict[str, Any]]]] = {
    ("eks", "eks_managed"): [
        (18, None, {"min_size": 1, "max_size": 3, "desired_size": 1, "instance_types": None, "capacity_type": None}),
    ],
    ("eks", "self_managed"): [
        (18, 20, {"min_size": 0, "max_size": 3, "desired_size": 1, "instance_type": "m6i.large"}),
        (21, None, {"min_size": 1, "max_size": 3, "desired_size": 1, "instance_type": "m6i.large"}),
    ],
    ("eks-managed-node-group", "eks_managed"): [
        (18, 20, {"min_size": 0, "max_size": 3, "desired_size": 1, "instance_types": None, "capacity_type": None}),
        (21, None, {"min_size": 1, "max_size": 3, "desired_size": 1, "instance_types": None, "capacity_type": None}),
    ],
    ("self-managed-node-group", "self_managed"): [
        (18, 20, {"min_size": 0, "max_size": 3, "desired_size": 1, "instance_type": ""}),
        (21, None, {"min_size": 1, "max_size": 3, "desired_size": 1, "instance_type": "m6i.large"}),
    ],
    ("gke", "node_pool"): [
        (20, None, {
            "machine_type": "e2-medium", "autoscaling": True, "min_count": 1, "max_count": 100, "node_count": 1,
            "spot": False, "preemptible": False, "accelerator_count": 0,
        }),
    ],
    ("gke", "module"): [
        (20, None, {"regional": True, "node_pools": [{"name": "default-node-pool"}], "initial_node_count": 0,
                    "remove_default_node_pool": False}),
    ],
    ("aks", "module"): [
        (4, None, {"agents_size": "Standard_D2s_v3", "agents_count": 2, "agents_pool_name": "nodepool",
                   "auto_scaling": False}),
    ],
    ("aks", "node_pool"): [
        (4, None, {"priority": "Regular", "os_type": "Linux", "auto_scaling": False}),
    ],
}

# The inputs whose entries become separate resources (their line and inline waivers are the entry's).
ENTRY_ATTRIBUTES = ("eks_managed_node_groups", "self_managed_node_groups", "node_pools")

MODULE_NAMES = {
    "eks": "terraform-aws-modules/eks/aws",
    "eks-managed-node-group": "terraform-aws-modules/eks/aws//modules/eks-managed-node-group",
    "self-managed-node-group": "terraform-aws-modules/eks/aws//modules/self-managed-node-group",
    "gke": "terraform-google-modules/kubernetes-engine/google",
    "gke-autopilot": "terraform-google-modules/kubernetes-engine/google (autopilot)",
    "aks": "Azure/aks/azurerm",
}


# --- recognising a module ----------------------------------------------------------------------
class KnownModule(msgspec.Struct, frozen=True):
    kind: str  # a key of MODULE_NAMES
    majors: tuple[int | None, int | None]  # the major versions the call allows (inclusive)
    how: str  # where the version came from, for notes
    latest: bool = False  # no version constraint: Terraform installs the newest release

    @property
    def name(self) -> str:
        return MODULE_NAMES[self.kind]

    def version_text(self) -> str:
        if self.latest:
            return "latest version"
        low, high = self.majors
        if low is not None and low == high:
            return f"v{low}"
        if low is None and high is None:
            return "version unknown"
        return f"v{low if low is not None else '?'}-{('v' + str(high)) if high is not None else 'latest'}"


_EKS_RE = re.compile(
    r"^(?:registry\.terraform\.io/)?terraform-aws-modules/eks/aws(?://(?P<sub>modules/[\w-]+))?/?$"
    r"|(?:^|[/:@])github\.com[/:]terraform-aws-modules/terraform-aws-eks(?:\.git)?(?://(?P<gsub>modules/[\w-]+))?/?(?:\?(?P<query>.*))?$"
)
_GKE_RE = re.compile(
    r"^(?:registry\.terraform\.io/)?terraform-google-modules/kubernetes-engine/google(?://modules/(?P<sub>[\w-]+))?/?$"
    r"|(?:^|[/:@])github\.com[/:]terraform-google-modules/terraform-google-kubernetes-engine(?:\.git)?(?://modules/(?P<gsub>[\w-]+))?/?(?:\?(?P<query>.*))?$"
)
_AKS_RE = re.compile(
    r"^(?:registry\.terraform\.io/)?Azure/aks/azurerm/?$"
    r"|(?:^|[/:@])github\.com[/:]Azure/terraform-azurerm-aks(?:\.git)?/?(?:\?(?P<query>.*))?$",
    re.IGNORECASE,
)
_REF_RE = re.compile(r"(?:^|&)ref=v?(\d+)(?:\.\d+){0,2}(?:&|$)")


def recognize(source: str, version: str | None) -> KnownModule | None:
    """The known module a `source` (plus `version` constraint) names, or None."""
    source = source.strip().removeprefix("git::").removeprefix("https://").removeprefix("ssh://")
    for pattern, kinds in ((_EKS_RE, "eks"), (_GKE_RE, "gke"), (_AKS_RE, "aks")):
        match = pattern.search(source)
        if not match:
            continue
        groups = match.groupdict()
        sub = groups.get("sub") or groups.get("gsub") or ""
        query = groups.get("query") or ""
        kind = kinds
        if kinds == "eks" and sub:
            kind = sub.removeprefix("modules/")
            if kind not in ("eks-managed-node-group", "self-managed-node-group"):
                return None  # karpenter, fargate-profile, ...: no node groups
        if kinds == "gke" and sub:
            if "autopilot" in sub:
                kind = "gke-autopilot"
            elif not (sub.startswith("beta-") or sub.startswith("private-cluster") or sub in ("safer-cluster", "safer-cluster-update-variant")):
                return None  # workload-identity, auth, ...: no nodes
        ref = _REF_RE.search(query)
        if ref:
            major = int(ref.group(1))
            return KnownModule(kind, (major, major), f"git ref v{major}")
        if "ref=" in query:
            return KnownModule(kind, (None, None), "git ref that is not a version")
        if version:
            low, high = major_range(version)
            return KnownModule(kind, (low, high), f'version "{version}"')
        return KnownModule(kind, (None, None), "no version constraint: the latest release", latest=True)
    return None


def recognize_by_inputs(inputs: set[str]) -> KnownModule | None:
    """A local module whose directory is not there, called with the inputs of a known module
    (a copy of the module kept elsewhere in the repository, like the module's own tests)."""
    if "eks_managed_node_groups" in inputs or "self_managed_node_groups" in inputs:
        if "kubernetes_version" in inputs or ("name" in inputs and "cluster_name" not in inputs):
            return KnownModule("eks", (21, 21), "input names of v21 (name, kubernetes_version)")
        return KnownModule("eks", (18, 20), "input names of v18-v20 (cluster_name)")
    if "node_pools" in inputs and ("ip_range_pods" in inputs or "ip_range_services" in inputs):
        return KnownModule("gke", (None, None), "input names (node_pools, ip_range_pods)")
    if any(name in inputs for name in ("agents_size", "agents_pool_name", "agents_count")) and "resource_group_name" in inputs:
        return KnownModule("aks", (None, None), "input names (agents_size, resource_group_name)")
    return None


def major_range(constraint: str) -> tuple[int | None, int | None]:
    """The major versions a version constraint allows: '~> 20.34' -> (20, 20), '>= 19, < 21' ->
    (19, 20), '20.8.1' -> (20, 20), '>= 20' -> (20, None)."""
    low: int | None = None
    high: int | None = None
    for clause in constraint.split(","):
        match = re.match(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", clause)
        if not match:
            continue
        op, major_text, minor, patch = match.groups()
        major = int(major_text)
        op = op or "="
        if op == "!=":
            continue
        if op in ("=",) or (op == "~>" and minor is not None):
            low = major if low is None else max(low, major)
            high = major if high is None else min(high, major)
        elif op in (">=", ">", "~>"):
            low = major if low is None else max(low, major)
        elif op in ("<", "<="):
            top = major - 1 if op == "<" and not int(minor or 0) and not int(patch or 0) else major
            high = top if high is None else min(high, top)
    return low, high


def default(module: str, part: str, name: str, known: KnownModule) -> Any:
    """The module's default for an input, or Unknown when it differs across allowed versions."""
    table = DEFAULTS[(module, part)]
    if known.latest:
        table = table[-1:]  # the newest release's defaults (the table's open-ended last entry)
    low, high = known.majors
    values: list[Any] = []
    for first, last, defaults in table:
        if name not in defaults:
            continue
        if high is not None and first > high:
            continue
        if low is not None and last is not None and last < low:
            continue
        if not any(v == defaults[name] for v in values):
            values.append(defaults[name])
    if len(values) == 1:
        return values[0]
    if not values:
        return Unknown(f"{MODULE_NAMES.get(module, module)} {known.version_text()}: no documented default for {name}")
    return Unknown(f"{MODULE_NAMES.get(module, module)}: the default of {name} differs between the versions allowed ({known.version_text()})")


# --- what gets synthesized ---------------------------------------------------------------------
class SyntheticResource(msgspec.Struct):
    """A resource a registry module would create, relative to the module call instance."""

    type: str
    name: str
    index: str  # "[0]", '["key"]' or ""
    module_suffix: str  # 'module.eks_managed_node_group["gpu"]' ("" = the called module itself)
    module_path_suffix: str  # the same without instance keys
    values: dict[str, Any]
    expressions: dict[str, Any] = msgspec.field(default_factory=dict)
    entry_attribute: str | None = None  # the input map the resource comes from ("node_pools")
    entry_key: str | None = None  # its key there, to find the line
    notes: list[str] = msgspec.field(default_factory=list)
    computed_when_unset: tuple[str, ...] = ()
    count_unknown: Unknown | None = None  # the map of groups itself is unknown

    @property
    def local_address(self) -> str:
        return f"{self.type}.{self.name}{self.index}"


def synthesize(known: KnownModule, inputs: dict[str, Any]) -> list[SyntheticResource]:
    if known.kind == "eks":
        return _eks(known, inputs)
    if known.kind == "eks-managed-node-group":
        return _eks_managed(known, "eks-managed-node-group", inputs, None, {}, "", "", None, {}, inputs.get("region"))
    if known.kind == "self-managed-node-group":
        return _self_managed(known, "self-managed-node-group", inputs, None, {}, "", "", None, {}, inputs.get("region"))
    if known.kind == "gke":
        return _gke(known, inputs)
    if known.kind == "aks":
        return _aks(known, inputs)
    return []  # autopilot: Google runs the nodes, pods are priced from manifests


# --- helpers -----------------------------------------------------------------------------------
def _flag(value: Any, fallback: Any) -> Any:
    if value is None:
        return fallback
    if isinstance(value, Unknown):
        return value
    try:
        return to_bool(value)
    except EvalError:
        return Unknown(f"{value!r} is not a bool")


def _int(value: Any, fallback: Any = None) -> Any:
    if value is None:
        return fallback
    if isinstance(value, Unknown):
        return value
    try:
        number = to_number(value)
    except EvalError:
        return Unknown(f"{value!r} is not a number")
    return int(number) if float(number).is_integer() else number


def _text(value: Any) -> Any:
    """A tag value as Terraform's map(string) holds it: true -> "true", 3 -> "3"."""
    try:
        return value if isinstance(value, (Unknown, str)) or value is None else to_string(value)
    except EvalError:
        return value


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _merge(*maps: Any) -> Any:
    merged: dict[str, Any] = {}
    for mapping in maps:
        if isinstance(mapping, Unknown):
            return mapping
        if isinstance(mapping, dict):
            merged.update(mapping)
    return merged


def _key(key: str) -> str:
    return '["' + key.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def _groups(value: Any, what: str) -> tuple[dict[str, Any], Unknown | None]:
    if isinstance(value, Unknown):
        return {}, Unknown(*(value.causes or (f"{what} is unknown",)))
    if isinstance(value, dict):
        return value, None
    return {}, None


def _placeholder(type_: str, name: str, suffix: str, path: str, cause: Unknown, attribute: str) -> SyntheticResource:
    return SyntheticResource(
        type=type_, name=name, index="[*]" if not suffix else "", module_suffix=suffix, module_path_suffix=path,
        values={}, entry_attribute=attribute, count_unknown=cause,
        notes=[f"{attribute} is unknown without a plan, so its entries cannot be listed"],
    )


class _Picker:
    """One node group's setting: the group's own value, else the module's `*_defaults` map (v18-v20),
    else the module's documented default (noted)."""

    def __init__(self, known: KnownModule, module: str, part: str, group: dict[str, Any], defaults: dict[str, Any]) -> None:
        self.known, self.module, self.part = known, module, part
        self.group, self.defaults = group, defaults
        self.notes: list[str] = []

    def __call__(self, name: str, fallback: Any = None, table: bool = True) -> Any:
        if name in self.group:
            return self.group[name]
        if name in self.defaults:
            return self.defaults[name]
        if not table:
            return fallback
        value = default(self.module, self.part, name, self.known)
        if value is not None and not isinstance(value, Unknown):
            self.notes.append(f"{name} not set: module default {value!r} ({MODULE_NAMES[self.module]} {self.known.version_text()})")
        return value


# --- terraform-aws-modules/eks -----------------------------------------------------------------
def _eks(known: KnownModule, inputs: dict[str, Any]) -> list[SyntheticResource]:
    if _flag(inputs.get("create"), True) is False:
        return []
    tags = inputs.get("tags") or {}
    region = inputs.get("region")
    found: list[SyntheticResource] = []
    groups, unknown = _groups(inputs.get("eks_managed_node_groups"), "eks_managed_node_groups")
    if unknown:
        found.append(_placeholder("aws_eks_node_group", "this", "module.eks_managed_node_group[*]",
                                  "module.eks_managed_node_group", unknown, "eks_managed_node_groups"))
    defaults = _map(inputs.get("eks_managed_node_group_defaults"))
    for key in sorted(groups):
        group = groups[key]
        found += _eks_managed(known, "eks", _map(group), group if isinstance(group, Unknown) else None, defaults,
                              f"module.eks_managed_node_group{_key(key)}", "module.eks_managed_node_group", key, tags, region)
    groups, unknown = _groups(inputs.get("self_managed_node_groups"), "self_managed_node_groups")
    if unknown:
        found.append(_placeholder("aws_autoscaling_group", "this", "module.self_managed_node_group[*]",
                                  "module.self_managed_node_group", unknown, "self_managed_node_groups"))
    defaults = _map(inputs.get("self_managed_node_group_defaults"))
    for key in sorted(groups):
        group = groups[key]
        found += _self_managed(known, "eks", _map(group), group if isinstance(group, Unknown) else None, defaults,
                               f"module.self_managed_node_group{_key(key)}", "module.self_managed_node_group", key, tags, region)
    return found


def _eks_managed(
    known: KnownModule, module: str, group: dict[str, Any], unknown_group: Unknown | None, defaults: dict[str, Any],
    suffix: str, path: str, key: str | None, tags: Any, region: Any,
) -> list[SyntheticResource]:
    pick = _Picker(known, module, "eks_managed", group, defaults)
    if unknown_group is None and _flag(pick("create", True, table=False), True) is False:
        return []
    values: dict[str, Any] = {
        "node_group_name": pick("name", key, table=False),
        "scaling_config": [{"min_size": pick("min_size"), "max_size": pick("max_size"), "desired_size": pick("desired_size")}],
        "tags": _merge(tags, pick("tags", {}, table=False)),
    }
    for name in ("instance_types", "capacity_type", "labels"):
        value = pick(name) if name != "labels" else pick(name, None, table=False)
        if value is not None:
            values[name] = value
    external = pick("launch_template_id", None, table=False) or pick("launch_template_name", None, table=False)
    if "instance_types" not in values and external and _flag(pick("create_launch_template", True, table=False), True) is False:
        # the group launches from a template created elsewhere: its type is there, not the EKS default
        values["instance_types"] = Unknown("the node group uses a launch template created outside the module")
    if region is not None:
        values["region"] = region
    if unknown_group is not None:
        values = {k: unknown_group for k in ("instance_types", "capacity_type", "scaling_config")}
    return [SyntheticResource(
        type="aws_eks_node_group", name="this", index="[0]", module_suffix=suffix, module_path_suffix=path,
        values=values, entry_attribute="eks_managed_node_groups" if key is not None else None, entry_key=key,
        notes=[f"created by {MODULE_NAMES[module]} ({known.how})"] + pick.notes,
    )]


def _self_managed(
    known: KnownModule, module: str, group: dict[str, Any], unknown_group: Unknown | None, defaults: dict[str, Any],
    suffix: str, path: str, key: str | None, tags: Any, region: Any,
) -> list[SyntheticResource]:
    pick = _Picker(known, module, "self_managed", group, defaults)
    if unknown_group is None and _flag(pick("create", True, table=False), True) is False:
        return []
    if unknown_group is None and _flag(pick("create_autoscaling_group", True, table=False), True) is False:
        return []
    notes = [f"created by {MODULE_NAMES[module]} ({known.how})"]
    if "instance_types" in group and "instance_type" not in group:
        notes.append("instance_types is not an input of self-managed node groups (instance_type is): the module ignores it")
    name = pick("name", key, table=False)
    requirements = pick("instance_requirements", None, table=False)
    instance_type = pick("instance_type")
    template: dict[str, Any] = {
        "tag_specifications": [{
            "resource_type": "instance",
            "tags": _merge(tags, {"Name": name} if isinstance(name, str) else {}, pick("tags", {}, table=False),
                           pick("launch_template_tags", {}, table=False)),
        }],
    }
    external = _flag(pick("create_launch_template", True, table=False), True) is False
    if external:
        template["instance_type"] = Unknown("the node group uses a launch template created outside the module")
    elif requirements is None and isinstance(instance_type, (str, Unknown)) and instance_type != "":
        template["instance_type"] = instance_type
    elif requirements is not None:
        notes.append("instance_requirements (attribute-based selection): AWS picks the instance type at launch")
    market = pick("instance_market_options", None, table=False)
    if isinstance(market, dict) and market:
        spot = market.get("spot_options")
        template["instance_market_options"] = [{"market_type": market.get("market_type"),
                                                "spot_options": [spot] if isinstance(spot, dict) else []}]
    elif isinstance(market, Unknown):
        template["instance_market_options"] = market
    template_id = Unknown("the id of the module's launch template is known after apply")
    group_values: dict[str, Any] = {
        "min_size": pick("min_size"),
        "max_size": pick("max_size"),
        "desired_capacity": pick("desired_size"),
        "tag": [
            {"key": k, "value": _text(v), "propagate_at_launch": True}
            for k, v in sorted(_map(_merge(tags, pick("autoscaling_group_tags", {}, table=False))).items())
        ],
    }
    if region is not None:
        group_values["region"] = region
    reference = {"references": ["aws_launch_template.this[0].id", "aws_launch_template.this[0]", "aws_launch_template.this"]}
    expressions: dict[str, Any] = {"min_size": {}, "max_size": {}, "desired_capacity": {}}
    policy = pick("mixed_instances_policy", None, table=False)
    if _flag(pick("use_mixed_instances_policy", False, table=False), False) is True and isinstance(policy, dict):
        distribution = _map(policy.get("instances_distribution"))
        overrides = policy.get("override") or _map(policy.get("launch_template")).get("override") or []
        group_values["mixed_instances_policy"] = [{
            "instances_distribution": [distribution],
            "launch_template": [{
                "launch_template_specification": [{"launch_template_id": template_id}],
                "override": [
                    {"instance_type": o.get("instance_type"), "weighted_capacity": o.get("weighted_capacity")}
                    for o in (overrides if isinstance(overrides, list) else []) if isinstance(o, dict)
                ],
            }],
        }]
        expressions["mixed_instances_policy"] = [{"launch_template": [{"launch_template_specification": [{"launch_template_id": reference}]}]}]
    else:
        group_values["launch_template"] = [{"id": template_id, "version": pick("launch_template_version", "$Default", table=False)}]
        expressions["launch_template"] = [{"id": reference}]
    if unknown_group is not None:
        template = {"instance_type": unknown_group}
        group_values = {k: unknown_group for k in ("min_size", "max_size", "desired_capacity")}
        group_values["launch_template"] = [{"id": template_id}]
    entry = "self_managed_node_groups" if key is not None else None
    notes += pick.notes
    return [
        SyntheticResource(type="aws_launch_template", name="this", index="[0]", module_suffix=suffix,
                          module_path_suffix=path, values=template, entry_attribute=entry, entry_key=key),
        SyntheticResource(type="aws_autoscaling_group", name="this", index="[0]", module_suffix=suffix,
                          module_path_suffix=path, values=group_values, expressions=expressions,
                          entry_attribute=entry, entry_key=key, notes=notes),
    ]


# --- terraform-google-modules/kubernetes-engine ------------------------------------------------
def _gke(known: KnownModule, inputs: dict[str, Any]) -> list[SyntheticResource]:
    def module_input(name: str) -> Any:
        return inputs[name] if name in inputs else default("gke", "module", name, known)

    regional = _flag(module_input("regional"), True)
    zones = inputs.get("zones")
    region = inputs.get("region")
    if isinstance(regional, Unknown):
        location: Any = regional
    elif regional:
        location = region if region is not None else Unknown("the module's region input is not set")
    elif isinstance(zones, list) and zones:
        location = zones[0]
    else:
        location = zones if isinstance(zones, Unknown) else Unknown("a zonal cluster needs zones")
    zone_list = zones if isinstance(zones, list) and zones else None
    pools = module_input("node_pools")
    labels_by_pool = _map(inputs.get("node_pools_labels"))
    found: list[SyntheticResource] = []
    if isinstance(pools, Unknown):
        return [_placeholder("google_container_node_pool", "pools", "", "", pools, "node_pools")]
    pools = pools if isinstance(pools, list) else []
    for pool in pools:
        if not isinstance(pool, dict) or not isinstance(pool.get("name"), str):
            continue
        found.append(_gke_pool(known, pool, location, zone_list, regional, labels_by_pool))
    if _flag(module_input("remove_default_node_pool"), False) is False:
        initial = _int(module_input("initial_node_count"), 0)
        if isinstance(initial, Unknown) or (isinstance(initial, int) and initial > 0):
            first = pools[0] if pools and isinstance(pools[0], dict) else {}
            found.append(SyntheticResource(
                type="google_container_cluster", name="primary", index="", module_suffix="", module_path_suffix="",
                values={
                    "location": location,
                    "initial_node_count": initial,
                    "node_locations": zone_list,
                    "remove_default_node_pool": False,
                    "node_config": [{"machine_type": first.get("machine_type", default("gke", "node_pool", "machine_type", known))}],
                },
                notes=[f"the default node pool of {MODULE_NAMES['gke']} ({known.how}): initial_node_count {initial}"],
            ))
    return found


def _gke_pool(
    known: KnownModule, pool: dict[str, Any], location: Any, zones: list[Any] | None, regional: Any,
    labels_by_pool: dict[str, Any],
) -> SyntheticResource:
    name = pool["name"]
    notes = [f"created by {MODULE_NAMES['gke']} ({known.how})"]

    def setting(key: str) -> Any:
        if key in pool and pool[key] is not None:
            return pool[key]
        value = default("gke", "node_pool", key, known)
        if not isinstance(value, Unknown) and key in ("machine_type", "min_count", "max_count", "node_count"):
            notes.append(f"{key} not set: module default {value!r}")
        return value

    autoscaling = _flag(setting("autoscaling"), True)
    node_locations: Any = None
    if isinstance(pool.get("node_locations"), str) and pool["node_locations"]:
        node_locations = [z.strip() for z in pool["node_locations"].split(",") if z.strip()]
    elif zones is not None:
        node_locations = zones
    config: dict[str, Any] = {
        "machine_type": setting("machine_type"),
        "spot": _flag(setting("spot"), False),
        "preemptible": _flag(setting("preemptible"), False),
        "labels": _merge({"node_pool": name}, labels_by_pool.get("all"), labels_by_pool.get(name)),
    }
    accelerators = _int(setting("accelerator_count"), 0)
    if isinstance(accelerators, Unknown) or (isinstance(accelerators, int) and accelerators > 0):
        config["guest_accelerator"] = [{"type": pool.get("accelerator_type", ""), "count": accelerators}]
    values: dict[str, Any] = {"name": name, "location": location, "node_locations": node_locations, "node_config": [config]}
    if isinstance(autoscaling, Unknown):
        values["node_count"] = autoscaling
    elif autoscaling:
        low = _int(setting("min_count"))
        scaling: dict[str, Any] = {"min_node_count": low, "max_node_count": _int(setting("max_count"))}
        if pool.get("total_min_count") is not None or pool.get("total_max_count") is not None:
            scaling = {"total_min_node_count": _int(pool.get("total_min_count")), "total_max_node_count": _int(pool.get("total_max_count"))}
        values["autoscaling"] = [scaling]
        values["initial_node_count"] = _int(pool.get("initial_node_count"), low)
        if pool.get("initial_node_count") is None:
            notes.append("initial_node_count not set: the module starts the pool at min_count")
    else:
        values["node_count"] = _int(setting("node_count"))
    return SyntheticResource(
        type="google_container_node_pool", name="pools", index=_key(name), module_suffix="", module_path_suffix="",
        values=values, entry_attribute="node_pools", entry_key=name, notes=notes,
    )


# --- Azure/aks ---------------------------------------------------------------------------------
def _aks(known: KnownModule, inputs: dict[str, Any]) -> list[SyntheticResource]:
    def module_input(name: str, table_name: str | None = None) -> Any:
        return inputs[name] if name in inputs else default("aks", "module", table_name or name, known)

    notes = [f"created by {MODULE_NAMES['aks']} ({known.how})"]
    location = inputs.get("location")
    if location is None:
        location = Unknown("the AKS module takes the location of its resource group (a data source) when location is not set")
    scaling_input = "auto_scaling_enabled" if "auto_scaling_enabled" in inputs else "enable_auto_scaling"
    autoscale = _flag(module_input(scaling_input, "auto_scaling"), False)
    for name in ("agents_size", "agents_count"):
        if name not in inputs:
            notes.append(f"{name} not set: module default {default('aks', 'module', name, known)!r}")
    default_pool = {
        "name": module_input("agents_pool_name"),
        "vm_size": module_input("agents_size"),
        "node_count": _int(module_input("agents_count")),
        "auto_scaling_enabled": autoscale,
        "min_count": _int(inputs.get("agents_min_count")),
        "max_count": _int(inputs.get("agents_max_count")),
        "node_labels": inputs.get("agents_labels") or {},
        "tags": inputs.get("agents_tags") or {},
    }
    found = [SyntheticResource(
        type="azurerm_kubernetes_cluster", name="main", index="", module_suffix="", module_path_suffix="",
        values={"location": location, "default_node_pool": [default_pool], "tags": inputs.get("tags") or {}},
        notes=notes,
    )]
    pools, unknown = _groups(inputs.get("node_pools"), "node_pools")
    cluster_reference = {"kubernetes_cluster_id": {"references": ["azurerm_kubernetes_cluster.main.id", "azurerm_kubernetes_cluster.main"]}}
    if unknown:
        placeholder = _placeholder("azurerm_kubernetes_cluster_node_pool", "node_pool_create_before_destroy", "", "", unknown, "node_pools")
        placeholder.index = "[*]"
        placeholder.expressions = cluster_reference
        found.append(placeholder)
    low, _ = known.majors
    for key in sorted(pools):
        pool = _map(pools[key])
        pool_notes = [f"created by {MODULE_NAMES['aks']} ({known.how})"]
        pool_scaling = pool.get("auto_scaling_enabled", pool.get("enable_auto_scaling"))
        priority = pool.get("priority")
        if priority is None:
            priority = default("aks", "node_pool", "priority", known)
        values = {
            "name": pool.get("name", key),
            "vm_size": pool.get("vm_size", Unknown("vm_size is required in an AKS module node pool")),
            "node_count": _int(pool.get("node_count")),
            "auto_scaling_enabled": _flag(pool_scaling, default("aks", "node_pool", "auto_scaling", known)),
            "min_count": _int(pool.get("min_count")),
            "max_count": _int(pool.get("max_count")),
            "priority": priority,
            "node_labels": pool.get("node_labels") or {},
            "tags": pool.get("tags") or {},
            "os_type": pool.get("os_type") or default("aks", "node_pool", "os_type", known),
        }
        # v7 split node pools into create_before_destroy / create_after_destroy resources
        resource = "node_pool" if low is not None and low < 7 else (
            "node_pool_create_after_destroy" if _flag(pool.get("create_before_destroy"), True) is False else "node_pool_create_before_destroy"
        )
        found.append(SyntheticResource(
            type="azurerm_kubernetes_cluster_node_pool", name=resource, index=_key(key), module_suffix="",
            module_path_suffix="", values=values, expressions=dict(cluster_reference),
            entry_attribute="node_pools", entry_key=key, notes=pool_notes,
        ))
    return found

"""Small `terraform show -json` plans built as Python dicts, in the real plan schema
(format_version, resource_changes[], configuration{provider_config, root_module{resources,
module_calls}}, variables), written to a temporary directory and read back through the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
GOOGLE_PROVIDER = "registry.terraform.io/hashicorp/google"
AZURERM_PROVIDER = "registry.terraform.io/hashicorp/azurerm"

_PROVIDER_BY_PREFIX = {"aws": AWS_PROVIDER, "google": GOOGLE_PROVIDER, "azurerm": AZURERM_PROVIDER}


def _split(address: str) -> tuple[str | None, str, str, Any]:
    """'module.a["x"].aws_instance.w[0]' -> (module_address, type, name, index)."""
    module_parts: list[str] = []
    rest = address
    while rest.startswith("module."):
        head, _, rest = rest.partition(".")  # "module"
        # module name with an optional index, up to the next dot outside brackets
        depth, i = 0, 0
        while i < len(rest):
            ch = rest[i]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == "." and depth == 0:
                break
            i += 1
        module_parts.append(f"module.{rest[:i]}")
        rest = rest[i + 1 :]
    rest = rest.removeprefix("data.")
    type_, _, name = rest.partition(".")
    index: Any = None
    if name.endswith("]") and "[" in name:
        name, _, raw = name[:-1].partition("[")
        index = json.loads(raw)
    return (".".join(module_parts) or None), type_, name, index


def change(
    address: str,
    after: dict[str, Any] | None,
    *,
    actions: Iterable[str] = ("create",),
    before: dict[str, Any] | None = None,
    after_unknown: dict[str, Any] | None = None,
    mode: str = "managed",
    provider_name: str | None = None,
) -> dict[str, Any]:
    """One resource_changes[] entry."""
    module_address, type_, name, index = _split(address)
    entry: dict[str, Any] = {
        "address": address,
        "mode": mode,
        "type": type_,
        "name": name,
        "provider_name": provider_name or _PROVIDER_BY_PREFIX[type_.split("_", 1)[0]],
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": after_unknown if after_unknown is not None else {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": False if after is None else {},
        },
    }
    if module_address:
        entry["module_address"] = module_address
    if index is not None:
        entry["index"] = index
    return entry


def config(address: str, expressions: dict[str, Any] | None = None, *, provider_config_key: str | None = None) -> dict[str, Any]:
    """One configuration root_module/module resources[] entry (address local to its module)."""
    _, type_, name, _ = _split(address)
    return {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": name,
        "provider_config_key": provider_config_key or type_.split("_", 1)[0],
        "expressions": expressions or {},
        "schema_version": 0,
    }


def const(value: Any) -> dict[str, Any]:
    return {"constant_value": value}


def ref(*references: str) -> dict[str, Any]:
    return {"references": list(references)}


def provider(name: str, alias: str | None = None, **expressions: Any) -> tuple[str, dict[str, Any]]:
    """(provider_config key, block). Values that are not dicts (expressions) or lists (nested
    blocks such as default_tags) become constants."""
    block: dict[str, Any] = {
        "name": name,
        "full_name": _PROVIDER_BY_PREFIX.get(name, f"registry.terraform.io/hashicorp/{name}"),
        "expressions": {k: v if isinstance(v, (dict, list)) else const(v) for k, v in expressions.items()},
    }
    if alias:
        block["alias"] = alias
    return (f"{name}.{alias}" if alias else name), block


def plan(
    resource_changes: list[dict[str, Any]],
    *,
    resources: list[dict[str, Any]] | None = None,
    providers: Iterable[tuple[str, dict[str, Any]]] = (),
    module_calls: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    format_version: str = "1.2",
) -> dict[str, Any]:
    root: dict[str, Any] = {"resources": resources or []}
    if module_calls:
        root["module_calls"] = module_calls
    document: dict[str, Any] = {
        "format_version": format_version,
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": resource_changes,
        "configuration": {"provider_config": dict(providers), "root_module": root},
    }
    if variables is not None:
        document["variables"] = {k: {"value": v} for k, v in variables.items()}
    return document


def module_call(source: str, resources: list[dict[str, Any]], module_calls: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    module: dict[str, Any] = {"resources": resources}
    if module_calls:
        module["module_calls"] = module_calls
    return {"source": source, "module": module, **extra}


def aws_plan(resource_changes: list[dict[str, Any]], resources: list[dict[str, Any]] | None = None, region: str = "us-east-1", **kwargs: Any) -> dict[str, Any]:
    """A plan with a root `aws` provider in `region` (a constant, like the real corpus plans)."""
    providers = [provider("aws", region=region)] + list(kwargs.pop("providers", []))
    return plan(resource_changes, resources=resources, providers=providers, **kwargs)


def write(directory: Path, document: dict[str, Any], name: str = "plan.json") -> str:
    path = Path(directory) / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def read(directory: Path, document: dict[str, Any]):
    from tollgate.engine.terraform.plan_reader import read_plan_requests

    return read_plan_requests(write(directory, document))


def check(directory: Path, document: dict[str, Any], catalog: Any, **options: Any) -> dict[str, Any]:
    """run_check -> report_dict for one plan document."""
    from tollgate.engine.check import CheckOptions, run_check
    from tollgate.integrations.render_json import report_dict

    return report_dict(run_check([write(directory, document)], catalog, CheckOptions(**options)))


def by_address(items: Iterable[Any]) -> dict[str, Any]:
    """Requests (objects) or report resources (dicts) keyed by 'address' or 'address component'."""
    found: dict[str, Any] = {}
    for item in items:
        address = item["address"] if isinstance(item, dict) else item.address
        component = item.get("component") if isinstance(item, dict) else item.component
        key = f"{address} {component}" if component else address
        assert key not in found, f"duplicate request {key}"
        found[key] = item
    return found

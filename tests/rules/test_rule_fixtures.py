"""Every policy type (rule) against its pass/fail fixtures, plus the meta-test that keeps the rule
registry honest: each registered rule has a stable id, a docstring, a schema whose `type` is that
id, and at least one pass and one fail fixture on each of aws, gcp and azure.

The fixture format is documented in tests/rules/fixtures/README.md. A fixture holds one policy
(as written in tollgate.yaml), a few compact compute requests (priced with the bundled catalog),
and what the policy must report about them.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tollgate.engine import config, config_types
from tollgate.engine.config import Policy
from tollgate.engine.config_loader import validate_policy_file
from tollgate.engine.model import (
    Accelerator,
    Action,
    ComputeRequest,
    Provider,
    PurchaseMix,
    PurchaseOption,
    Quantity,
    SourceLocation,
    WorkloadClass,
)
from tollgate.engine.pricing import price_requests
from tollgate.engine.rules import RULES
from tollgate.engine.rules.registry import RuleContext

FIXTURES = Path(__file__).parent / "fixtures"
CLOUDS = ("aws", "gcp", "azure")
OUTCOMES = ("pass", "fail")
HOURS_PER_MONTH = 730

FIXTURE_KEYS = {"policy", "requests", "expect", "description", "hours_per_month"}
REQUEST_KEYS = {
    "address", "kind", "provider", "region", "instance_type", "instance_types", "quantity",
    "purchase_option", "mix", "workload_class", "workload_class_reason", "tags", "tags_known",
    "action", "before", "accelerators", "namespace", "file", "line",
}
BEFORE_KEYS = {"instance_type", "instance_types", "quantity", "purchase_option", "mix", "region", "accelerators"}
EXPECT_KEYS = {"findings", "severities", "message_contains", "message_excludes", "addresses"}


# --- building requests from the compact fixture form ---------------------------------------------


def _quantity(raw: Any) -> Quantity:
    if raw is None:
        return Quantity(desired=None)
    if isinstance(raw, int):
        return Quantity.fixed(raw)
    assert isinstance(raw, dict) and set(raw) <= {"desired", "min", "max"}, f"bad quantity {raw!r}"
    return Quantity(desired=raw.get("desired"), min=raw.get("min"), max=raw.get("max"))


def _accelerators(raw: Any) -> tuple[Accelerator, ...]:
    return tuple(Accelerator(type=a["type"], count=int(a["count"])) for a in raw or [])


def _mix(raw: Any) -> PurchaseMix | None:
    if raw is None:
        return None
    return PurchaseMix(on_demand=int(raw.get("on_demand", 0)), spot=int(raw.get("spot", 0)))


def _kind(address: str) -> str:
    """'module.gpu.aws_instance.trainer[0]' -> 'aws_instance'."""
    parts = address.split(".")
    while parts and parts[0] == "module":
        parts = parts[2:]
    return parts[0] if parts else address


def build_request(raw: dict[str, Any], source_name: str) -> ComputeRequest:
    unknown = set(raw) - REQUEST_KEYS
    assert not unknown, f"{source_name}: unknown request keys {sorted(unknown)}"
    address = raw["address"]
    types = tuple(raw.get("instance_types") or ())
    common = dict(
        address=address,
        kind=raw.get("kind") or _kind(address),
        source=SourceLocation(file=raw.get("file", "main.tf"), line=raw.get("line", 1)),
        provider=Provider(raw["provider"]),
        region=raw.get("region"),
        namespace=raw.get("namespace"),
        workload_class=WorkloadClass(raw.get("workload_class", "unknown")),
        workload_class_reason=raw.get("workload_class_reason"),
        tags=dict(raw.get("tags") or {}),
        tags_known=raw.get("tags_known", True),
    )
    before = None
    if "before" in raw:
        old = raw["before"]
        bad = set(old) - BEFORE_KEYS
        assert not bad, f"{source_name}: unknown `before` keys {sorted(bad)}"
        old_types = tuple(old.get("instance_types") or ())
        before = ComputeRequest(
            **{**common, "region": old.get("region", raw.get("region"))},
            instance_type=old.get("instance_type", raw.get("instance_type")) or (old_types[0] if old_types else None),
            instance_types=old_types,
            quantity=_quantity(old.get("quantity", raw.get("quantity", 1))),
            purchase_option=PurchaseOption(old.get("purchase_option", raw.get("purchase_option", "on_demand"))),
            purchase_mix=_mix(old.get("mix")),
            accelerators=_accelerators(old.get("accelerators", raw.get("accelerators"))),
        )
    return ComputeRequest(
        **common,
        instance_type=raw.get("instance_type") or (types[0] if types else None),
        instance_types=types,
        quantity=_quantity(raw.get("quantity", 1)),
        purchase_option=PurchaseOption(raw.get("purchase_option", "on_demand")),
        purchase_mix=_mix(raw.get("mix")),
        accelerators=_accelerators(raw.get("accelerators")),
        action=Action(raw.get("action", "update" if before is not None else "create")),
        before=before,
    )


def parse_policy(raw: dict[str, Any]) -> Any:
    """The one policy, validated exactly as tollgate.yaml validates it."""
    return validate_policy_file({"version": 1, "policies": [raw]}).policies[0]


# --- discovering fixtures --------------------------------------------------------------------------


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*/*.yaml"))


def split_name(path: Path) -> tuple[str, str, str]:
    """'fail-aws-total-over.yaml' -> ('fail', 'aws', 'total-over')."""
    outcome, _, rest = path.stem.partition("-")
    cloud, _, what = rest.partition("-")
    return outcome, cloud, what


def load_fixture(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: a fixture is a mapping"
    unknown = set(data) - FIXTURE_KEYS
    assert not unknown, f"{path}: unknown fixture keys {sorted(unknown)}"
    for key in ("policy", "requests", "expect"):
        assert key in data, f"{path}: missing `{key}`"
    bad = set(data["expect"]) - EXPECT_KEYS
    assert not bad, f"{path}: unknown `expect` keys {sorted(bad)}"
    return data


def evaluate_fixture(path: Path, data: dict[str, Any], catalog: Any) -> list[Any]:
    policy = parse_policy(data["policy"])
    requests = [build_request(raw, path.name) for raw in data["requests"]]
    priced = price_requests(requests, catalog)
    hours = int(data.get("hours_per_month", HOURS_PER_MONTH))
    ctx = RuleContext(resources=priced, hours_per_month=hours, prices=catalog)
    return list(RULES[policy.type].evaluate(policy, ctx))


FIXTURE_PATHS = fixture_files()


def test_there_are_fixtures():
    assert FIXTURE_PATHS, f"no fixtures under {FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=[f"{p.parent.name}/{p.stem}" for p in FIXTURE_PATHS])
def test_fixture(path: Path, catalog):
    data = load_fixture(path)
    outcome, cloud, what = split_name(path)
    rule_id = path.parent.name
    assert outcome in OUTCOMES and cloud in CLOUDS and what, f"{path.name}: name it <pass|fail>-<aws|gcp|azure>-<what>.yaml"
    assert data["policy"].get("type") == rule_id, f"{path}: the policy type must be the folder's rule id {rule_id!r}"
    providers = {r.get("provider") for r in data["requests"]}
    assert cloud in providers, f"{path}: a {cloud} fixture needs at least one {cloud} request (has {sorted(map(str, providers))})"

    expect = data["expect"]
    count = expect["findings"]
    if outcome == "pass":
        assert count == 0, f"{path}: a pass fixture expects no findings"
    else:
        assert count > 0, f"{path}: a fail fixture expects at least one finding"

    findings = evaluate_fixture(path, data, catalog)
    messages = "\n".join(f.message for f in findings)
    shown = messages or "(no findings)"
    assert len(findings) == count, f"{path.name}: expected {count} findings, got {len(findings)}:\n{shown}"
    if "severities" in expect:
        assert sorted(f.severity for f in findings) == sorted(expect["severities"]), f"{path.name}:\n{shown}"
    if "addresses" in expect:
        assert sorted(f.address for f in findings) == sorted(expect["addresses"]), f"{path.name}:\n{shown}"
    for text in expect.get("message_contains", []):
        assert str(text) in messages, f"{path.name}: {text!r} not in:\n{shown}"
    for text in expect.get("message_excludes", []):
        assert str(text) not in messages, f"{path.name}: {text!r} unexpectedly in:\n{shown}"
    for item in findings:
        assert item.policy_id == data["policy"]["id"]
        assert item.severity in ("error", "warning", "info")
        if "message" in data["policy"]:
            assert data["policy"]["message"] in item.message, "the policy's custom message is added to every finding"


# --- the meta-test ---------------------------------------------------------------------------------


def _type_literal(schema: type[BaseModel]) -> tuple[Any, ...]:
    field = schema.model_fields.get("type")
    if field is None:
        return ()
    annotation = field.annotation
    if typing.get_origin(annotation) is not typing.Literal:
        return ()
    return typing.get_args(annotation)


def _policy_union_members() -> list[type[BaseModel]]:
    union = typing.get_args(Policy)[0]  # Annotated[Union[...], Field(discriminator="type")]
    return list(typing.get_args(union))


def registry_problems() -> list[str]:
    """Everything missing from the registry, as readable lines (empty when complete)."""
    problems: list[str] = []
    for rule_id, rule in sorted(RULES.items()):
        if rule.id != rule_id:
            problems.append(f"{rule_id}: registered under a different id ({rule.id!r})")
        if not rule.doc:
            problems.append(f"{rule_id}: the evaluator has no docstring (the rule's documentation)")
        # The engine's class is registered; its pydantic twin in engine.config is the schema.
        model = getattr(config, getattr(rule.schema, "__name__", ""), None)
        if not (isinstance(rule.schema, type) and issubclass(rule.schema, config_types.PolicyBase)):
            problems.append(f"{rule_id}: {rule.schema!r} is not a policy class of engine.config_types")
        elif not (isinstance(model, type) and issubclass(model, BaseModel)):
            problems.append(f"{rule_id}: engine.config has no pydantic model named {rule.schema.__name__}")
        elif _type_literal(model) != (rule_id,):
            problems.append(f"{rule_id}: schema {model.__name__}.type is not Literal[{rule_id!r}] (got {_type_literal(model)!r})")
        folder = FIXTURES / rule_id
        for cloud in CLOUDS:
            for outcome in OUTCOMES:
                if not list(folder.glob(f"{outcome}-{cloud}-*.yaml")):
                    problems.append(f"{rule_id}: no {outcome} fixture for {cloud} ({folder.relative_to(FIXTURES.parent)}/{outcome}-{cloud}-<what>.yaml)")
    return problems


def test_meta_every_rule_has_id_doc_schema_and_fixtures_on_every_cloud():
    assert RULES, "no rules registered"
    problems = registry_problems()
    assert not problems, "rule registry incomplete:\n  " + "\n  ".join(problems)


def test_meta_fixture_folders_belong_to_registered_rules():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    stray = folders - set(RULES)
    assert not stray, f"fixture folders for unregistered rule ids: {sorted(stray)}"


def test_meta_detects_missing_pieces(monkeypatch):
    """The meta-test itself fails, naming what is missing, when a rule lacks a doc or fixtures."""
    from tollgate.engine.config_types import PolicyBase
    from tollgate.engine.rules.registry import Rule

    def undocumented(policy, ctx):
        return iter(())

    monkeypatch.setitem(RULES, "nothing", Rule("nothing", PolicyBase, undocumented))
    problems = "\n".join(registry_problems())
    assert "nothing: the evaluator has no docstring" in problems
    assert "nothing: schema PolicyBase.type is not Literal['nothing']" in problems
    for cloud in CLOUDS:
        for outcome in OUTCOMES:
            assert f"nothing: no {outcome} fixture for {cloud}" in problems


def test_policy_union_and_registry_agree():
    union_types = {}
    for member in _policy_union_members():
        literal = _type_literal(member)
        assert len(literal) == 1, f"{member.__name__}.type must be a single Literal"
        union_types[literal[0]] = member
    assert set(union_types) == set(RULES), (
        f"in the Policy union but not registered: {sorted(set(union_types) - set(RULES))}; "
        f"registered but not in the Policy union: {sorted(set(RULES) - set(union_types))}"
    )
    for rule_id, member in union_types.items():
        assert RULES[rule_id].schema.__name__ == member.__name__, f"{rule_id}: RULES schema {RULES[rule_id].schema.__name__} is not the union's {member.__name__}"
        assert config_types.POLICY_CLASSES[rule_id] is RULES[rule_id].schema


def test_the_six_policy_types_are_registered():
    assert set(RULES) >= {"budget", "instance_type", "region", "spot", "tags", "approval"}

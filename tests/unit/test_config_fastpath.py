"""The pydantic-free tollgate.yaml path (engine.config_fastpath, engine.config_types) against the
schema it stands in for (engine.config): whatever the fast path accepts, pydantic accepts with the
same values; what pydantic would reject or coerce, the fast path leaves to pydantic."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from tollgate.engine import config, config_types
from tollgate.engine.config_fastpath import build_policy_file
from tollgate.engine.config_loader import compose, parse_policy_file, runtime, validate_policy_file
from tollgate.engine.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
PACKS = sorted((REPO / "policies").glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").glob("*/tollgate.yaml"))
RULE_FIXTURES = sorted((REPO / "tests" / "rules" / "fixtures").glob("*/*.yaml"))

# Every key of the schema, set: the sample the fuzzing below mutates.
FULL = {
    "version": 1,
    "extends": ["builtin:gpu-guardrails"],
    "settings": {
        "hours_per_month": 720,
        "pricing": "cached",
        "default_region": {"aws": "us-east-1", "gcp": "us-central1"},
        "unpriced_severity": "error",
        "endpoints": {"aws_pricing": "http://127.0.0.1:8080", "azure_retail": "https://prices.example.com/api"},
        "price_cache_ttl": {"on_demand_hours": 24, "reserved_hours": 48.5, "spot_hours": 0.25},
    },
    "cluster": {
        "provider": "aws",
        "region": "us-east-1",
        "node_pools": [
            {"name": "gpu", "instance_types": ["g5.12xlarge"], "capacity": "spot", "labels": {"a": "b"}, "taints": ["gpu=true:NoSchedule"]}
        ],
        "default_job_hours": 2,
    },
    "policies": [
        {
            "id": "team-budget",
            "type": "budget",
            "severity": "warning",
            "monthly_limit_usd": 1000.5,
            "monthly_increase_limit_usd": 250,
            "warn_at_percent": [50, 80],
            "actual_spend": {"provider": "aws", "filter": {"tag:team": "ml", "nested": [1, {"x": None}]}},
            "scope": {"tags": {"team": "ml"}, "providers": ["aws"], "regions": ["us-*"], "kinds": ["aws_instance"],
                      "namespaces": ["ml"], "workload_class": ["batch"], "addresses": ["module.*"]},
            "message": "ask FinOps",
            "description": "the ML team's cap",
        },
        {"id": "types", "type": "instance_type", "allow": ["g5.*"], "deny": ["p5.*"], "gpu_models_allow": ["A10G"],
         "gpu_models_deny": ["H100"], "max_gpus_per_resource": 8, "max_gpus_per_change": 0, "deny_previous_generation": True},
        {"id": "regions", "type": "region", "allow": {"aws": ["us-*"]}, "deny": {"gcp": ["asia-*"]}},
        {"id": "spot", "type": "spot", "require_for": ["batch"], "forbid_for": ["online"], "warn_for": ["unknown"]},
        {"id": "tags", "type": "tags", "required": ["team"], "allowed_values": {"env": ["prod", "dev"]},
         "patterns": {"cost-center": "^CC-[0-9]{4}$"}, "case_insensitive_keys": True},
        {"id": "approval", "type": "approval", "monthly_increase_over_usd": 5000, "approvers": ["@finops"]},
    ],
    "exceptions": [
        {"policy": "types", "resource": "aws_instance.legacy", "reason": "migrating", "owner": "@ml", "expires": dt.date(2027, 1, 31)}
    ],
}


def pydantic_result(data: Any) -> Any:
    """pydantic's verdict as the engine's types, or the ValidationError."""
    try:
        return runtime(config.PolicyFile.model_validate(copy.deepcopy(data)))
    except ValidationError as error:
        return error


def assert_agrees(data: Any) -> bool:
    """The fast path accepts only what pydantic accepts, with equal values (types included).
    True when the fast path accepted."""
    fast = build_policy_file(copy.deepcopy(data))
    if fast is None:
        return False
    slow = pydantic_result(data)
    assert not isinstance(slow, ValidationError), f"fast path accepted what pydantic rejects: {slow}\n{data!r}"
    assert fast == slow
    assert _typed(fast) == _typed(slow), "same values, different Python types (Decimal vs float, int vs float)"
    return True


def _typed(value: Any) -> Any:
    if isinstance(value, msgspec.Struct):
        return (type(value).__name__, [(name, _typed(getattr(value, name))) for name in value.__struct_fields__])
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return (type(value).__name__, value)


# --- the twins -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(config_types.CLASSES))
def test_each_engine_class_has_the_fields_and_defaults_of_its_pydantic_model(name):
    engine_class = config_types.CLASSES[name]
    model = getattr(config, name)
    assert issubclass(model, BaseModel)
    engine_fields = {f.name: f for f in msgspec.structs.fields(engine_class)}
    assert set(engine_fields) == set(model.model_fields), f"{name}: keys differ between engine.config_types and engine.config"
    for field_name, info in model.model_fields.items():
        spec = engine_fields[field_name]
        if info.is_required():
            assert spec.required or field_name == "type"
            continue
        default = spec.default_factory() if spec.default_factory is not msgspec.NODEFAULT else spec.default
        expected = info.get_default(call_default_factory=True)
        assert _typed(runtime(expected) if isinstance(expected, BaseModel) else expected) == _typed(default), f"{name}.{field_name}"


def test_the_policy_types_are_the_same_on_both_sides():
    union = config.Policy.__origin__.__args__  # Annotated[Union[...], Field(discriminator=...)]
    assert {m.__name__ for m in union} == {c.__name__ for c in config_types.POLICY_CLASSES.values()}
    for type_name, cls in config_types.POLICY_CLASSES.items():
        assert {f.name: f.default for f in msgspec.structs.fields(cls)}["type"] == type_name


# --- files that need no pydantic -----------------------------------------------------------------


@pytest.mark.parametrize("path", PACKS + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bundled_packs_and_examples_take_the_fast_path_with_pydantics_values(path):
    data = yaml.safe_load(path.read_text())
    assert assert_agrees(data), f"{path} fell back to pydantic"


def test_rule_fixture_policies_take_the_fast_path_with_pydantics_values():
    assert RULE_FIXTURES
    for path in RULE_FIXTURES:
        policy = yaml.safe_load(path.read_text())["policy"]
        assert assert_agrees({"version": 1, "policies": [policy]}), f"{path} fell back to pydantic"


def test_every_key_of_the_schema_takes_the_fast_path():
    assert assert_agrees(FULL)
    built = build_policy_file(FULL)
    assert built is not None
    budget = built.policies[0]
    assert isinstance(budget, config_types.BudgetPolicy)
    assert budget.monthly_limit_usd == Decimal("1000.5") and type(budget.monthly_increase_limit_usd) is Decimal
    assert built.settings.price_cache_ttl.on_demand_hours == 24.0 and type(built.settings.price_cache_ttl.on_demand_hours) is float


def test_checking_a_change_with_a_policy_file_does_not_import_pydantic(tmp_path):
    (tmp_path / "tollgate.yaml").write_text("version: 1\nextends: [builtin:finops-baseline, builtin:gpu-guardrails]\n")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n")
    script = textwrap.dedent(
        f"""
        import sys
        from tollgate.integrations.cli import main
        try:
            main(["check", {str(manifest)!r}, "--config", {str(tmp_path / "tollgate.yaml")!r}, "--format", "json", "--output", {os.devnull!r}])
        except SystemExit:
            pass
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core")))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ, TOLLGATE_NO_CACHE="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- what is left to pydantic --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, why",
    [
        ({"version": 1, "settings": {"hours_per_month": "720"}}, "a string pydantic would coerce to an integer"),
        ({"version": 1, "settings": {"hours_per_month": 720.0}}, "a float pydantic would coerce to an integer"),
        ({"version": True}, "true is not 1, although True == 1"),
        ({"version": 1, "exceptions": [{"policy": "a", "resource": "b", "expires": "2027-01-31"}]}, "a quoted date"),
        ({"version": 1, "policies": [{"id": "a", "type": "budget"}]}, "a budget without a limit"),
        ({"version": 1, "policies": [{"id": "a", "type": "tags", "patterns": {"k": "("}}]}, "a pattern that does not compile"),
        ({"version": 1, "policies": [{"id": "Bad Id", "type": "spot"}]}, "an id off the pattern"),
        ({"version": 1, "policies": [{"id": "a\n", "type": "spot"}]}, "a newline Python's `$` would let through"),
        ({"version": 1, "policies": [{"id": "a", "type": "spotty"}]}, "an unknown policy type"),
        ({"version": 1, "policies": [{"id": "a", "type": "spot", "typo": 1}]}, "an unknown key"),
        ({"version": 1, "settings": {"endpoints": {"aws_ec2": "http://example.com"}}}, "plain http off loopback"),
        ({"version": 1, "settings": {"endpoints": {"aws_ec2": ""}}}, "an empty endpoint"),
        ({"version": 1, "extends": ["gpu-guardrails"]}, "an extends entry without builtin:"),
        ({"version": 1, "policies": [{"id": "a", "type": "budget", "monthly_limit_usd": -1}]}, "a negative amount"),
        ({"version": 1, "policies": [{"id": "a", "type": "budget", "monthly_limit_usd": float("nan")}]}, "not a number"),
        ({"version": 1, "policies": [{"id": "a", "type": "region", "allow": {"oracle": ["x"]}}]}, "a provider that is not one"),
        ({"version": 1, "policies": [{"id": "a", "type": "approval", "monthly_increase_over_usd": 1, "approvers": []}]}, "no approver"),
        ({"version": 1, "policies": [{"id": "a", "type": "spot"}, {"id": "a", "type": "spot"}]}, "an id used twice"),
        ({"version": 1, "cluster": {"provider": "aws", "region": "x", "node_pools": [{"name": "n", "instance_types": "m5.large"}]}}, "a string for a list"),
        ({"version": 1, "policies": [{"id": "a", "type": "tags", "required": [1]}]}, "a number for a string"),
        ({"version": 1, "policies": [{"id": "a", "type": "tags", "allowed_values": {1: ["x"]}}]}, "a number as a key"),
        ([], "not a mapping"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_what_pydantic_would_reject_or_coerce_is_left_to_it(data, why):
    assert build_policy_file(data) is None, why


def test_a_file_pydantic_coerces_still_loads_as_the_engines_types(tmp_path):
    text = 'version: 1\nsettings: {hours_per_month: "720"}\nexceptions: [{policy: a, resource: b, expires: "2027-01-31"}]\n'
    policy_file = parse_policy_file("tollgate.yaml", text)
    assert isinstance(policy_file, config_types.PolicyFile)
    assert policy_file.settings.hours_per_month == 720
    assert policy_file.exceptions[0].expires == dt.date(2027, 1, 31)
    assert type(compose(policy_file, "tollgate.yaml").exceptions[0]) is config_types.ExceptionEntry


def test_errors_are_still_worded_by_pydantic_with_file_and_line():
    with pytest.raises(ConfigError) as caught:
        parse_policy_file("tollgate.yaml", "version: 1\npolicies:\n  - id: a\n    type: budget\n    monthly_limit_usd: -5\n")
    assert caught.value.line == 5
    assert "policies[0].monthly_limit_usd" in str(caught.value) and "greater than or equal to 0" in str(caught.value)


def test_validate_policy_file_raises_pydantics_error_for_invalid_data():
    with pytest.raises(ValidationError):
        validate_policy_file({"version": 1, "policies": [{"id": "a", "type": "budget"}]})


# --- fuzzing: mutations of a file that uses every key --------------------------------------------

_REPLACEMENTS: list[Any] = [
    None, True, False, 0, 1, -1, 720, 745, 0.5, 1e400, "", "x", "5", "us-*", "aws", "batch", "builtin:x",
    "http://127.0.0.1", "https://h", "(", [], ["x"], [1], {}, {"x": "y"}, {"aws": ["x"]}, dt.date(2027, 1, 1),
    dt.datetime(2027, 1, 1, 12, 0), Decimal("1.5"), b"bytes", ("tuple",),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _mutate(data: Any, rng: random.Random) -> Any:
    mutated = copy.deepcopy(data)
    path = rng.choice(_paths(mutated))
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.25 and isinstance(parent, dict):
        parent[rng.choice(["typo", "Version", 1])] = rng.choice(_REPLACEMENTS)
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return mutated


def test_fuzzed_files_accepted_by_the_fast_path_are_accepted_by_pydantic_with_the_same_values():
    rng = random.Random(20261122)
    accepted = refused = 0
    for _ in range(1500):
        data = FULL
        for _ in range(rng.randint(1, 3)):
            data = _mutate(data, rng)
        if assert_agrees(data):
            accepted += 1
        else:
            refused += 1
    # Both sides exercised: many mutations stay valid, many do not.
    assert accepted > 100 and refused > 100, (accepted, refused)


def test_the_committed_schema_is_what_the_fast_path_reads():
    from tollgate.engine.config_fastpath import schema_path

    assert json.loads(Path(schema_path()).read_text()) == json.loads(json.dumps(config.json_schema()))

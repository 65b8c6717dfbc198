"""tollgate.yaml: strict validation with errors naming file, line and field; `extends` composition;
discovery; the committed JSON Schema; the built-in packs; and the CLI doors (`check --config`,
`schema`, `policies`)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from plan_builder import aws_plan, change, write
from tollgate.engine.config import PolicyFile, SpotPolicy, json_schema
from tollgate.engine.config_types import BudgetPolicy, InstanceTypePolicy
from tollgate.engine.config_loader import (
    builtin_packs,
    compose,
    find_config,
    load_active_config,
    parse_policy_file,
)
from tollgate.engine.errors import ConfigError
from tollgate.engine.rules import RULES
from tollgate.integrations.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
SCHEMA_FILE = POLICIES / "tollgate.schema.json"
SIX_TYPES = ("budget", "instance_type", "region", "spot", "tags", "approval")


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def parse_error(text: str, path: str = "tollgate.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_policy_file(path, dedent(text))
    error = caught.value
    assert error.path == path
    assert "Traceback" not in str(error)
    return error


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` in the dedented text."""
    for number, line in enumerate(dedent(text).splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


# --- a valid file ----------------------------------------------------------------------------------

FULL = """
    version: 1
    extends: [builtin:gpu-guardrails]
    settings:
      hours_per_month: 730
      pricing: bundled
      default_region: {aws: us-east-1}
    cluster:
      provider: aws
      region: us-west-2
      node_pools:
        - {name: gpu, instance_types: [g5.12xlarge], capacity: on_demand, labels: {pool: gpu}}
    policies:
      - id: ml-budget
        type: budget
        severity: error
        scope: {tags: {team: ml}, providers: [aws], regions: [], kinds: [], namespaces: [], workload_class: []}
        monthly_limit_usd: 50000
        monthly_increase_limit_usd: 5000
        resource_monthly_limit_usd: 20000
        warn_at_percent: [50, 80]
        actual_spend: {provider: aws, filter: {tags: {team: ml}}}
        message: "Ask #finops."
      - id: gpu-types
        type: instance_type
        allow: ["g5.*", "g6.*", "p4d.*", "a2-*", "g2-*", "Standard_NC*"]
        deny: ["p3.*"]
        gpu_models_allow: [A10G, L4, A100-40GB, A100-80GB, H100-80GB]
        gpu_models_deny: []
        max_gpus_per_resource: 16
        max_gpus_per_change: 32
        deny_previous_generation: true
      - id: regions
        type: region
        allow: {aws: [us-east-1, us-west-2], gcp: [us-central1], azure: [eastus]}
        deny: {}
      - id: spot-for-batch
        type: spot
        require_for: [batch]
        forbid_for: [online]
      - id: cost-tags
        type: tags
        required: [team, cost-center]
        allowed_values: {team: [ml, platform]}
        patterns: {cost-center: "^CC-[0-9]{4}$"}
      - id: big-change-approval
        type: approval
        monthly_increase_over_usd: 10000
        approvers: ["@org/finops"]
    exceptions:
      - {policy: gpu-types, resource: "aws_instance.legacy*", reason: "migration ticket OPS-123",
         owner: "alice@example.com", expires: 2026-12-31}
"""


def test_the_design_example_parses_with_every_policy_type():
    parsed = parse_policy_file("tollgate.yaml", dedent(FULL))
    assert [p.type for p in parsed.policies] == list(SIX_TYPES)
    assert parsed.policies[0].message == "Ask #finops."
    assert str(parsed.exceptions[0].expires) == "2026-12-31"
    assert parsed.exceptions[0].owner == "alice@example.com"
    assert parsed.settings.default_region == {"aws": "us-east-1"}


# --- unknown keys: file, line and field path --------------------------------------------------------


def test_unknown_top_level_key_names_line_and_field():
    text = """
        version: 1
        polices:
          - {id: a, type: spot, require_for: [batch]}
    """
    error = parse_error(text)
    assert error.line == line_of(text, "polices:")
    assert error.problem.startswith("polices: unknown key")
    assert str(error).startswith(f"tollgate.yaml:{error.line}: polices: ")


def test_unknown_key_inside_a_policy_names_line_and_field_path():
    text = """
        version: 1
        policies:
          - id: regions
            type: region
            allow: {aws: [us-east-1]}
          - id: ml-budget
            type: budget
            monthly_limit_usd: 5000
            monthly_limit: 5000
    """
    error = parse_error(text)
    assert error.line == line_of(text, "monthly_limit: 5000")
    assert error.problem.startswith("policies[1].monthly_limit: unknown key")


def test_unknown_key_inside_scope_names_line_and_field_path():
    text = """
        version: 1
        policies:
          - id: ml-budget
            type: budget
            monthly_limit_usd: 5000
            scope:
              tags: {team: ml}
              provider: [aws]
    """
    error = parse_error(text)
    assert error.line == line_of(text, "provider: [aws]")
    assert error.problem.startswith("policies[0].scope.provider: unknown key")


def test_unknown_key_inside_an_exception():
    text = """
        version: 1
        exceptions:
          - policy: gpu-types
            resource: aws_instance.legacy
            reason: migration
            ower: alice@example.com
    """
    error = parse_error(text)
    assert error.line == line_of(text, "ower:")
    assert error.problem.startswith("exceptions[0].ower: unknown key")


# --- other problems ---------------------------------------------------------------------------------


def test_bad_yaml_names_the_line():
    text = """
        version: 1
        policies:
          - id: a
            type: [budget
    """
    error = parse_error(text)
    assert error.line is not None and error.line >= line_of(text, "type: [budget")
    assert "invalid YAML" in error.problem


def test_bad_indentation_names_the_line():
    text = "version: 1\npolicies:\n  - id: a\n   type: budget\n"
    with pytest.raises(ConfigError) as caught:
        parse_policy_file("t.yaml", text)
    assert caught.value.line == 4
    assert "invalid YAML" in caught.value.problem


def test_wrong_type_names_line_and_field():
    text = """
        version: 1
        policies:
          - id: ml-budget
            type: budget
            monthly_limit_usd: lots
    """
    error = parse_error(text)
    assert error.line == line_of(text, "monthly_limit_usd: lots")
    assert error.problem.startswith("policies[0].monthly_limit_usd: ")
    assert "decimal" in error.problem.lower() or "number" in error.problem.lower()


def test_unknown_policy_type_names_the_type_line():
    text = """
        version: 1
        policies:
          - id: ml-budget
            type: budgets
            monthly_limit_usd: 5
    """
    error = parse_error(text)
    assert error.line == line_of(text, "type: budgets")
    assert error.problem.startswith("policies[0]")
    assert "budgets" in error.problem
    for name in SIX_TYPES:
        assert name in error.problem, "the message lists the policy types that exist"


def test_missing_policy_type():
    text = """
        version: 1
        policies:
          - id: ml-budget
            monthly_limit_usd: 5
    """
    error = parse_error(text)
    assert error.line == line_of(text, "- id: ml-budget")
    assert "type" in error.problem


def test_duplicate_policy_ids_name_the_second_one():
    text = """
        version: 1
        policies:
          - id: gpu
            type: instance_type
            deny: ["p3.*"]
          - id: gpu
            type: region
            allow: {aws: [us-east-1]}
    """
    error = parse_error(text)
    assert "used twice" in error.problem
    assert "'gpu'" in error.problem
    assert error.problem.startswith("policies[1].id: ")
    assert error.line == 6  # the second `- id: gpu`
    assert "first at line 3" in error.problem


def test_duplicate_yaml_key_is_not_silently_dropped():
    """YAML keeps the last of two equal keys; a second `policies:` would drop the first block."""
    text = """
        version: 1
        policies:
          - {id: a, type: spot, require_for: [batch]}
        policies:
          - {id: b, type: spot, forbid_for: [online]}
    """
    error = parse_error(text)
    assert error.line == 4
    assert error.problem.startswith("policies: key given twice (first at line 2)")


def test_budget_without_any_limit():
    text = """
        version: 1
        policies:
          - id: b
            type: budget
            warn_at_percent: [80]
    """
    error = parse_error(text)
    assert error.line == line_of(text, "- id: b")
    assert error.problem.startswith("policies[0]: a budget needs")
    assert "Value error" not in error.problem


@pytest.mark.parametrize(
    "snippet, field",
    [
        ("    - {id: a, type: budget, monthly_limit_usd: -1}", "policies[0].monthly_limit_usd"),
        ("    - {id: a, type: budget, monthly_limit_usd: 5, warn_at_percent: [120]}", "policies[0].warn_at_percent[0]"),
        ("    - {id: a, type: budget, monthly_limit_usd: 5, severity: fatal}", "policies[0].severity"),
        ("    - {id: Not An Id, type: spot}", "policies[0].id"),
        ("    - {id: a, type: spot, require_for: [training]}", "policies[0].require_for[0]"),
        ("    - {id: a, type: region, allow: {oracle: [x]}}", "policies[0].allow.oracle"),
        ("    - {id: a, type: tags, patterns: {cc: '^CC-[0-9'}}", "policies[0].patterns"),
        ("    - {id: a, type: approval, monthly_increase_over_usd: 5, approvers: []}", "policies[0].approvers"),
        ("    - {id: a, type: instance_type, max_gpus_per_resource: many}", "policies[0].max_gpus_per_resource"),
    ],
)
def test_invalid_values_name_line_and_field(snippet, field):
    text = "version: 1\npolicies:\n" + snippet + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_policy_file("t.yaml", text)
    assert caught.value.line == 3
    assert caught.value.problem.startswith(f"{field}: "), caught.value.problem


def test_version_is_required_and_must_be_1():
    assert parse_error("policies: []\n").problem.startswith("version: ")
    assert parse_error("version: 2\n").problem.startswith("version: ")


def test_empty_file_and_non_mapping():
    assert "empty" in parse_error("\n").problem
    assert "mapping" in parse_error("- a\n- b\n").problem


def test_exception_expiry_must_be_a_date():
    text = """
        version: 1
        exceptions:
          - {policy: a, resource: "x*", reason: r, owner: o, expires: someday}
    """
    error = parse_error(text)
    assert error.line == 3
    assert error.problem.startswith("exceptions[0].expires: ")


def test_settings_are_validated():
    text = """
        version: 1
        settings:
          hours_per_month: 800
    """
    error = parse_error(text)
    assert error.line == 3
    assert error.problem.startswith("settings.hours_per_month: ")


# --- extends --------------------------------------------------------------------------------------


def test_extends_must_name_a_builtin():
    error = parse_error("version: 1\nextends: [gpu-guardrails]\n")
    assert error.line == 2
    assert error.problem.startswith("extends")
    assert "builtin:" in error.problem


def test_extends_unknown_pack_names_the_file_line_and_entry():
    text = """
        version: 1
        extends:
          - builtin:default
          - builtin:no-such-pack
    """
    error = parse_error(text)
    assert error.path == "tollgate.yaml"
    assert error.line == line_of(text, "builtin:no-such-pack")
    assert error.problem.startswith("extends[1]: no built-in pack named 'no-such-pack'")
    for name in builtin_packs():
        assert name in error.problem, "the message lists the packs that exist"


def test_extends_composes_packs_in_order_then_the_file():
    text = """
        version: 1
        extends: [builtin:gpu-guardrails, builtin:finops-baseline]
        policies:
          - {id: ml-budget, type: budget, monthly_limit_usd: 50000}
    """
    active = compose(parse_policy_file("tollgate.yaml", dedent(text)), "tollgate.yaml")
    ids = [p.id for p in active.policies]
    gpu = [p.id for p in parse_policy_file("g", (POLICIES / "gpu-guardrails.yaml").read_text()).policies]
    finops = [p.id for p in parse_policy_file("f", (POLICIES / "finops-baseline.yaml").read_text()).policies]
    assert ids == gpu + finops + ["ml-budget"]
    assert active.origins["ml-budget"] == "tollgate.yaml"
    assert all(active.origins[i] == "builtin:gpu-guardrails" for i in gpu)
    assert all(active.origins[i] == "builtin:finops-baseline" for i in finops)


def test_a_later_policy_with_the_same_id_overrides_the_pack():
    text = """
        version: 1
        extends: [builtin:gpu-guardrails]
        policies:
          - id: gpu-models
            type: instance_type
            severity: warning
            gpu_models_allow: [H100-80GB]
    """
    active = compose(parse_policy_file("tollgate.yaml", dedent(text)), "tollgate.yaml")
    overridden = [p for p in active.policies if p.id == "gpu-models"]
    assert len(overridden) == 1
    assert isinstance(overridden[0], InstanceTypePolicy)
    assert overridden[0].gpu_models_allow == ["H100-80GB"]
    assert overridden[0].severity == "warning"
    assert active.origins["gpu-models"] == "tollgate.yaml"
    # the pack's other policy is still there, from the pack
    assert active.origins["gpu-spot-for-batch"] == "builtin:gpu-guardrails"


def test_a_later_pack_overrides_an_earlier_pack_by_id(monkeypatch):
    """Two packs that define the same id: the one listed later wins (synthetic packs)."""
    import tollgate.engine.config_loader as loader

    packs = {
        "first": "version: 1\npolicies:\n  - {id: shared, type: budget, monthly_limit_usd: 100}\n  - {id: only-first, type: spot, require_for: [batch]}\n",
        "second": "version: 1\npolicies:\n  - {id: shared, type: budget, monthly_limit_usd: 999}\n",
    }
    monkeypatch.setattr(loader, "builtin_packs", lambda: sorted(packs))
    monkeypatch.setattr(loader, "_builtin", lambda name: loader.parse_policy_file(f"builtin:{name}", packs[name]))
    active = compose(parse_policy_file("t.yaml", "version: 1\nextends: [builtin:first, builtin:second]\n"), "t.yaml")
    by_id = {p.id: p for p in active.policies}
    assert set(by_id) == {"shared", "only-first"}
    assert isinstance(by_id["shared"], BudgetPolicy)
    assert str(by_id["shared"].monthly_limit_usd) == "999"
    assert active.origins["shared"] == "builtin:second"
    assert active.origins["only-first"] == "builtin:first"


def test_exceptions_from_the_file_are_kept():
    text = """
        version: 1
        extends: [builtin:default]
        exceptions:
          - {policy: default-spot-for-batch, resource: "aws_instance.*", reason: "capacity reservation", owner: bob}
    """
    active = compose(parse_policy_file("tollgate.yaml", dedent(text)), "tollgate.yaml")
    assert [e.policy for e in active.exceptions] == ["default-spot-for-batch"]
    assert active.exceptions[0].owner == "bob"


# --- discovery ------------------------------------------------------------------------------------


def test_discovery_finds_the_nearest_file_up_from_cwd(tmp_path):
    (tmp_path / "tollgate.yaml").write_text("version: 1\npolicies:\n  - {id: outer, type: spot, require_for: [batch]}\n")
    inner = tmp_path / "infra" / "ml"
    deep = inner / "envs" / "prod"
    deep.mkdir(parents=True)
    active = load_active_config(None, str(deep))
    assert active.path == str(tmp_path / "tollgate.yaml")
    assert [p.id for p in active.policies] == ["outer"]

    (inner / "tollgate.yaml").write_text("version: 1\npolicies:\n  - {id: inner, type: spot, forbid_for: [online]}\n")
    active = load_active_config(None, str(deep))
    assert active.path == str(inner / "tollgate.yaml")
    assert [p.id for p in active.policies] == ["inner"]


def test_explicit_config_wins_over_discovery(tmp_path):
    (tmp_path / "tollgate.yaml").write_text("version: 1\npolicies:\n  - {id: discovered, type: spot, require_for: [batch]}\n")
    explicit = tmp_path / "other.yaml"
    explicit.write_text("version: 1\npolicies:\n  - {id: explicit, type: spot, require_for: [batch]}\n")
    active = load_active_config(str(explicit), str(tmp_path))
    assert [p.id for p in active.policies] == ["explicit"]


def test_discovery_falls_back_to_the_builtin_default(tmp_path):
    if find_config(str(tmp_path)) is not None:
        pytest.skip(f"a tollgate.yaml above {tmp_path} would be found")
    active = load_active_config(None, str(tmp_path))
    assert active.path == "builtin:default"
    default = parse_policy_file("d", (POLICIES / "default.yaml").read_text())
    assert [p.id for p in active.policies] == [p.id for p in default.policies]
    assert all(p.severity != "error" for p in active.policies), "the default pack reports, never blocks"


def test_missing_explicit_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_active_config(str(tmp_path / "nope.yaml"), str(tmp_path))
    assert "not found" in caught.value.problem


def test_discovered_bad_file_names_its_path(tmp_path):
    bad = tmp_path / "tollgate.yaml"
    bad.write_text("version: 1\nsetings: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_active_config(None, str(tmp_path))
    assert caught.value.path == str(bad)
    assert caught.value.line == 2


# --- schema and built-in packs --------------------------------------------------------------------


def test_committed_schema_is_identical_to_json_schema():
    assert SCHEMA_FILE.is_file(), f"{SCHEMA_FILE} is missing; regenerate it with `tollgate schema > policies/tollgate.schema.json`"
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    current = json.loads(json.dumps(json_schema()))
    assert committed == current, "policies/tollgate.schema.json is stale; regenerate it with `tollgate schema > policies/tollgate.schema.json`"


def test_committed_schema_text_is_what_tollgate_schema_prints(capsys):
    assert main(["schema"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == SCHEMA_FILE.read_text(encoding="utf-8")


def test_schema_rejects_unknown_keys_and_knows_every_policy_type():
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert schema["$schema"].startswith("https://json-schema.org/")
    text = json.dumps(schema)
    for name in SIX_TYPES:
        assert f'"const": "{name}"' in text or f'"enum": ["{name}"]' in text, name


def test_schema_validates_the_design_example():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    data = yaml.safe_load(dedent(FULL))
    data["exceptions"][0]["expires"] = str(data["exceptions"][0]["expires"])
    jsonschema.validate(data, json_schema())


@pytest.mark.parametrize("pack", sorted(p.stem for p in POLICIES.glob("*.yaml")))
def test_every_builtin_pack_parses_and_composes(pack):
    path = POLICIES / f"{pack}.yaml"
    parsed = parse_policy_file(str(path), path.read_text(encoding="utf-8"))
    assert parsed.policies, f"{pack} has no policies"
    assert all(p.type in RULES for p in parsed.policies)
    assert all(p.description for p in parsed.policies), f"{pack}: every built-in policy says what it is for"
    active = compose(parse_policy_file("t.yaml", f"version: 1\nextends: [builtin:{pack}]\n"), "t.yaml")
    assert [p.id for p in active.policies] == [p.id for p in parsed.policies]


def test_builtin_packs_lists_the_policy_folder():
    assert builtin_packs() == sorted(p.stem for p in POLICIES.glob("*.yaml"))
    assert "default" in builtin_packs()


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*/tollgate.yaml")), ids=lambda p: p.parent.name)
def test_example_policy_files_parse(path):
    load_active_config(str(path))


def test_policy_file_model_is_strict_and_frozen():
    parsed = PolicyFile.model_validate({"version": 1, "policies": [{"id": "s", "type": "spot", "require_for": ["batch"]}]})
    assert isinstance(parsed.policies[0], SpotPolicy)
    with pytest.raises(Exception):
        parsed.policies[0].id = "other"  # type: ignore[misc]


def test_the_engine_gets_frozen_policies_too():
    active = compose(parse_policy_file("t.yaml", "version: 1\npolicies: [{id: s, type: spot, require_for: [batch]}]\n"), "t.yaml")
    assert type(active.policies[0]).__module__ == "tollgate.engine.config_types"
    with pytest.raises(AttributeError):  # immutable
        active.policies[0].id = "other"  # type: ignore[misc]


# --- the CLI doors --------------------------------------------------------------------------------

ERROR_LINE = re.compile(r"^tollgate: error: (?P<file>.+?):(?P<line>\d+): (?P<field>[\w.\[\]-]+): (?P<problem>.+)$")


def _plan(tmp_path: Path) -> str:
    return write(tmp_path, aws_plan([change("aws_instance.web", {"instance_type": "t3.micro", "tags": None})]))


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("version: 1\npolicies:\n  - id: b\n    type: budget\n    monthly_limit: 5\n", 5, "policies[0].monthly_limit"),
        ("version: 1\npolicies:\n  - id: b\n    type: budget\n    monthly_limit_usd: lots\n", 5, "policies[0].monthly_limit_usd"),
        ("version: 1\nextends: [builtin:nope]\n", 2, "extends[0]"),
        ("version: 1\nsettings:\n  pricing: cheap\n", 3, "settings.pricing"),
    ],
)
def test_cli_check_with_a_bad_policy_file_exits_2_with_one_line(tmp_path, capsys, text, line, field):
    bad = tmp_path / "tollgate.yaml"
    bad.write_text(text)
    code = main(["check", _plan(tmp_path), "--config", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    match = ERROR_LINE.match(lines[0])
    assert match, lines[0]
    assert match["file"] == str(bad)
    assert int(match["line"]) == line
    assert match["field"] == field


def test_cli_check_with_bad_yaml_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "tollgate.yaml"
    bad.write_text("version: 1\npolicies: [\n")
    code = main(["check", _plan(tmp_path), "--config", str(bad)])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tollgate: error: {bad}:"), err
    assert "invalid YAML" in lines[0]


def test_cli_check_with_a_missing_policy_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    code = main(["check", _plan(tmp_path), "--config", str(missing)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().splitlines() == [f"tollgate: error: {missing}: policy file not found"]


def test_cli_check_with_a_valid_policy_file_runs(tmp_path, capsys):
    good = tmp_path / "tollgate.yaml"
    good.write_text("version: 1\npolicies:\n  - {id: r, type: region, allow: {aws: [us-east-1]}}\n")
    code = main(["check", _plan(tmp_path), "--config", str(good), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["findings"] == []


def test_cli_schema_prints_valid_json(capsys):
    assert main(["schema"]) == 0
    out, _ = capsys.readouterr()
    schema = json.loads(out)
    assert schema["title"] == "tollgate.yaml"
    assert "policies" in schema["properties"]


def test_cli_policies_lists_the_six_types(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if find_config(str(tmp_path)) is not None:
        pytest.skip("a tollgate.yaml above the temporary directory would be found")
    assert main(["policies"]) == 0
    out, _ = capsys.readouterr()
    listed = re.findall(r"^  (\w+)\s", out.split("Built-in packs")[0], re.MULTILINE)
    assert sorted(listed) == sorted(SIX_TYPES), out
    for name in builtin_packs():
        assert f"builtin:{name}" in out
    assert "builtin:default" in out


def test_cli_policies_with_a_config_shows_origins(tmp_path, capsys):
    good = tmp_path / "tollgate.yaml"
    good.write_text("version: 1\nextends: [builtin:gpu-guardrails]\npolicies:\n  - {id: r, type: region, allow: {aws: [us-east-1]}}\n")
    assert main(["policies", "--config", str(good)]) == 0
    out, _ = capsys.readouterr()
    assert re.search(r"gpu-models\s+instance_type\s+error\s+from builtin:gpu-guardrails", out), out
    assert re.search(rf"\br\s+region\s+error\s+from {re.escape(str(good))}", out), out


def test_cli_policies_with_a_bad_config_exits_2(tmp_path, capsys):
    bad = tmp_path / "tollgate.yaml"
    bad.write_text("version: 1\nbogus: true\n")
    assert main(["policies", "--config", str(bad)]) == 2
    _, err = capsys.readouterr()
    assert err.strip() == f"tollgate: error: {bad}:2: bogus: unknown key (not part of the tollgate.yaml schema; see `tollgate schema`)"


@pytest.mark.parametrize(
    ("value", "problem"),
    [("2020-13-45", "month must be in 1..12"), ("9" * 5000, "Exceeds the limit (4300 digits)")],
    ids=["a date with month 13", "an integer of 5000 digits"],
)
def test_a_value_yaml_cannot_build_is_a_config_error_not_a_crash(value: str, problem: str) -> None:
    text = f"version: 1\nexceptions:\n  - {{policy: p, resource: r, reason: x, expires: {value}}}\n"
    with pytest.raises(ConfigError) as raised:
        parse_policy_file("t.yaml", text)
    assert str(raised.value).startswith(f"t.yaml: invalid YAML: a value cannot be read: {problem}")

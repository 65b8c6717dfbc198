"""Waivers: inline `# tollgate:ignore <policy-id> <reason>` comments inside resource blocks of the
.tf files next to a plan (root module and local modules), central `exceptions:` in tollgate.yaml,
reasonless and expired waivers, and the exit codes they lead to."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from plan_builder import aws_plan, change, config, const, module_call, write
from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.config_loader import compose, parse_policy_file
from tollgate.integrations.cli import main

TODAY = dt.date(2026, 6, 1)

POLICIES = """
version: 1
policies:
  - id: gpu-types
    type: instance_type
    deny: ["p4d.*"]
  - id: cost-tags
    type: tags
    severity: warning
    required: [team]
"""

ROOT_TF = """\
resource "aws_instance" "trainer" {
  # tollgate:ignore gpu-types capacity reservation CR-42 until the H100 migration
  instance_type = "p4d.24xlarge"
  ami           = "ami-123"
  tags = {
    team = "ml"
  }
}

# tollgate:ignore gpu-types this comment sits outside every block and waives nothing
resource "aws_instance" "outside" {
  instance_type = "p4d.24xlarge"
  tags = {
    team = "ml"
  }
}

resource "aws_instance" "other_id" {
  instance_type = "p4d.24xlarge" # tollgate:ignore cost-tags tags come from the ASG
  tags = {
    team = "ml"
  }
}

resource "aws_instance" "no_reason" {
  // tollgate:ignore gpu-types
  instance_type = "p4d.24xlarge"
  tags = {
    team = "ml"
  }
}
"""

MODULE_TF = """\
variable "instance_type" {
  default = "p4d.24xlarge"
}

resource "aws_instance" "worker" {
  instance_type = var.instance_type
  tags = {
    team = "ml"
  }
  # tollgate:ignore gpu-types research cluster, approved by FinOps (FIN-7)
}

resource "aws_instance" "unwaived" {
  instance_type = var.instance_type
  tags = {
    team = "ml"
  }
}
"""

ADDRESSES = (
    "aws_instance.trainer",
    "aws_instance.outside",
    "aws_instance.other_id",
    "aws_instance.no_reason",
    "module.x.aws_instance.worker",
    "module.x.aws_instance.unwaived",
)


def _instance(address: str) -> dict[str, Any]:
    return change(address, {"instance_type": "p4d.24xlarge", "tags": {"team": "ml"}, "tags_all": {"team": "ml"}})


def layout(tmp_path: Path) -> str:
    """plan.json + main.tf next to it + modules/x/main.tf, referenced as ./modules/x."""
    (tmp_path / "main.tf").write_text(ROOT_TF, encoding="utf-8")
    (tmp_path / "modules" / "x").mkdir(parents=True)
    (tmp_path / "modules" / "x" / "main.tf").write_text(MODULE_TF, encoding="utf-8")
    root_resources = [config(a, {"instance_type": const("p4d.24xlarge")}) for a in ADDRESSES[:4]]
    module_resources = [config(a.split(".", 2)[2], {"instance_type": {"references": ["var.instance_type"]}}) for a in ADDRESSES[4:]]
    document = aws_plan(
        [_instance(a) for a in ADDRESSES],
        resources=root_resources,
        module_calls={"x": module_call("./modules/x", module_resources)},
    )
    return write(tmp_path, document)


def line_in(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def active(text: str = POLICIES, path: str = "tollgate.yaml"):
    return compose(parse_policy_file(path, textwrap.dedent(text)), path)


def findings(plan: str, catalog, text: str = POLICIES, today: dt.date = TODAY) -> list[Any]:
    report = run_check([plan], catalog, CheckOptions(config=active(text), today=today))
    return report.findings


def of(found: list[Any], policy_id: str, address: str) -> list[Any]:
    return [f for f in found if f.policy_id == policy_id and f.address == address]


def one(found: list[Any], policy_id: str, address: str) -> Any:
    matching = of(found, policy_id, address)
    assert len(matching) == 1, [(f.policy_id, f.address, f.waived) for f in found]
    return matching[0]


@pytest.fixture
def plan(tmp_path):
    return layout(tmp_path)


# --- inline waivers ---------------------------------------------------------------------------------


def test_inline_waiver_inside_the_block_waives_and_says_where(plan, tmp_path, catalog):
    found = findings(plan, catalog)
    waived = one(found, "gpu-types", "aws_instance.trainer")
    assert waived.waived is True
    assert waived.waiver["source"] == "inline"
    assert waived.waiver["policy"] == "gpu-types"
    assert waived.waiver["reason"] == "capacity reservation CR-42 until the H100 migration"
    assert waived.waiver["file"] == str(tmp_path / "main.tf")
    assert waived.waiver["line"] == line_in(tmp_path / "main.tf", "capacity reservation CR-42")
    # the finding itself still points at the resource block
    assert waived.file == str(tmp_path / "main.tf")
    assert waived.line == line_in(tmp_path / "main.tf", 'resource "aws_instance" "trainer"')


def test_comment_outside_the_block_does_not_waive(plan, catalog):
    found = findings(plan, catalog)
    outside = one(found, "gpu-types", "aws_instance.outside")
    assert outside.waived is False
    assert outside.waiver is None


def test_waiver_of_another_policy_does_not_waive(plan, catalog):
    found = findings(plan, catalog)
    assert one(found, "gpu-types", "aws_instance.other_id").waived is False


def test_inline_waiver_in_a_local_module(plan, tmp_path, catalog):
    found = findings(plan, catalog)
    module_file = tmp_path / "modules" / "x" / "main.tf"
    worker = one(found, "gpu-types", "module.x.aws_instance.worker")
    assert worker.waived is True
    assert worker.waiver["source"] == "inline"
    assert worker.waiver["file"] == str(module_file)
    assert worker.waiver["line"] == line_in(module_file, "research cluster")
    assert worker.waiver["reason"] == "research cluster, approved by FinOps (FIN-7)"
    assert one(found, "gpu-types", "module.x.aws_instance.unwaived").waived is False


def test_inline_waiver_without_a_reason_waives_and_is_reported(plan, tmp_path, catalog):
    found = findings(plan, catalog)
    waived = one(found, "gpu-types", "aws_instance.no_reason")
    assert waived.waived is True
    assert waived.waiver["reason"] is None
    missing = one(found, "waiver-reason-missing", "aws_instance.no_reason")
    assert missing.severity == "warning"
    assert missing.waived is False
    assert missing.file == str(tmp_path / "main.tf")
    assert missing.line == line_in(tmp_path / "main.tf", "// tollgate:ignore gpu-types")
    assert "gpu-types" in missing.message and "reason" in missing.message
    # waivers that give a reason are not reported
    assert not of(found, "waiver-reason-missing", "aws_instance.trainer")


def test_waived_findings_stay_in_the_report_and_do_not_block(plan, catalog):
    report = run_check([plan], catalog, CheckOptions(config=active(), today=TODAY))
    waived = {f.address for f in report.findings if f.waived}
    assert waived == {"aws_instance.trainer", "aws_instance.no_reason", "module.x.aws_instance.worker"}
    blocking = {f.address for f in report.blocking("error")}
    assert blocking == {"aws_instance.outside", "aws_instance.other_id", "module.x.aws_instance.unwaived"}


def test_no_tf_files_next_to_the_plan_means_no_inline_waivers(tmp_path, catalog):
    document = aws_plan([_instance("aws_instance.trainer")])
    plan = write(tmp_path, document)
    found = findings(plan, catalog)
    assert one(found, "gpu-types", "aws_instance.trainer").waived is False


def test_wildcard_inline_waiver_and_count_indexes(tmp_path, catalog):
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "fleet" {\n'
        "  count         = 2\n"
        '  instance_type = "p4d.24xlarge" # tollgate:ignore * benchmark fleet, deleted after the run\n'
        "}\n"
    )
    document = aws_plan([_instance("aws_instance.fleet[0]"), _instance("aws_instance.fleet[1]")])
    plan = write(tmp_path, document)
    found = findings(plan, catalog)
    for address in ("aws_instance.fleet[0]", "aws_instance.fleet[1]"):
        finding = one(found, "gpu-types", address)
        assert finding.waived is True
        assert finding.waiver["policy"] == "*"


# --- central exceptions -----------------------------------------------------------------------------

CENTRAL = POLICIES + """
exceptions:
  - {policy: gpu-types, resource: "aws_instance.out*", reason: "migration ticket OPS-123",
     owner: "alice@example.com", expires: 2026-12-31}
"""


def test_central_exception_with_an_address_glob_waives(plan, catalog):
    found = findings(plan, catalog, CENTRAL)
    outside = one(found, "gpu-types", "aws_instance.outside")
    assert outside.waived is True
    assert outside.waiver["source"] == "exceptions"
    assert outside.waiver["reason"] == "migration ticket OPS-123"
    assert outside.waiver["owner"] == "alice@example.com"
    assert outside.waiver["expires"] == "2026-12-31"
    # the glob does not reach other resources, nor other policies on the same resource
    assert one(found, "gpu-types", "aws_instance.other_id").waived is False
    assert not of(found, "waiver-expired", "aws_instance.outside")


def test_central_exception_glob_across_modules(plan, catalog):
    text = POLICIES + """
exceptions:
  - {policy: "gpu-*", resource: "module.x.*", reason: "research account", owner: bob}
"""
    found = findings(plan, catalog, text)
    assert one(found, "gpu-types", "module.x.aws_instance.unwaived").waived is True
    assert one(found, "gpu-types", "aws_instance.outside").waived is False


def test_expired_exception_stops_waiving_and_warns_naming_the_owner(plan, catalog):
    text = POLICIES + """
exceptions:
  - {policy: gpu-types, resource: "aws_instance.outside", reason: "migration ticket OPS-123",
     owner: "alice@example.com", expires: 2026-05-31}
"""
    found = findings(plan, catalog, text, today=TODAY)
    outside = one(found, "gpu-types", "aws_instance.outside")
    assert outside.waived is False
    expired = one(found, "waiver-expired", "aws_instance.outside")
    assert expired.severity == "warning"
    assert "alice@example.com" in expired.message
    assert "2026-05-31" in expired.message
    assert "gpu-types" in expired.message


def test_exception_expiring_today_still_waives(plan, catalog):
    text = POLICIES + """
exceptions:
  - {policy: gpu-types, resource: "aws_instance.outside", reason: r, owner: o, expires: 2026-06-01}
"""
    found = findings(plan, catalog, text, today=TODAY)
    assert one(found, "gpu-types", "aws_instance.outside").waived is True
    assert not of(found, "waiver-expired", "aws_instance.outside")


def test_central_exception_without_a_reason_is_reported(plan, catalog):
    text = POLICIES + """
exceptions:
  - {policy: gpu-types, resource: "aws_instance.outside", owner: carol}
"""
    found = findings(plan, catalog, text)
    assert one(found, "gpu-types", "aws_instance.outside").waived is True
    assert one(found, "waiver-reason-missing", "aws_instance.outside").severity == "warning"


# --- exit codes through the CLI ---------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", *argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def _config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tollgate.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


ONLY_TRAINER = """
version: 1
policies:
  - id: gpu-types
    type: instance_type
    deny: ["p4d.*"]
  - id: cost-tags
    type: tags
    severity: warning
    required: [cost-center]
"""


def _single_plan(tmp_path: Path, tf: str) -> str:
    (tmp_path / "main.tf").write_text(tf)
    return write(tmp_path, aws_plan([_instance("aws_instance.trainer")], resources=[config("aws_instance.trainer")]))


WAIVED_TF = 'resource "aws_instance" "trainer" {\n  # tollgate:ignore gpu-types capacity reservation CR-42\n  instance_type = "p4d.24xlarge"\n}\n'
UNWAIVED_TF = 'resource "aws_instance" "trainer" {\n  instance_type = "p4d.24xlarge"\n}\n'


def test_cli_exits_1_with_an_unwaived_error(tmp_path, capsys):
    plan = _single_plan(tmp_path, UNWAIVED_TF)
    code, report = _cli(capsys, plan, "--config", _config_file(tmp_path, ONLY_TRAINER))
    assert code == 1
    assert any(f["policy_id"] == "gpu-types" and not f["waived"] for f in report["findings"])


def test_cli_exits_0_when_every_error_is_waived(tmp_path, capsys):
    plan = _single_plan(tmp_path, WAIVED_TF)
    code, report = _cli(capsys, plan, "--config", _config_file(tmp_path, ONLY_TRAINER))
    assert code == 0
    gpu = [f for f in report["findings"] if f["policy_id"] == "gpu-types"]
    assert len(gpu) == 1 and gpu[0]["waived"] is True
    assert gpu[0]["waiver"]["source"] == "inline"
    assert gpu[0]["waiver"]["line"] == 2
    # the unwaived warning is still there; it does not block by default
    assert any(f["policy_id"] == "cost-tags" and f["severity"] == "warning" and not f["waived"] for f in report["findings"])


def test_cli_fail_on_warning_blocks_on_warnings(tmp_path, capsys):
    plan = _single_plan(tmp_path, WAIVED_TF)
    code, _ = _cli(capsys, plan, "--config", _config_file(tmp_path, ONLY_TRAINER), "--fail-on", "warning")
    assert code == 1


def test_cli_fail_on_warning_passes_when_warnings_are_waived(tmp_path, capsys):
    text = ONLY_TRAINER + """
exceptions:
  - {policy: cost-tags, resource: "aws_instance.*", reason: "tags applied by the account baseline", owner: ops, expires: 2999-12-31}
"""
    plan = _single_plan(tmp_path, WAIVED_TF)
    code, report = _cli(capsys, plan, "--config", _config_file(tmp_path, text), "--fail-on", "warning")
    assert code == 0, report["findings"]


def test_cli_fail_on_never_passes_with_errors(tmp_path, capsys):
    plan = _single_plan(tmp_path, UNWAIVED_TF)
    code, _ = _cli(capsys, plan, "--config", _config_file(tmp_path, ONLY_TRAINER), "--fail-on", "never")
    assert code == 0


def test_cli_expired_exception_blocks_again(tmp_path, capsys):
    text = ONLY_TRAINER + """
exceptions:
  - {policy: gpu-types, resource: "aws_instance.trainer", reason: "migration", owner: "alice@example.com", expires: 2020-01-01}
"""
    plan = _single_plan(tmp_path, UNWAIVED_TF)
    code, report = _cli(capsys, plan, "--config", _config_file(tmp_path, text))
    assert code == 1
    expired = [f for f in report["findings"] if f["policy_id"] == "waiver-expired"]
    assert len(expired) == 1 and "alice@example.com" in expired[0]["message"]


def test_cli_reasonless_waiver_warning_blocks_with_fail_on_warning(tmp_path, capsys):
    tf = 'resource "aws_instance" "trainer" {\n  # tollgate:ignore gpu-types\n  instance_type = "p4d.24xlarge"\n}\n'
    text = """
version: 1
policies:
  - {id: gpu-types, type: instance_type, deny: ["p4d.*"]}
"""
    plan = _single_plan(tmp_path, tf)
    config_file = _config_file(tmp_path, text)
    code, report = _cli(capsys, plan, "--config", config_file)
    assert code == 0
    assert [f["policy_id"] for f in report["findings"] if not f["waived"]] == ["waiver-reason-missing"]
    code, _ = _cli(capsys, plan, "--config", config_file, "--fail-on", "warning")
    assert code == 1


def test_bare_ignore_comment_does_not_take_the_next_line_as_its_policy_id() -> None:
    from tollgate.engine.terraform.source_map import _IGNORE_RE

    text = 'resource "aws_instance" "x" {\n  # tollgate:ignore\n  instance_type = "p4d.24xlarge"\n}\n'
    assert _IGNORE_RE.search(text) is None


def test_reasonless_waiver_is_reported_even_when_it_waives_nothing(tmp_path: Path) -> None:
    from tollgate.engine.model import Action, ComputeRequest, Provider, PurchaseOption, Quantity, SourceLocation, Waiver
    from tollgate.engine.pricing import price_requests
    from tollgate.engine.rules.evaluate import evaluate_policies
    from tollgate.providers.bundled import BundledCatalog

    request = ComputeRequest(
        address="aws_instance.quiet",
        kind="aws_instance",
        source=SourceLocation("main.tf", 3),
        provider=Provider.AWS,
        region="us-east-1",
        instance_type="m6i.large",
        quantity=Quantity.fixed(1),
        purchase_option=PurchaseOption.ON_DEMAND,
        action=Action.CREATE,
        tags={"team": "ml"},
        waivers=(Waiver(policy_id="gpu-types", reason=None, source="inline", file="main.tf", line=4),),
    )
    catalog = BundledCatalog()
    config = compose(parse_policy_file("tollgate.yaml", POLICIES), "tollgate.yaml")
    findings = evaluate_policies(config, price_requests([request], catalog), catalog, 730, TODAY)
    reasonless = [f for f in findings if f.policy_id == "waiver-reason-missing"]
    assert [(f.address, f.line, f.severity) for f in reasonless] == [("aws_instance.quiet", 4, "warning")]
    assert not [f for f in findings if f.policy_id == "gpu-types"]  # m6i is not denied: nothing was waived

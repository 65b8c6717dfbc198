"""`tollgate check` on bad inputs: exit 2, ONE line on stderr naming the file and the problem, and
never a traceback. Valid plans exit 0 and `--format json` is the versioned report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from plan_builder import aws_plan, change, write
from tollgate.integrations.cli import main


def valid_plan(tmp_path):
    return write(tmp_path, aws_plan([change("aws_instance.web", {"instance_type": "t3.micro", "tags": None}, after_unknown={})]))


def run(capsys, *argv):
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, path: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("tollgate: error: ")
    assert path in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def test_not_json_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text("this is not json\n")
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert_one_line_error(err, str(path), "not a Terraform plan")


def test_truncated_json_plan_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": "1.2", "resource_changes": [')
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert_one_line_error(err, str(path), "not valid JSON")


def test_json_but_not_a_plan_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, {"name": "package", "version": "1.0.0"}, "package.json")
    code, _, err = run(capsys, path)
    assert code == 2
    assert_one_line_error(err, path, "JSON but not a Terraform plan")


def test_state_file_exits_2_with_one_line(tmp_path, capsys):
    state = {"format_version": "1.0", "terraform_version": "1.11.4", "values": {"root_module": {"resources": []}}}
    path = write(tmp_path, state, "state.json")
    code, _, err = run(capsys, path)
    assert code == 2
    assert_one_line_error(err, path, "Terraform state", "not a plan")


def test_raw_tfstate_file_exits_2_with_one_line(tmp_path, capsys):
    raw_state = {"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "x", "outputs": {}, "resources": []}
    path = write(tmp_path, raw_state, "terraform.tfstate")
    code, _, err = run(capsys, path)
    assert code == 2
    assert_one_line_error(err, path, "is a Terraform state file, not a plan")


def test_missing_path_exits_2_with_one_line(tmp_path, capsys):
    path = str(tmp_path / "does-not-exist.json")
    code, _, err = run(capsys, path)
    assert code == 2
    assert_one_line_error(err, path, "no such file")


def test_unreadable_file_exits_2_with_one_line(tmp_path, capsys):
    path = valid_plan(tmp_path)
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: a chmod 000 file is still readable")
        code, _, err = run(capsys, path)
    finally:
        os.chmod(path, 0o644)
    assert code == 2
    assert_one_line_error(err, path, "cannot be read")


def test_permission_denied_exits_2_with_one_line_even_as_root(tmp_path, capsys, monkeypatch):
    # The chmod test above skips as root; this one makes open() itself refuse the file.
    import builtins

    path = valid_plan(tmp_path)
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if os.fspath(file) == path if isinstance(file, (str, os.PathLike)) else False:
            raise PermissionError(13, "Permission denied", path)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    code, _, err = run(capsys, path)
    monkeypatch.undo()
    assert code == 2
    assert_one_line_error(err, path, "cannot be read", "Permission denied")


def test_too_large_file_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    path = valid_plan(tmp_path)
    monkeypatch.setenv("TOLLGATE_MAX_INPUT_BYTES", "64")
    code, _, err = run(capsys, path)
    assert code == 2
    assert_one_line_error(err, path, "too large", "TOLLGATE_MAX_INPUT_BYTES")


def test_binary_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_bytes(bytes(range(256)) * 8)
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert_one_line_error(err, str(path), "not a Terraform plan")


def test_binary_terraform_plan_file_says_how_to_convert_it(tmp_path, capsys):
    path = tmp_path / "plan.json"  # a zip, as `terraform plan -out` writes, under the wrong name
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert_one_line_error(err, str(path), "terraform show -json")


def test_empty_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_bytes(b"")
    code, _, err = run(capsys, str(path))
    assert code == 2
    assert_one_line_error(err, str(path), "empty")


def test_output_into_a_missing_directory_exits_2_with_one_line(tmp_path, capsys):
    target = str(tmp_path / "no" / "such" / "dir" / "report.json")
    code, _, err = run(capsys, valid_plan(tmp_path), "--format", "json", "--output", target)
    assert code == 2
    assert_one_line_error(err, target)


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["check", "--no-such-option"])
    assert raised.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_valid_plan_exits_0(tmp_path, capsys):
    code, out, err = run(capsys, valid_plan(tmp_path))
    assert code == 0
    assert err == ""
    assert "aws_instance.web" in out


def test_json_format_parses_and_has_schema_version_1(tmp_path, capsys):
    path = valid_plan(tmp_path)
    code, out, _ = run(capsys, path, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["schema_version"] == 1
    assert report["pricing"]["mode"] == "bundled"
    [resource] = report["resources"]
    assert resource["address"] == "aws_instance.web"
    assert resource["instance_type"] == "t3.micro"
    assert resource["hourly_usd"] > 0
    assert report["totals"]["monthly_usd"] == pytest.approx(resource["monthly_usd"])


def test_json_output_file_matches_stdout(tmp_path, capsys):
    path = valid_plan(tmp_path)
    target = tmp_path / "report.json"
    code, out, _ = run(capsys, path, "--format", "json", "--output", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["schema_version"] == 1


def test_executable_end_to_end_has_no_traceback(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text("{ not json")
    executable = shutil.which("tollgate")
    command = [executable] if executable else [sys.executable, "-m", "tollgate.integrations.cli"]
    env = {k: v for k, v in os.environ.items() if k != "TOLLGATE_DEBUG"}
    failed = subprocess.run([*command, "check", str(bad)], capture_output=True, text=True, timeout=60, env=env)
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert str(bad) in failed.stderr

    good = subprocess.run([*command, "check", valid_plan(tmp_path), "--format", "json"], capture_output=True, text=True, timeout=60, env=env)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["schema_version"] == 1

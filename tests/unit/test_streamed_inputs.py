"""Inputs that are streams, not files: `tollgate check -` (standard input), a named pipe or
`<(terraform show -json plan.out)`, and `kubectl get -o json` output. A pipe can be read once, so
Tollgate must classify and read it from that one read; a pipe found in a directory walk is
skipped, never waited on."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tollgate.integrations.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "missing-tags-expired-waiver"  # a plan.json next to its main.tf
MANIFEST = REPO / "examples" / "eks-gpu-node-group" / "k8s" / "model-server.yaml"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["check", *argv, "--format", "json", "--region-default", "us-east-1"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def located(report: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return sorted((f["policy_id"], f["address"], f["file"], f["line"]) for f in report["findings"])


def priced(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return sorted((r["address"], r["instance_type"], r["monthly_usd"]) for r in report["resources"])


@pytest.fixture
def in_example(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(EXAMPLE)  # where `terraform show` runs: the plan's configuration is here
    return EXAMPLE


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


def write_into(pipe: Path, data: bytes) -> threading.Thread:
    """The other end of `<(...)`: a writer that blocks until the pipe is opened for reading."""

    def write() -> None:
        with open(pipe, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


# --- standard input -----------------------------------------------------------------------------


def test_a_plan_on_standard_input_is_priced_and_located_like_the_file(in_example: Path, capsys, monkeypatch) -> None:
    code_file, from_file, _ = check(capsys, "plan.json")
    feed_stdin(monkeypatch, (in_example / "plan.json").read_bytes())
    code_stdin, from_stdin, err = check(capsys, "-")

    assert from_file is not None and from_stdin is not None, err
    assert from_stdin["inputs"] == ["-"]
    assert code_stdin == code_file == 1  # the example's missing tag blocks either way
    assert priced(from_stdin) == priced(from_file)
    # file:line and the waiver in main.tf come from the working directory's configuration
    assert located(from_stdin) == located(from_file)
    assert ("cost-allocation-tags", "aws_instance.legacy_scheduler", "./main.tf", 35) in located(from_stdin)


def test_a_gzipped_plan_on_standard_input_is_read(in_example: Path, capsys, monkeypatch) -> None:
    feed_stdin(monkeypatch, gzip.compress((in_example / "plan.json").read_bytes()))
    code, report, err = check(capsys, "-")
    assert report is not None, err
    assert code == 1 and len(report["resources"]) == 5


def test_a_manifest_on_standard_input_is_recognised_by_its_content(capsys, monkeypatch) -> None:
    code_file, from_file, _ = check(capsys, str(MANIFEST))
    feed_stdin(monkeypatch, MANIFEST.read_bytes())
    code, from_stdin, err = check(capsys, "-")

    assert from_file is not None and from_stdin is not None, err
    assert code == code_file
    assert priced(from_stdin) == priced(from_file) and len(from_stdin["resources"]) == 1
    assert {r["file"] for r in from_stdin["resources"]} == {"-"}
    assert [r["line"] for r in from_stdin["resources"]] == [r["line"] for r in from_file["resources"]]


def test_standard_input_that_is_no_input_exits_2_naming_it(capsys, monkeypatch) -> None:
    feed_stdin(monkeypatch, b"hello, world\n")
    code = main(["check", "-"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == ["tollgate: error: -: is not a Terraform plan, .tf file or Kubernetes manifest"]


def test_standard_input_over_the_input_limit_exits_2(in_example: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TOLLGATE_MAX_INPUT_BYTES", "1000")
    feed_stdin(monkeypatch, (in_example / "plan.json").read_bytes())
    code = main(["check", "-"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines() == ["tollgate: error: -: is more than 1,000 bytes; set TOLLGATE_MAX_INPUT_BYTES to raise the limit"]


def test_the_installed_command_reads_a_real_pipe(in_example: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tollgate.integrations.cli", "check", "-", "--format", "text"],
        input=(in_example / "plan.json").read_bytes(),
        capture_output=True,
        cwd=in_example,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert b"./main.tf:35: error cost-allocation-tags: aws_instance.legacy_scheduler" in result.stdout
    assert b"Traceback" not in result.stderr


# --- named pipes: <(terraform show -json plan.out) ------------------------------------------------


def test_a_plan_through_a_named_pipe_is_read_once(fifo: Path) -> None:
    # Before: the pipe was read once to sniff what it is, then opened again to parse it, which
    # waits for a writer that has already gone (a subprocess, so that a regression fails, not hangs).
    writer = write_into(fifo, (EXAMPLE / "plan.json").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "tollgate.integrations.cli", "check", str(fifo), "--format", "json", "--config", str(EXAMPLE / "tollgate.yaml")],
        capture_output=True,
        timeout=120,
    )
    writer.join(timeout=30)

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == [str(fifo)]
    assert len(report["resources"]) == 5


def test_a_named_pipe_in_a_directory_is_skipped_not_waited_on(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system")
    os.mkfifo(tmp_path / "nobody-writes-here.yaml")
    (tmp_path / "server.yaml").write_bytes(MANIFEST.read_bytes())
    # Before: the walk opened the pipe to sniff it and waited for a writer forever.
    result = subprocess.run(
        [sys.executable, "-m", "tollgate.integrations.cli", "check", str(tmp_path), "--format", "json", "--fail-on", "never"],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inputs"] == [str(tmp_path / "server.yaml")]


# --- kubectl get -o json ----------------------------------------------------------------------


def deployment() -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    (only,) = documents
    assert only["kind"] == "Deployment"
    return dict(only)


@pytest.mark.parametrize("name", ["deployment.json", "deployment.yaml", "deployment"])
def test_kubectl_json_output_is_a_manifest_whatever_its_name(tmp_path: Path, capsys, name: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(deployment(), indent=4))  # `kubectl get deploy x -o json`
    _, from_yaml, _ = check(capsys, str(MANIFEST))
    code, report, err = check(capsys, str(path))

    assert report is not None and from_yaml is not None, err
    assert priced(report) == priced(from_yaml) and len(report["resources"]) == 1
    assert report["resources"][0]["file"] == str(path)


def test_a_kubectl_json_list_in_a_directory_is_read(tmp_path: Path, capsys) -> None:
    listing = {"apiVersion": "v1", "items": [deployment(), deployment() | {"metadata": {"name": "second", "namespace": "x"}}], "kind": "List"}
    (tmp_path / "all.json").write_text(json.dumps(listing))
    code, report, err = check(capsys, str(tmp_path))
    assert report is not None, err
    assert sorted(r["address"] for r in report["resources"]) == ["Deployment/inference/model-server", "Deployment/x/second"]


def test_json_that_merely_mentions_kind_is_not_taken_for_a_manifest(tmp_path: Path, capsys) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"editor": {"kind": "dark", "apiVersion": 2}}))
    (tmp_path / "server.yaml").write_bytes(MANIFEST.read_bytes())
    code, report, err = check(capsys, str(tmp_path))
    assert report is not None, err
    assert report["inputs"] == [str(tmp_path / "server.yaml")]

"""How plan files are read: encodings, gzip, old formats, and the inputs that are not plans."""

from __future__ import annotations

import codecs
import gzip
import json

import pytest

from plan_builder import aws_plan, change, write
from tollgate.engine.errors import InputError
from tollgate.engine.terraform.plan_reader import read_plan_requests


def one_instance_plan():
    return aws_plan([change("aws_instance.web", {"instance_type": "t3.micro", "tags": None}, after_unknown={})], region="eu-west-1")


def assert_reads_one_instance(path):
    [request] = read_plan_requests(str(path))
    assert (request.address, request.instance_type, request.region) == ("aws_instance.web", "t3.micro", "eu-west-1")


def test_utf16_plan_with_bom_is_read(tmp_path):
    # PowerShell's `terraform show -json plan.out > plan.json` writes UTF-16 LE with a BOM.
    path = tmp_path / "plan.json"
    path.write_bytes(json.dumps(one_instance_plan(), indent=2).encode("utf-16"))
    assert path.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    assert_reads_one_instance(path)


def test_utf16_le_plan_without_bom_is_read(tmp_path):
    path = tmp_path / "plan.json"
    path.write_bytes(json.dumps(one_instance_plan()).encode("utf-16-le"))
    assert_reads_one_instance(path)


def test_utf8_plan_with_bom_is_read(tmp_path):
    path = tmp_path / "plan.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(one_instance_plan()).encode("utf-8"))
    assert_reads_one_instance(path)


def test_gzipped_plan_is_read(tmp_path):
    path = tmp_path / "plan.json.gz"
    path.write_bytes(gzip.compress(json.dumps(one_instance_plan()).encode("utf-8")))
    assert_reads_one_instance(path)


def test_plan_with_only_planned_values_is_read_as_creates(tmp_path):
    document = {
        "format_version": "0.1",
        "terraform_version": "0.12.3",
        "planned_values": {
            "root_module": {
                "resources": [{"address": "aws_instance.a", "mode": "managed", "type": "aws_instance", "name": "a", "values": {"instance_type": "t3.micro", "tags": {"team": "x"}}}],
                "child_modules": [
                    {
                        "address": "module.m",
                        "resources": [{"address": "module.m.aws_instance.b[0]", "mode": "managed", "type": "aws_instance", "name": "b", "index": 0, "values": {"instance_type": "t3.small"}}],
                    }
                ],
            }
        },
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}}, "root_module": {}},
    }
    requests = {r.address: r for r in read_plan_requests(write(tmp_path, document))}
    assert set(requests) == {"aws_instance.a", "module.m.aws_instance.b[0]"}
    assert requests["module.m.aws_instance.b[0]"].instance_type == "t3.small"
    assert all(r.action.value == "create" for r in requests.values())
    assert all(any("planned_values" in n for n in r.notes) for r in requests.values())
    assert requests["aws_instance.a"].region == "us-east-1"


def test_plan_without_compute_gives_no_requests(tmp_path):
    document = aws_plan([change("aws_s3_bucket.b", {"bucket": "b"}, after_unknown={"id": True})])
    assert read_plan_requests(write(tmp_path, document)) == []


def test_state_file_is_rejected_with_clear_error(tmp_path):
    state = {"format_version": "1.0", "terraform_version": "1.11.4", "values": {"root_module": {"resources": []}}}
    path = write(tmp_path, state, "state.json")
    with pytest.raises(InputError) as raised:
        read_plan_requests(path)
    message = str(raised.value)
    assert message.startswith(path)
    assert "state" in message and "not a plan" in message
    assert "\n" not in message


def test_not_json_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("resource \"aws_instance\" \"x\" {}\n")
    with pytest.raises(InputError) as raised:
        read_plan_requests(str(path))
    assert raised.value.path == str(path)
    assert str(raised.value).startswith(str(path))
    assert "not valid JSON" in str(raised.value)


def test_json_that_is_not_a_plan_is_rejected(tmp_path):
    path = write(tmp_path, {"hello": "world"}, "other.json")
    with pytest.raises(InputError) as raised:
        read_plan_requests(path)
    assert "not a Terraform plan" in str(raised.value)


def test_truncated_plan_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(one_instance_plan())[:-40])
    with pytest.raises(InputError) as raised:
        read_plan_requests(str(path))
    assert str(raised.value).startswith(str(path))


def test_wrong_shape_is_rejected_as_not_a_plan(tmp_path):
    path = write(tmp_path, {"format_version": "1.2", "resource_changes": {"not": "a list"}})
    with pytest.raises(InputError) as raised:
        read_plan_requests(path)
    assert "not a Terraform plan" in str(raised.value)


def test_too_large_file_is_rejected(tmp_path, monkeypatch):
    path = write(tmp_path, one_instance_plan())
    monkeypatch.setenv("TOLLGATE_MAX_INPUT_BYTES", "100")
    with pytest.raises(InputError) as raised:
        read_plan_requests(path)
    assert "too large" in str(raised.value) and "TOLLGATE_MAX_INPUT_BYTES" in str(raised.value)


def test_gzip_that_decompresses_past_the_limit_is_rejected(tmp_path, monkeypatch):
    payload = json.dumps(one_instance_plan()).encode() + b" " * 200_000
    path = tmp_path / "plan.json.gz"
    path.write_bytes(gzip.compress(payload))
    monkeypatch.setenv("TOLLGATE_MAX_INPUT_BYTES", "50000")
    assert path.stat().st_size < 50_000
    with pytest.raises(InputError) as raised:
        read_plan_requests(str(path))
    assert "decompresses to more than" in str(raised.value)


def test_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "plan.json.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError) as raised:
        read_plan_requests(str(path))
    assert "gzip" in str(raised.value)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(InputError) as raised:
        read_plan_requests(str(tmp_path / "nope.json"))
    assert "no such file" in str(raised.value)


@pytest.mark.parametrize("where", ["resource_value", "planned_values", "configuration"])
def test_a_plan_value_nested_thousands_deep_is_an_input_error(tmp_path, where):
    deep = "[" * 50000 + "]" * 50000
    plan = aws_plan([change("aws_instance.web", {"instance_type": "m5.large", "tags": "DEEP"}, after_unknown={})])
    if where == "planned_values":
        plan["planned_values"] = "DEEP"
    if where == "configuration":
        plan["configuration"]["root_module"] = "DEEP"
    text = json.dumps(plan)
    text = text.replace('"DEEP"', deep, 1) if where != "resource_value" else text.replace('"tags": "DEEP"', f'"tags": {deep}', 1)
    path = tmp_path / "plan.json"
    path.write_text(text)
    # msgspec decodes values lazily; the depth fails wherever they are first read
    with pytest.raises(InputError) as caught:
        read_plan_requests(str(path))
    assert str(caught.value) == f"{path}: is not a plan Tollgate can read: a value nests too deeply"

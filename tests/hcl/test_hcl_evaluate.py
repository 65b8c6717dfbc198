"""The expression evaluator (engine/hcl/evaluate.py) on python-hcl2 8.x output: literals and
templates, operators, conditionals, for expressions, splats, functions, type constraints, and
Unknown propagating (never guessed)."""

from __future__ import annotations

from typing import Any

import pytest

from tollgate.engine.hcl.evaluate import (
    EvalError,
    Namespace,
    Scope,
    Unknown,
    compile_value,
    convert_type,
    evaluate,
    evaluate_safely,
    references,
)

VARIABLES: dict[str, Any] = {
    "x": 3,
    "m": {"a": 1, "b": 2},
    "l": [{"name": "n0"}, {"name": "n1"}],
    "types": {"gpu": "g5.xlarge"},
    "u": Unknown("var.u has no value"),
    "partial": {"known": "yes", "unknown": Unknown("data.x.y")},
}


def _resolve(name: str) -> Any:
    if name == "var":
        return Namespace("var", lambda n: VARIABLES[n] if n in VARIABLES else _fail(f"no var {n}"))
    if name == "local":
        return Namespace("local", lambda n: {"tags": {"team": "ml"}}[n])
    raise EvalError(f"unknown name {name}")


def _fail(message: str) -> Any:
    raise EvalError(message)


SCOPE = Scope(_resolve)


def ev(text: Any) -> Any:
    """Evaluate a value exactly as python-hcl2 8.x serializes it."""
    return evaluate(compile_value(text), SCOPE)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"t3.large"', "t3.large"),  # a literal string keeps its quotes in python-hcl2 8
        ("${var.x * 2}", 6),
        ('"pre-${var.x}-post"', "pre-3-post"),
        ('"${var.x}"', 3),  # a lone interpolation is the value itself, not its string
        ('"a\\nb\\"c\\u00e9"', 'a\nb"c\u00e9'),
        ('"$${literal}"', "${literal}"),
        ('"x%{ if var.x > 2 }big%{ else }small%{ endif }"', "xbig"),
        ('"%{ for k, v in var.m }${k}=${v};%{ endfor }"', "a=1;b=2;"),
        ("${var.x > 1 ? \"m5.large\" : \"t3.micro\"}", "m5.large"),
        ("${var.x == 3 && !false || var.x < 0}", True),
        ("${(1 + 2) * 3 - 10 / 4}", 6.5),
        ("${10 % 3}", 1),
        ("${-var.x}", -3),
        ("${1e3}", 1000),
        ('${var.m["a"]}', 1),
        ("${var.l[1].name}", "n1"),
        ("${var.l.0.name}", "n0"),
        ("${var.l[*].name}", ["n0", "n1"]),
        ("${var.l.*.name}", ["n0", "n1"]),
        ("${{for k, v in var.m : k => v if v > 1}}", {"b": 2}),
        ('${[for k, v in var.m : "${k}=${v}"]}', ["a=1", "b=2"]),
        ("${{for k, v in var.m : v => k...}}", {"1": ["a"], "2": ["b"]}),
        ('${{"quoted" : 1, bare = 2}}', {"quoted": 1, "bare": 2}),
        ("${merge(local.tags, {Name = \"x\", count = 2})}", {"team": "ml", "Name": "x", "count": 2}),
        ('${lookup(var.types, "gpu", "t3.micro")}', "g5.xlarge"),
        ('${lookup(var.types, "cpu", "t3.micro")}', "t3.micro"),
        ('${format("%s-%03d", "node", 7)}', "node-007"),
        ("${floor(var.x / 2)}", 1),
        ("${ceil(var.x / 2)}", 2),
        ("${max(1, var.x, 2)}", 3),
        ("${min([4, 2]...)}", 2),
        ('${try(var.missing, "fallback")}', "fallback"),
        ("${can(var.missing)}", False),
        ('${coalesce(null, "", "z")}', "z"),
        ('${element(["a", "b"], 3)}', "b"),
        ("${length(var.l)}", 2),
        ('${concat(["a"], ["b", "c"])}', ["a", "b", "c"]),
        ('${toset(["b", "a", "b"])}', ["a", "b"]),
        # sets compare by value: scalars hashed (1 and 1.0 are one number, "1" and true are not), lists/objects deeply
        ('${distinct([1, 1.0, "1", true, null, null, [1], [1], {a = 1}, {a = 1}, {a = 2}])}', [1, "1", True, None, [1], {"a": 1}, {"a": 2}]),
        ("${setsubtract([3, 1, 2, 2], [2.0])}", [1, 3]),
        ('${setintersection(["a", "b", "c"], ["c", "a"], ["a", "c", "d"])}', ["a", "c"]),
        ("${length(toset(range(100000)))}", 100000),
        ('${upper(lower("MiXeD"))}', "MIXED"),
        ('${jsonencode({a = [1, 2]})}', '{"a":[1,2]}'),
        ('${split(",", "us-central1-a,us-central1-b")}', ["us-central1-a", "us-central1-b"]),
        ('${replace("a_b_c", "_", "-")}', "a-b-c"),
        ("${keys(var.m)}", ["a", "b"]),
        ("${flatten([[1], [2, [3]]])}", [1, 2, 3]),
        ("${range(3)}", [0, 1, 2]),
        ('${zipmap(["a", "b"], [1, 2])}', {"a": 1, "b": 2}),
        ("${false && var.u}", False),  # decided without the unknown side
        ("${true || var.u}", True),
        (["${var.x}", '"lit"', 1, True, None], [3, "lit", 1, True, None]),
        ({'"k-${var.x}"': 1, "Name": '"n"', "${var.types.gpu}": 2}, {"k-3": 1, "Name": "n", "g5.xlarge": 2}),
    ],
)
def test_expressions_evaluate_like_terraform(text: Any, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "${var.u}",
        "${var.u * 2}",
        '"type-${var.u}"',
        "${var.u == 1 ? \"a\" : \"b\"}",
        "${upper(var.u)}",
        "${var.partial.unknown}",
        '${try(var.u, "fallback")}',  # Terraform's try(): an argument that depends on unknowns makes it unknown
        "${timestamp()}",
        "${data_source_like()}",
        "${[for k in var.u : k]}",
        "${var.partial == {}}",
        "${provider::aws::arn_parse(\"x\")}",
    ],
)
def test_unknown_propagates_and_is_never_guessed(text: str) -> None:
    assert isinstance(ev(text), Unknown)


def test_unknown_carries_its_cause() -> None:
    value = ev('"p-${var.u}"')
    assert isinstance(value, Unknown)
    assert value.causes == ("var.u has no value",)


def test_partially_known_values_keep_their_known_parts() -> None:
    assert ev("${length([var.u, 1])}") == 2
    merged = ev("${merge(var.partial, {extra = 1})}")
    assert merged["known"] == "yes" and merged["extra"] == 1 and isinstance(merged["unknown"], Unknown)


@pytest.mark.parametrize("text", ["${var.m.missing}", "${var.l[5]}", '${1 + "x"}', "${lookup(var.m, \"zz\")}"])
def test_invalid_expressions_raise_eval_error_and_are_unknown_when_evaluated_safely(text: str) -> None:
    with pytest.raises(EvalError):
        ev(text)
    assert isinstance(evaluate_safely(compile_value(text), SCOPE), Unknown)


def test_text_that_does_not_parse_is_unknown_not_an_exception() -> None:
    value = evaluate_safely(compile_value("${var.x +* }"), SCOPE)
    assert isinstance(value, Unknown)
    assert "cannot read expression" in value.causes[0]


def test_references_are_written_as_in_a_plan_configuration() -> None:
    node = compile_value(
        "${merge(aws_launch_template.this[0].id, var.x, module.m.out, data.aws_ami.a.id, [for k in var.z : k.id])}"
    )
    assert references(node) == [
        "aws_launch_template.this[0].id",
        "aws_launch_template.this[0]",
        "aws_launch_template.this",
        "var.x",
        "module.m.out",
        "module.m",
        "data.aws_ami.a.id",
        "data.aws_ami.a",
        "var.z",
    ]


def test_type_constraints_fill_optional_defaults_and_convert() -> None:
    type_node = compile_value(
        '${list(object({name = string, machine_type = optional(string, "a3-highgpu-8g"), nodes = optional(number)}))}'
    )
    value = convert_type([{"name": "a", "nodes": "3", "extra": True}], type_node)
    assert value == [{"name": "a", "machine_type": "a3-highgpu-8g", "nodes": 3}]  # extra attributes are dropped
    assert convert_type("2", compile_value("number")) == 2
    assert convert_type(4, compile_value("string")) == "4"
    assert convert_type({"a": 1, "b": True}, compile_value("${map(string)}")) == {"a": "1", "b": "true"}
    unknown = Unknown("x")
    assert convert_type(unknown, compile_value("number")) is unknown

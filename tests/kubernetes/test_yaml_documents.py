"""The manifest loader builds exactly what PyYAML's safe loader builds (it only takes a faster path
for plain strings, integers, booleans, nulls, maps and sequences), and keeps its line marks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tollgate.engine.errors import InputError
from tollgate.engine.kubernetes.documents import load

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "k8s"
CORPUS_FILES = sorted(CORPUS.rglob("*.yaml")) + sorted(CORPUS.rglob("*.yml")) if CORPUS.is_dir() else []
OWN_FILES = sorted((REPO / "examples").rglob("*.yaml")) + sorted((REPO / "tests").rglob("*.yaml"))


def documents(text: str) -> list[Any]:
    return [d.obj for d in load(text, "x.yaml")]


def reference(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=yaml.SafeLoader) if d is not None]


def _flatten_lists(objs: list[Any]) -> list[Any]:
    """`load` yields the items of a `List` kind one by one; the reference yields the List."""
    flat: list[Any] = []
    for obj in objs:
        if isinstance(obj, dict) and str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
            flat.extend(_flatten_lists(obj["items"]))
        else:
            flat.append(obj)
    return flat


TRICKY = {
    "yaml 1.1 scalars": "a: 0755\nb: 0x1F\nc: 1_000\nd: 1:30\ne: 0\nf: 42\ng: -7\nh: +3\n",
    "floats": "a: 1.5\nb: .inf\nc: -.Inf\nd: .nan\ne: 1e3\nf: 6.02e+23\n",
    "booleans and nulls": "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: ~\ng: null\nh:\ni: 'yes'\n",
    "timestamps and binary": "a: 2026-11-22\nb: 2026-11-22T10:00:00Z\nc: !!binary aGVsbG8=\n",
    "quoted look-alikes": "a: '1'\nb: \"true\"\nc: '~'\nd: '0755'\n",
    "anchors and merges": "base: &b {cpu: '1', memory: 1Gi}\nx:\n  <<: *b\n  cpu: '2'\ny: *b\nz: [*b, *b]\n",
    "explicit tags": "a: !!str 12\nb: !!int '12'\nc: !!float '1'\nd: !!set {x, y}\ne: !!omap [{k: v}]\n",
    "non-string keys": "1: one\ntrue: yes\n~: nothing\n2.5: float\n",
    "a bare equals sign as a key": "=: value\n",
    "nested and empty": "a: {}\nb: []\nc: [[], [{}], {d: [1, {e: f}]}]\n",
    "multi-document": "---\nkind: A\n---\n---\nkind: B\nx: 1\n...\n---\n- 1\n- 2\n",
}


@pytest.mark.parametrize("text", list(TRICKY.values()), ids=list(TRICKY))
def test_the_fast_builder_matches_pyyaml_on_tricky_scalars(text: str) -> None:
    assert documents(text) == reference(text)


def test_aliases_are_one_shared_object_as_in_pyyaml() -> None:
    (obj,) = documents("base: &b {cpu: '1'}\ny: *b\n")
    assert obj["y"] is obj["base"]


def test_recursive_aliases_build_without_looping() -> None:
    (obj,) = documents("a: &a [1, *a]\n")
    assert obj["a"][1] is obj["a"]


def test_an_unhashable_key_is_one_input_error() -> None:
    with pytest.raises(InputError, match="x.yaml: invalid YAML"):
        documents("? [a, b]\n: value\n")


def test_a_custom_tag_is_one_input_error_naming_the_line() -> None:
    with pytest.raises(InputError, match="line 2"):
        documents("a: 1\nb: !Ref thing\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kind: Pod\ncreated: 2020-13-45\n", "x.yaml: invalid YAML at line 2: cannot read the value '2020-13-45': month must be in 1..12"),
        ("kind: Pod\nn: " + "9" * 5000 + "\n", "x.yaml: invalid YAML at line 2: cannot read the value '" + "9" * 40 + "'…: Exceeds the limit (4300 digits)"),
    ],
    ids=["a date with month 13", "an integer of 5000 digits"],
)
def test_a_value_pyyaml_resolves_but_cannot_build_is_one_input_error_naming_the_line(text: str, problem: str) -> None:
    with pytest.raises(InputError) as raised:
        documents(text)
    assert str(raised.value).startswith(problem)


def test_a_bare_equals_sign_as_a_value_is_an_input_error_as_in_pyyaml() -> None:
    with pytest.raises(InputError, match="x.yaml: invalid YAML"):
        documents("x: =\n")


@pytest.mark.parametrize("text", ["a: !!str {x: 1}\n", "a: !!str [1]\n", "? !!str {x: 1}\n: v\n"])
def test_a_collection_tagged_as_a_string_is_an_input_error_as_in_pyyaml(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        reference(text)
    with pytest.raises(InputError, match="x.yaml: invalid YAML"):
        documents(text)


def test_lines_are_the_kind_lines() -> None:
    loaded = list(load("---\napiVersion: v1\nkind: Pod\n---\n# c\napiVersion: v1\n\nkind: Service\n", "x.yaml"))
    assert [d.line for d in loaded] == [3, 8]


@pytest.mark.parametrize("path", OWN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_own_yaml_files_load_as_pyyaml_loads_them(path: Path) -> None:
    text = path.read_text()
    assert documents(text) == _flatten_lists(reference(text))


def test_every_corpus_manifest_loads_as_pyyaml_loads_it() -> None:
    if not CORPUS_FILES:
        pytest.skip("../shared/corpus/k8s is not present")
    different = []
    for path in CORPUS_FILES:
        text = path.read_text()
        if documents(text) != _flatten_lists(reference(text)):
            different.append(path.name)
    assert different == []


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000], ids=["lists", "maps"])
def test_a_document_nested_thousands_deep_is_an_input_error_not_a_recursion_crash(value: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ok}}\n---\napiVersion: v1\nkind: Pod\nspec:\n  args: {value}\n"
    with pytest.raises(InputError) as caught:
        list(load(text, "deep.yaml"))
    assert str(caught.value) == "deep.yaml: invalid YAML at line 5: the document nests too deeply to read"


def test_a_billion_laughs_document_is_read_without_expanding_its_aliases() -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    (document,) = load("\n".join(lines) + "\n", "lol.yaml")
    data = document.obj["data"]
    # 9**10 strings if expanded; shared as PyYAML shares them: the same list object nine times
    assert data["j"][0] is data["i"] and data["i"][0] is data["h"]

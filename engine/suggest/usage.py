"""Utilisation input (`--usage FILE`): address -> percentages of CPU, memory, GPU and GPU memory.

YAML or JSON: a mapping of address to {cpu, memory, gpu, gpu_memory} (numbers 0-100, or "35%").
CSV: a header with `address` and any of cpu, memory, gpu, gpu_memory; empty cells mean unknown.
A file that cannot be read is an InputError naming the file (exit code 2).
"""

from __future__ import annotations

import csv
import msgspec
import io
import json
from typing import Any

from tollgate.engine.errors import InputError

METRICS = ("cpu", "memory", "gpu", "gpu_memory")

# Below these, a request is a downsizing candidate; above HIGH, it gets an upsize warning.
LOW_THRESHOLDS = {"cpu": 30.0, "memory": 40.0, "gpu": 40.0}
HIGH_THRESHOLD = 90.0
TARGET_UTILISATION = 60.0  # a downsized machine should run at about this


class Usage(msgspec.Struct, frozen=True):
    cpu: float | None = None
    memory: float | None = None
    gpu: float | None = None
    gpu_memory: float | None = None

    def get(self, metric: str) -> float | None:
        value: float | None = getattr(self, metric)
        return value


def _percent(path: str, where: str, metric: str, raw: Any) -> float | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if isinstance(raw, bool):
        raise InputError(path, f"{where}: {metric} must be a percentage, not {raw!r}")
    try:
        value = float(text[:-1] if text.endswith("%") else text)
    except ValueError:
        raise InputError(path, f"{where}: {metric} must be a percentage, not {text!r}") from None
    if not 0 <= value <= 100:
        raise InputError(path, f"{where}: {metric} is {value:g}, outside 0-100")
    return value


def _entry(path: str, address: str, raw: Any) -> Usage:
    if not isinstance(raw, dict):
        raise InputError(path, f"{address}: expected a mapping of {', '.join(METRICS)}")
    unknown = sorted(str(k) for k in raw if k not in METRICS)
    if unknown:
        raise InputError(path, f"{address}: unknown key {unknown[0]!r} (expected {', '.join(METRICS)})")
    return Usage(**{m: _percent(path, address, m, raw.get(m)) for m in METRICS})


def parse_usage(path: str, text: str) -> dict[str, Usage]:
    if path.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        fields = reader.fieldnames or []
        if "address" not in fields:
            raise InputError(path, "CSV needs an 'address' column (and any of cpu, memory, gpu, gpu_memory)")
        extra = [f for f in fields if f not in ("address", *METRICS)]
        if extra:
            raise InputError(path, f"unknown CSV column {extra[0]!r}")
        result: dict[str, Usage] = {}
        for number, row in enumerate(reader, start=2):
            address = (row.get("address") or "").strip()
            if not address:
                raise InputError(path, f"line {number}: empty address")
            result[address] = _entry(path, f"line {number}", {m: row.get(m) for m in METRICS if m in fields})
        return result
    try:
        if path.lower().endswith(".json"):
            data: Any = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, Exception) as error:  # yaml.YAMLError and json errors alike
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(path, f"not valid YAML/JSON: {problem}") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of resource address to {cpu, memory, gpu, gpu_memory} percentages")
    return {str(address): _entry(path, str(address), raw) for address, raw in data.items()}


def load_usage(path: str) -> dict[str, Usage]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise InputError(path, error.strerror or "cannot be read") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    return parse_usage(path, text)

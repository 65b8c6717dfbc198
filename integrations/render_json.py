"""`--format json`: the versioned report contract documented in the README.

Keys listed in DESIGN.md keep their meaning forever; new keys may be added. Money is rounded
here and only here: hourly amounts to 6 decimals (catalog precision), monthly ones to cents.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollgate.engine.model import Action, CapacityUnit
from tollgate.engine.money import Money
from tollgate.engine.pricing import PricedRequest, StatePrice
from tollgate.engine.report import REPORT_SCHEMA_VERSION, BudgetSpend, Report


def _usd(amount: Money | None, places: int) -> float | None:
    return None if amount is None else amount.rounded(places)


def _price(state: StatePrice) -> dict[str, Any] | None:
    if not state.parts:
        return None
    # The part covering most instances is "the" unit price; every part is listed when there are several.
    main = max(state.parts, key=lambda p: p.count or 0)
    price: dict[str, Any] = {
        "unit_hourly_usd": _usd(main.unit.unit_hourly, 6),
        "source": main.unit.source,
        "as_of": main.unit.as_of,
        "upstream": main.unit.upstream,
        "option": main.option,
        "instance_type": main.instance_type,
    }
    # Live prices say how they were made and, when a live API failed, what served them instead.
    if main.unit.detail:
        price["detail"] = main.unit.detail
    if main.unit.fallback:
        price["fallback"] = main.unit.fallback
    if len(state.parts) > 1:
        price["components"] = [
            {
                "option": p.option,
                "instance_type": p.instance_type,
                "count": p.count,
                "unit_hourly_usd": _usd(p.unit.unit_hourly, 6),
                "source": p.unit.source,
                "as_of": p.unit.as_of,
                "upstream": p.unit.upstream,
            }
            for p in state.parts
        ]
    return price


def resource_dict(item: PricedRequest, report: Report) -> dict[str, Any]:
    request = item.request
    after = item.after
    # A deleted resource is described by what it was; only its after-change cost is zero.
    described = item.before if request.action is Action.DELETE and item.before else after
    quantity = described.instances or request.quantity
    gpus = described.gpus
    before_monthly = report.monthly(item.before.hourly) if item.before else Money.zero()
    monthly = report.monthly(after.hourly)
    delta = None if monthly is None or before_monthly is None else monthly - before_monthly
    unpriced_reason = after.unpriced_reason
    if unpriced_reason is None and item.before is not None and item.before.hourly is None:
        unpriced_reason = f"before the change: {item.before.unpriced_reason}"
    data: dict[str, Any] = {
        "address": request.address,
        "component": request.component,
        "file": request.source.file,
        "line": request.source.line,
        "provider": request.provider.value,
        "region": described.region or request.region,
        "region_source": request.region_source,
        "kind": request.kind,
        "namespace": request.namespace,
        "action": request.action.value,
        "instance_type": request.instance_type,
        "instance_types": list(request.instance_types) if len(request.instance_types) > 1 else None,
        "quantity": quantity.desired,
        "quantity_min": quantity.min,
        "quantity_max": quantity.max,
        "purchase_option": request.purchase_option.value,
        "purchase_reason": request.purchase_reason,
        "purchase_mix": (
            {"on_demand": request.purchase_mix.on_demand, "spot": request.purchase_mix.spot}
            if request.purchase_mix
            else None
        ),
        "workload_class": request.workload_class.value,
        "workload_class_reason": request.workload_class_reason,
        "gpus": (
            {
                "count_per_instance": gpus.count_per_instance,
                "model": gpus.model,
                "kind": gpus.kind,
                "memory_gib": gpus.memory_gib,
                "total": gpus.total,
            }
            if gpus and gpus.count_per_instance
            else None
        ),
        "hourly_usd": _usd(after.hourly, 6),
        "monthly_usd": _usd(monthly, 2),
        "before_monthly_usd": _usd(before_monthly, 2),
        "delta_monthly_usd": _usd(delta, 2),
        "price": _price(described),
        "unpriced_reason": unpriced_reason,
        # A pod on a node group of this change: the group's address (its nodes are its cost, priced there).
        "runs_on": item.runs_on,
        "unknowns": list(request.unknowns),
        "tags": dict(sorted(request.tags.items())),
        "tags_known": request.tags_known,
        "operating_system": request.operating_system,
        "notes": list(request.notes) + [n for n in described.notes if n not in request.notes],
    }
    if request.quantity.unit is CapacityUnit.VCPUS:
        data["capacity_vcpus"] = {"desired": request.quantity.desired, "min": request.quantity.min, "max": request.quantity.max}
    if item.before is not None and request.before is not None and request.action is not Action.DELETE:
        previous = request.before
        data["before"] = {
            "instance_type": previous.instance_type,
            "quantity": (item.before.instances or previous.quantity).desired,
            "purchase_option": previous.purchase_option.value,
            "region": item.before.region or previous.region,
            "hourly_usd": _usd(item.before.hourly, 6),
        }
    return data


def _budget(status: BudgetSpend) -> dict[str, Any]:
    return {
        "policy_id": status.policy_id,
        "provider": status.provider,
        "filter": status.filter,
        "month_to_date_usd": _usd(status.month_to_date, 2),
        "change_rest_of_month_usd": _usd(status.change_rest_of_month, 2),
        "projected_usd": _usd(status.projected, 2),
        "cap_usd": _usd(status.cap, 2),
        "days_left": status.days_left,
        "days_in_month": status.days_in_month,
        "period": list(status.period) if status.period else None,
        "source": status.source,
        "as_of": status.as_of,
        "problem": status.problem,
    }


def report_dict(report: Report) -> dict[str, Any]:
    totals = report.totals()
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "pricing": {
            "mode": report.pricing_mode,
            "catalog_as_of": report.catalog_as_of,
            "hours_per_month": report.hours_per_month,
            "sources": [{"name": s.name, "as_of": s.as_of, "licence": s.licence} for s in report.sources],
            "problems": report.pricing_problems,
        },
        "policy_file": report.config_path,
        "inputs": report.inputs,
        "skipped_inputs": [{"path": path, "reason": reason} for path, reason in report.skipped],
        "resources": [resource_dict(item, report) for item in report.resources],
        "findings": [
            {
                "policy_id": f.policy_id,
                "severity": f.severity,
                "address": f.address,
                "file": f.file,
                "line": f.line,
                "message": f.message,
                "waived": f.waived,
                "waiver": f.waiver,
            }
            for f in report.findings
        ],
        "budgets": [_budget(b) for b in report.budgets],
        "suggestions": [
            {
                "kind": s.kind,
                "address": s.address,
                "from": s.from_,
                "to": s.to,
                "monthly_savings_usd": _usd(s.monthly_savings, 2),
                "rationale": s.rationale,
            }
            for s in report.suggestions
        ],
        "totals": {
            "monthly_usd": _usd(totals.monthly, 2),
            "before_monthly_usd": _usd(totals.before_monthly, 2),
            "delta_monthly_usd": _usd(totals.delta_monthly, 2),
            "possible_savings_monthly_usd": _usd(report.possible_savings(), 2),
            "unpriced_resources": totals.unpriced,
            "gpus": report.gpu_total("gpu"),
            "accelerators": report.gpu_total("accelerator"),
            "findings": {
                severity: sum(1 for f in report.findings if f.severity == severity and not f.waived)
                for severity in ("error", "warning", "info")
            }
            | {"waived": sum(1 for f in report.findings if f.waived)},
        },
    }


def render_json(report: Report) -> str:
    encoded = msgspec.json.encode(report_dict(report))
    return msgspec.json.format(encoded, indent=2).decode("utf-8") + "\n"

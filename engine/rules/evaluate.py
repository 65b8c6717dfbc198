"""Run the active policies over priced requests, then apply waivers.

A waived finding stays in the report (`waived: true`, with the waiver). An expired waiver stops
waiving and adds a warning naming its owner; a waiver without a reason adds a warning too.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from typing import Any, Iterable, Mapping

import msgspec

from tollgate.engine.config_types import ExceptionEntry
from tollgate.engine.config_loader import ActiveConfig
from tollgate.engine.model import Waiver
from tollgate.engine.prices import PriceMiss, PriceSource, SpendQuote
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import Finding
from tollgate.engine.rules import RULES
from tollgate.engine.rules.registry import RuleContext

UNPRICED_ID = "unpriced"
WAIVER_EXPIRED_ID = "waiver-expired"
WAIVER_REASON_MISSING_ID = "waiver-reason-missing"
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def evaluate_policies(
    config: ActiveConfig,
    resources: list[PricedRequest],
    prices: PriceSource,
    hours_per_month: int,
    today: dt.date,
    spend: Mapping[str, SpendQuote | PriceMiss] | None = None,
) -> list[Finding]:
    ctx = RuleContext(resources=resources, hours_per_month=hours_per_month, prices=prices, today=today, spend=spend or {})
    findings: list[Finding] = []
    for policy in config.policies:
        findings.extend(RULES[policy.type].evaluate(policy, ctx))
    findings.extend(_unpriced(resources, config.settings.unpriced_severity))
    findings = _apply_waivers(findings, resources, config.exceptions, today)
    findings.sort(key=lambda f: (f.waived, SEVERITY_ORDER.get(f.severity, 3), f.policy_id, f.address))
    return findings


def _unpriced(resources: Iterable[PricedRequest], severity: str) -> Iterable[Finding]:
    """DESIGN: a request that cannot be priced is a finding of its own, with the reason. Pods on a
    node group of the same change (`runs_on`) are not unpriced: the group's price is theirs."""
    for item in resources:
        if item.runs_on is not None:
            continue
        reason = item.after.unpriced_reason or (item.before.unpriced_reason if item.before else None)
        if reason:
            request = item.request
            name = request.address + (f" ({request.component})" if request.component else "")
            yield Finding(
                policy_id=UNPRICED_ID,
                severity=severity,
                address=request.address,
                file=request.source.file,
                line=request.source.line,
                message=f"{name}: not priced: {reason}",
            )


def _waiver_dict(waiver: Waiver) -> dict[str, Any]:
    return {
        "source": waiver.source,
        "policy": waiver.policy_id,
        "reason": waiver.reason,
        "owner": waiver.owner,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
        "file": waiver.file,
        "line": waiver.line,
    }


def _from_exception(entry: ExceptionEntry, config_path: str | None) -> Waiver:
    return Waiver(
        policy_id=entry.policy,
        reason=entry.reason,
        source="exceptions",
        file=config_path,
        owner=entry.owner,
        expires=entry.expires,
    )


def _apply_waivers(
    findings: list[Finding], resources: list[PricedRequest], exceptions: list[ExceptionEntry], today: dt.date
) -> list[Finding]:
    inline: dict[str, list[Waiver]] = {}
    for item in resources:
        if item.request.waivers:
            inline.setdefault(item.request.address, []).extend(item.request.waivers)
    central = [_from_exception(entry, None) for entry in exceptions]
    expired_reported: set[int] = set()
    extra: list[Finding] = []
    result: list[Finding] = []
    for finding in findings:
        waiver = next((w for w in inline.get(finding.address, []) if fnmatch.fnmatchcase(finding.policy_id, w.policy_id)), None)
        if waiver is None:
            for index, candidate in enumerate(central):
                if not (fnmatch.fnmatchcase(finding.policy_id, candidate.policy_id) and fnmatch.fnmatchcase(finding.address, exceptions[index].resource)):
                    continue
                if candidate.expires is not None and candidate.expires < today:
                    if index not in expired_reported:
                        expired_reported.add(index)
                        extra.append(_expired(candidate, exceptions[index], finding))
                    continue
                waiver = candidate
                break
        if waiver is None:
            result.append(finding)
            continue
        result.append(msgspec.structs.replace(finding, waived=True, waiver=_waiver_dict(waiver)))
    return result + extra + list(_reasonless(resources, exceptions))


def _reasonless(resources: list[PricedRequest], exceptions: list[ExceptionEntry]) -> Iterable[Finding]:
    """Every waiver without a reason is reported, whether or not it waived anything today."""
    seen: set[tuple[str, str | None, int | None, str]] = set()
    for item in resources:
        for waiver in item.request.waivers:
            key = (waiver.policy_id, waiver.file, waiver.line, item.request.address)
            if waiver.reason or key in seen:
                continue
            seen.add(key)
            yield Finding(
                policy_id=WAIVER_REASON_MISSING_ID,
                severity="warning",
                address=item.request.address,
                file=waiver.file or item.request.source.file,
                line=waiver.line or item.request.source.line,
                message=f"{item.request.address}: the {waiver.source} waiver of '{waiver.policy_id}' gives no reason; say why it is safe",
            )
    for entry in exceptions:
        if not entry.reason:
            yield Finding(
                policy_id=WAIVER_REASON_MISSING_ID,
                severity="warning",
                address=entry.resource,
                file=None,
                line=None,
                message=f"the exception for '{entry.policy}' on '{entry.resource}' gives no reason; say why it is safe",
            )


def _expired(waiver: Waiver, entry: ExceptionEntry, finding: Finding) -> Finding:
    owner = waiver.owner or "no owner named"
    return Finding(
        policy_id=WAIVER_EXPIRED_ID,
        severity="warning",
        address=finding.address,
        file=finding.file,
        line=finding.line,
        message=(
            f"the exception for '{entry.policy}' on '{entry.resource}' expired on {entry.expires} "
            f"(owner: {owner}; reason was: {entry.reason or 'none'}); it no longer waives {finding.address}"
        ),
    )

"""`--format text`: compact plain lines for hooks and logs, one per finding, like a linter.

    main.tf:21: error ml-team: compute in scope of 'ml-team' ... over the budget of $50,000 (+$38,640)
    tollgate: 3 requests, $88,639.52/month after (+$88,639.52); 1 error, 0 warnings (0 waived); prices: bundled 2026-07-30

No rich import: this is the pre-commit path, where start-up time is the budget.
"""

from __future__ import annotations

from typing import IO

from tollgate.engine.money import Money
from tollgate.engine.report import Report


def _usd(amount: Money) -> str:
    value = amount.rounded(2)
    sign = "+" if value > 0 else ""
    return f"{sign}${value:,.2f}"


def render_text(report: Report, stream: IO[str]) -> None:
    lines: list[str] = []
    for finding in report.findings:
        if finding.waived:
            continue
        where = finding.file or finding.address
        if finding.file and finding.line:
            where = f"{finding.file}:{finding.line}"
        lines.append(f"{where}: {finding.severity} {finding.policy_id}: {finding.message}")
    for suggestion in report.suggestions:
        lines.append(
            f"{suggestion.address}: suggestion {suggestion.kind}: save ${suggestion.monthly_savings.rounded(2):,.2f}/month: {suggestion.rationale}"
        )
    totals = report.totals()
    counts = {s: sum(1 for f in report.findings if f.severity == s and not f.waived) for s in ("error", "warning", "info")}
    waived = sum(1 for f in report.findings if f.waived)
    catalog = f" {report.catalog_as_of}" if report.catalog_as_of else ""
    unpriced = f", {totals.unpriced} unpriced" if totals.unpriced else ""
    if totals.on_node_groups:  # pods whose node group of this change is priced instead: not unpriced, not added
        unpriced += f", {totals.on_node_groups} on {'a node group' if totals.on_node_groups == 1 else 'node groups'} of this change"
    lines.append(
        f"tollgate: {len(report.resources)} requests{unpriced}, ${totals.monthly.rounded(2):,.2f}/month after "
        f"({_usd(totals.delta_monthly)}); {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info "
        f"({waived} waived)"
        + (f"; possible savings ${report.possible_savings().rounded(2):,.2f}/month" if report.suggestions else "")
        + f"; policies: {report.config_path or 'none'}; prices: {report.pricing_mode}{catalog}"
    )
    stream.write("\n".join(lines) + "\n")

"""`--format table`: the human view, a rich table with totals and price provenance."""

from __future__ import annotations

from typing import IO, Any

from tollgate.engine.model import Action
from tollgate.engine.money import Money
from tollgate.engine.pricing import PricedRequest, StatePrice
from tollgate.engine.report import Report

_ACTION_MARK = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "±",
    Action.DELETE: "-",
    Action.NO_OP: " ",
}


def _money(amount: Money | None, places: int = 2) -> str:
    if amount is None:
        return "-"
    value = amount.rounded(places)
    return f"${value:,.{places}f}"


def _delta(amount: Money | None) -> str:
    if amount is None:
        return "?"
    if amount.nanos == 0:
        return "$0.00"
    sign = "+" if amount.nanos > 0 else "-"
    return f"{sign}${abs(amount.rounded(2)):,.2f}"


def _type_count(item: PricedRequest, described: StatePrice) -> str:
    request = item.request
    quantity = described.instances or request.quantity
    type_text = request.instance_type or "?"
    if len(request.instance_types) > 1:
        type_text += f" (+{len(request.instance_types) - 1})"
    count = "?" if quantity.desired is None else str(quantity.desired)
    text = f"{type_text} × {count}"
    if quantity.is_scaling:
        low = "?" if quantity.min is None else quantity.min
        high = "?" if quantity.max is None else quantity.max
        text += f" [{low}–{high}]"
    if request.before is not None and request.action is not Action.DELETE:
        old_quantity = request.before.quantity.desired
        if request.before.instance_type != request.instance_type or old_quantity != request.quantity.desired:
            text += f"\n  was {request.before.instance_type or '?'} × {'?' if old_quantity is None else old_quantity}"
    return text


def _gpus(described: StatePrice) -> str:
    gpus = described.gpus
    if not gpus or not gpus.count_per_instance:
        return ""
    per = f"{gpus.count_per_instance:g}× {gpus.model or 'GPU'}"
    return per if gpus.total is None else f"{per} ({gpus.total:g})"


def _option(item: PricedRequest) -> str:
    request = item.request
    if request.purchase_mix and request.purchase_mix.on_demand and request.purchase_mix.spot:
        return f"{request.purchase_mix.on_demand} od + {request.purchase_mix.spot} spot"
    return request.purchase_option.value.replace("_", "-")


# The cost cells of a pod on a node group of this change (`runs_on`): its nodes are priced with the
# group. Short, so that it fits where an amount would; the Resource cell names the group.
ON_NODE_GROUP = "on group"


def _cost_cell(item: PricedRequest, amount: Money | None, places: int) -> str:
    if item.request.action is Action.DELETE:
        return "deleted"
    if item.runs_on is not None:
        return ON_NODE_GROUP
    return _money(amount, places) if amount is not None else "unpriced"


def render_table(report: Report, stream: IO[str], width: int | None = None, color: bool | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, width=width, no_color=color is False, force_terminal=color, highlight=False)
    table = Table(title="Tollgate: compute requested by this change", title_justify="left", show_lines=False)
    table.add_column("", width=1)
    table.add_column("Resource", overflow="fold", min_width=40)
    table.add_column("Type × count", overflow="fold")
    table.add_column("Region")
    table.add_column("Option")
    table.add_column("GPUs")
    table.add_column("$/hour", justify="right")
    table.add_column("$/month", justify="right")
    table.add_column("Δ $/month", justify="right")

    unpriced: list[tuple[str, str]] = []
    for item in report.resources:
        request = item.request
        described = item.before if request.action is Action.DELETE and item.before else item.after
        name = request.address + (f" ({request.component})" if request.component else "")
        before_hourly = item.before.hourly if item.before else Money.zero()
        monthly = report.monthly(item.after.hourly)
        delta = None if monthly is None or before_hourly is None else monthly - before_hourly * report.hours_per_month
        reason = item.after.unpriced_reason or (item.before.unpriced_reason if item.before else None)
        if reason:
            unpriced.append((name, reason))
        table.add_row(
            _ACTION_MARK[request.action],
            name + (f"\n  on node group {item.runs_on}" if item.runs_on is not None else ""),
            _type_count(item, described),
            described.region or request.region or "?",
            _option(item),
            _gpus(described),
            _cost_cell(item, item.after.hourly, 4),
            _cost_cell(item, monthly, 2),
            ON_NODE_GROUP if item.runs_on is not None else _delta(delta),
        )
    console.print(table)

    totals = report.totals()
    console.print(
        f"Monthly: {_money(totals.monthly)} after, {_money(totals.before_monthly)} before, "
        f"change {_delta(totals.delta_monthly)}  ({report.hours_per_month} hours/month, "
        f"{len(report.resources)} compute requests, "
        + (f"{totals.on_node_groups} on {'a node group' if totals.on_node_groups == 1 else 'node groups'} of this change, " if totals.on_node_groups else "")
        + f"{report.gpu_total('gpu'):g} GPUs"
        + (f" + {other:g} non-GPU accelerators" if (other := report.gpu_total("accelerator")) else "")
        + ")"
    )
    if unpriced:
        console.print(f"[bold]{len(unpriced)} not priced[/bold] (left out of the totals, never counted as $0):")
        for name, reason in unpriced:
            console.print(f"  {name}: {reason}")
    _print_findings(console, report)
    _print_suggestions(console, report)
    for path, reason in report.skipped:
        console.print(f"Skipped {path}: {reason}")
    _print_budgets(console, report)
    if report.sources:
        console.print(f"Prices: {report.pricing_mode}" + (f" (bundled catalog as of {report.catalog_as_of})" if report.catalog_as_of else ""))
        for source in report.sources:
            console.print(f"  {source.name} (as of {source.as_of})")
    elif not report.resources:
        console.print("No compute requests found in: " + (", ".join(report.inputs) or "no inputs"))
    from rich.markup import escape

    for problem in report.pricing_problems:
        console.print(f"  [yellow]fallback[/yellow] {escape(problem)}")


def _print_budgets(console: Any, report: Report) -> None:
    for b in report.budgets:
        where = ", ".join(f"{k}={v}" for k, v in sorted(b.filter.items())) or "no filter"
        if b.month_to_date is None:
            console.print(f"Budget {b.policy_id}: month-to-date {b.provider} spend ({where}) unavailable: {b.problem}")
            continue
        cap = f" of a {_money(b.cap)} cap" if b.cap is not None else ""
        console.print(
            f"Budget {b.policy_id}: {_money(b.month_to_date)} spent this month ({where}, {b.source}, as of {b.as_of}) "
            f"+ {_money(b.change_rest_of_month)} from this change for the {b.days_left} day(s) left "
            f"= {_money(b.projected or b.month_to_date)}{cap}"
        )


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _print_findings(console: Any, report: Report) -> None:
    from rich.markup import escape

    if report.config_path:
        console.print(f"Policies: {report.config_path}")
    if not report.findings:
        if report.config_path:
            console.print("No findings.")
        return
    active = [f for f in report.findings if not f.waived]
    waived = [f for f in report.findings if f.waived]
    console.print(f"[bold]Findings[/bold]: {len(active)} active, {len(waived)} waived")
    for f in active:
        where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
        style = _SEVERITY_STYLE.get(f.severity, "")
        console.print(f"  [{style}]{f.severity:<7}[/{style}] {escape(f.policy_id)}  {escape(where)}")
        console.print(f"          {escape(f.message)}")
    for f in waived:
        waiver = f.waiver or {}
        console.print(f"  [dim]waived  {escape(f.policy_id)}  {escape(f.address)} ({waiver.get('source')}: {escape(str(waiver.get('reason')))})[/dim]")


def _target(values: dict[str, Any]) -> str:
    option = str(values.get("purchase_option", "")).replace("_", "-")
    where = f"{values.get('provider')} {values.get('region')}" if values.get("provider") else str(values.get("region"))
    return f"{values.get('instance_type')} × {values.get('quantity')} {option} in {where}"


def _print_suggestions(console: Any, report: Report) -> None:
    """One table: what each alternative is and what it saves per month, largest saving first."""
    from rich.table import Table

    if not report.suggestions:
        return
    table = Table(
        title=f"Suggestions: {len(report.suggestions)}, possible savings {_money(report.possible_savings())}/month (best suggestion per resource)",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("Kind")
    table.add_column("Resource", overflow="fold", min_width=24)
    table.add_column("Now", overflow="fold")
    table.add_column("Instead", overflow="fold")
    table.add_column("Saves/month", justify="right")
    table.add_column("Why", overflow="fold", ratio=2)
    for s in report.suggestions:
        table.add_row(s.kind, s.address, _target(s.from_), _target(s.to), _money(s.monthly_savings), s.rationale)
    console.print(table)

"""Terraform plan JSON -> ComputeRequests, with the before state attached for diffs."""

from __future__ import annotations

from typing import Any

import msgspec
from tollgate.engine.errors import InputError
from tollgate.engine.model import Action, ComputeRequest, SourceLocation
from tollgate.engine.terraform import resources_aws, resources_azure, resources_gcp  # noqa: F401  (register extractors)
from tollgate.engine.terraform.plan_context import PlanContext
from tollgate.engine.terraform.plan_file import (
    TOO_DEEP,
    Plan,
    PlanResource,
    decode_input_bytes,
    parse_plan,
    read_plan,
)
from tollgate.engine.terraform.source_map import SourceMap
from tollgate.engine.terraform.view import EXTRACTORS, ResourceView

COMPUTE_TYPES = frozenset(EXTRACTORS)


def plan_action(actions: tuple[str, ...]) -> Action | None:
    """Terraform's action list -> one action. None: nothing to price (a data source read)."""
    if actions in (("delete", "create"), ("create", "delete")):
        return Action.REPLACE
    if actions == ("create",):
        return Action.CREATE
    if actions == ("delete",):
        return Action.DELETE
    if actions == ("update",):
        return Action.UPDATE
    if actions in (("no-op",), (), ("forget",)):
        return Action.NO_OP
    if actions == ("read",):
        return None
    return Action.UPDATE  # an action list newer than this reader: treat as a change, priced both ways


def read_plan_requests(path: str) -> list[ComputeRequest]:
    plan = read_plan(path)
    return _requests_or_input_error(plan)


def read_plan_stream(name: str, data: bytes) -> list[ComputeRequest]:
    """A plan piped in (`terraform show -json plan.out | tollgate check -`). Its configuration is
    looked for in the working directory, where `terraform show` ran, for file:line and waivers."""
    plan = parse_plan(name, decode_input_bytes(name, data))
    return _requests_or_input_error(plan, configuration_dir=".")


def _requests_or_input_error(plan: Plan, configuration_dir: str | None = None) -> list[ComputeRequest]:
    try:
        return requests_from_plan(plan, configuration_dir)
    except RecursionError:  # resource values are decoded lazily: a 50,000-deep one fails here
        raise InputError(plan.path, TOO_DEEP) from None


def requests_from_plan(plan: Plan, configuration_dir: str | None = None) -> list[ComputeRequest]:
    """`configuration_dir`: where the root module's .tf files are; default: next to the plan file."""
    context = PlanContext(plan)
    sources = SourceMap.for_plan(plan.path, context.configuration, root=configuration_dir)
    requests: list[ComputeRequest] = []
    for resource in plan.resources:
        entry = EXTRACTORS.get(resource.type)
        if entry is None:
            continue
        action = plan_action(resource.actions)
        if action is None:
            continue
        block = sources.locate(context, resource)
        location = block.location if block else SourceLocation(file=plan.path)
        found = _requests_for(resource, context, action, location, plan)
        if block and block.waivers:
            for request in found:
                request.waivers = block.waivers
        requests.extend(found)
        resource.release()  # its values now live in the requests; keep peak memory flat
    return requests


def _extract(
    resource: PlanResource, context: PlanContext, action: Action, location: SourceLocation, state: str
) -> list[ComputeRequest]:
    values: Any = resource.before if state == "before" else resource.after
    if not isinstance(values, dict):
        return []
    unknown: Any = resource.after_unknown if state == "after" else {}
    view = ResourceView(
        resource=resource,
        ctx=context,
        values=values,
        unknown_map=unknown if isinstance(unknown, dict) else {},
        state=state,
        action=action,
        source=location,
    )
    _, function = EXTRACTORS[resource.type]
    return function(view)


def _requests_for(
    resource: PlanResource, context: PlanContext, action: Action, location: SourceLocation, plan: Plan
) -> list[ComputeRequest]:
    before = [] if action is Action.CREATE else _extract(resource, context, action, location, "before")
    if action is Action.DELETE:
        for request in before:
            request.before = msgspec.structs.replace(request, before=None)
        return before
    after = _extract(resource, context, action, location, "after")
    if plan.from_planned_values:
        for request in after:
            request.note("plan has no resource_changes: read from planned_values as a create")
    if "forget" in resource.actions:
        for request in after:
            request.note("removed from Terraform state (forget): the machines keep running outside this configuration")
    before_by_component = {b.component: b for b in before}
    for request in after:
        previous = before_by_component.pop(request.component, None)
        if previous is not None:
            request.before = previous
    # Parts that existed before but are gone after (a removed variant or node pool) are deletions.
    for gone in before_by_component.values():
        gone.action = Action.DELETE
        gone.before = msgspec.structs.replace(gone, before=None)
        after.append(gone)
    return after

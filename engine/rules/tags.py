"""Tagging policies."""

from __future__ import annotations

from typing import Iterator

from tollgate.engine.bounded_regex import MATCH_TIMEOUT, MatchTimeout, fullmatch
from tollgate.engine.config_types import TagsPolicy
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, describe, finding, is_live, register


@register("tags", TagsPolicy)
def evaluate_tags(policy: TagsPolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Cost-allocation tags: required keys, allowed values, value patterns.

    Terraform tags (AWS `tags_all`, including provider default_tags), GCP labels and Kubernetes
    labels count. Keys match exactly unless `case_insensitive_keys` is set, in which case the
    finding says which spelling was accepted. Tags unknown at plan time cannot be shown to hold
    and are reported as a warning.
    """
    for item in ctx.in_scope(policy.scope):
        if not is_live(item):
            continue
        request = item.request
        if not request.tags_known:
            yield finding(policy, item, f"{describe(item)}: tags are unknown at plan time; '{policy.id}' cannot be checked", severity="warning")
            continue
        tags = dict(request.tags)
        respelled: list[str] = []
        if policy.case_insensitive_keys:
            lowered = {key.lower(): key for key in tags}
            # Fix (tests/rules fixtures): a key listed in several of required/allowed_values/patterns
            # was reported once per list ("Team as team, Team as team"), and a key present with its
            # exact spelling could be overwritten by another spelling's value; dedupe, exact wins.
            for wanted in dict.fromkeys([*policy.required, *policy.allowed_values, *policy.patterns]):
                if wanted in tags:
                    continue
                actual = lowered.get(wanted.lower())
                if actual is not None and actual != wanted:
                    tags[wanted] = tags[actual]
                    respelled.append(f"{actual} as {wanted}")
        problems: list[str] = []
        missing = [key for key in policy.required if not tags.get(key)]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        for key, allowed in policy.allowed_values.items():
            value = tags.get(key)
            if value is not None and value not in allowed:
                problems.append(f"{key}={value} is not one of {', '.join(allowed)}")
        for key, pattern in policy.patterns.items():
            value = tags.get(key)
            if value is None:
                continue
            try:
                if not fullmatch(pattern, value):
                    problems.append(f"{key}={value} does not match {pattern}")
            except MatchTimeout:
                # Not shown to match, so not accepted; the value is what a reviewer should look at.
                problems.append(f"{key}={value[:80]!r} cannot be checked against {pattern}: the match ran past {MATCH_TIMEOUT:g}s")
        if problems:
            accepted = f" (keys matched ignoring case: {', '.join(respelled)})" if respelled else ""
            yield finding(policy, item, f"{describe(item)}: tags {'; '.join(problems)}{accepted}")

"""Never suggest what an active policy forbids: instance type and GPU model lists, GPUs per
resource, previous generations, region allow/deny lists, and spot where `forbid_for` says no.
The globs match exactly as the policy rules match them (case-insensitive fnmatch)."""

from __future__ import annotations

import fnmatch
from typing import Any

from tollgate.engine.gpus import accelerator_kind
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.rules.registry import matches_scope


def _matches(value: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(value.lower(), glob.lower()) for glob in globs)


class PolicyGuard:
    def __init__(self, policies: list[Any] | None = None) -> None:
        self.policies = list(policies or [])
        # The policies whose scope holds a request, by request: every kind asks, for every type
        # it weighs. (Keyed by id: the requests of a run outlive the guard.)
        self._in_scope: dict[int, tuple[PricedRequest, list[Any]]] = {}

    def in_scope(self, item: PricedRequest) -> list[Any]:
        found = self._in_scope.get(id(item))
        if found is None or found[0] is not item:
            found = self._in_scope[id(item)] = (item, [p for p in self.policies if matches_scope(p.scope, item)])
        return found[1]

    def _scoped(self, item: PricedRequest, policy_type: str) -> list[Any]:
        return [p for p in self.in_scope(item) if p.type == policy_type]

    def type_allowed(
        self, item: PricedRequest, instance_type: str, gpu_model: str | None, gpus_per_instance: float,
        current_generation: bool | None, max_instances: int,
    ) -> bool:
        for policy in self._scoped(item, "instance_type"):
            if policy.deny and _matches(instance_type, policy.deny):
                return False
            if policy.allow and not _matches(instance_type, policy.allow):
                return False
            if policy.deny_previous_generation and current_generation is False:
                return False
            if gpus_per_instance and accelerator_kind(gpu_model) == "gpu":
                if policy.gpu_models_deny and gpu_model and _matches(gpu_model, policy.gpu_models_deny):
                    return False
                if policy.gpu_models_allow and (gpu_model is None or not _matches(gpu_model, policy.gpu_models_allow)):
                    return False
                limit = policy.max_gpus_per_resource
                if limit is not None and gpus_per_instance * max_instances > limit:
                    return False
        return True

    def region_allowed(self, item: PricedRequest, provider: str, region: str) -> bool:
        for policy in self._scoped(item, "region"):
            allowed = policy.allow.get(provider)
            denied = policy.deny.get(provider) or []
            if denied and _matches(region, denied):
                return False
            if allowed is not None and not _matches(region, allowed):
                return False
        return True

    def has_region_allow_list(self, item: PricedRequest, provider: str) -> bool:
        return any(policy.allow.get(provider) is not None for policy in self._scoped(item, "region"))

    def spot_allowed(self, item: PricedRequest) -> bool:
        workload = item.request.workload_class.value
        return not any(workload in p.forbid_for for p in self._scoped(item, "spot"))

    def on_demand_required_off(self, item: PricedRequest) -> bool:
        """True when a spot policy requires spot for this workload (a commitment would not help)."""
        workload = item.request.workload_class.value
        return any(workload in p.require_for for p in self._scoped(item, "spot"))

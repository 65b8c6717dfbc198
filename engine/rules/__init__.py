"""Policy evaluation. Importing this package registers every policy type in RULES."""

from tollgate.engine.rules import approval, budget, instance_type, region, spot, tags  # noqa: F401
from tollgate.engine.rules.registry import RULES, Rule, RuleContext

__all__ = ["RULES", "Rule", "RuleContext"]

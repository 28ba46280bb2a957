"""The rule every follower applies: from pool_config(app, 'json') and the
service's own sizing to the pool's size (clients/README.md, "The rule").

Pure: no database, no pool. Unit-tested in clients/python/tests/test_rule.py.
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Sizing:
    """What the service decides for its pool.

    min_size, max_size: its own default size, used as they are when the
    application has no budget; max_size is also what it wants when the server
    has too little data to recommend (insufficient_data).
    floor, ceiling: the range the service accepts for a recommended maximum
    (ceiling None: no ceiling). The budget wins over the floor.
    instances: how many instances of the service share the budget; None lets
    the server count them (pool_config's observed instances).
    """
    min_size: int
    max_size: int
    floor: int = 1
    ceiling: Optional[int] = None
    instances: Optional[int] = None

    def __post_init__(self):
        if self.max_size < 1:
            raise ValueError("max_size must be at least 1, not %r" % (self.max_size,))
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError("min_size must be between 0 and max_size (%d), not %r"
                             % (self.max_size, self.min_size))
        if self.floor < 1:
            raise ValueError("floor must be at least 1, not %r" % (self.floor,))
        if self.ceiling is not None and self.ceiling < self.floor:
            raise ValueError("ceiling (%r) must not be below floor (%r)" % (self.ceiling, self.floor))
        if self.instances is not None and self.instances < 1:
            raise ValueError("instances must be at least 1 or None, not %r" % (self.instances,))


@dataclass(frozen=True)
class Target:
    """The size a follower keeps its pool at, and why (for logs)."""
    min_size: int
    max_size: int
    reason: str


def target(config, sizing):
    """The pool's size for pool_config's JSON (a dict, or None when the server
    has nothing on the application) under the service's sizing."""
    if config is None or config.get("budget_max_connections") is None:
        return Target(sizing.min_size, sizing.max_size, "no budget: the service's own size")
    if config.get("insufficient_data"):
        want_min, want_max = sizing.min_size, sizing.max_size
        why = "too little data: the service's own maximum %d" % want_max
    else:
        want_min = config["pool_size"]
        want_max = config["pool_size"] + config["max_overflow"]
        why = "recommended pool_size %d + max_overflow %d" % (config["pool_size"], config["max_overflow"])
    wanted = max(sizing.floor, want_max)
    if sizing.ceiling is not None:
        wanted = min(wanted, sizing.ceiling)
    if wanted != want_max:
        why += ", within [%d, %s]: %d" % (sizing.floor, sizing.ceiling, wanted)
    share = config["instance_share"]
    max_size = min(wanted, share)
    if max_size < wanted:
        why += ", capped by the share of budget %d over %d instance(s): %d" % (
            config["budget_max_connections"], config["instances"], share)
    return Target(min(want_min, max_size), max_size, why)

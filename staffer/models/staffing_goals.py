"""The staffing goals' defaults and ranges, shared by both staffing paths.

Staffing with patience always honours an abandonment cap (contract §6), because letting
callers hang up can otherwise "meet" a service-level goal. Service-level goals are clipped
to [0, SL_GOAL_MAX]: Erlang C computes SL = 1 - miss near 1, which is monotone in N, so a
goal of exactly 1.0 is honoured literally (the N at which the computed SL rounds to 1.0).
Erlang A's SL is not resolved that close to 1, so with patience goals above
SL_GOAL_MAX_PATIENCE are read as that value.
"""

from __future__ import annotations

from typing import Literal

GoalKind = Literal["sl", "asa"]  # a service level within a target, or a mean wait
DEFAULT_MAX_ABANDON = 0.05
SL_GOAL_MAX = 1.0
SL_GOAL_MAX_PATIENCE = 1.0 - 1e-12
MAX_AGENTS = float(2**52)  # the search never proposes more agents (exact in a float)

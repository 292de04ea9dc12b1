"""Queueing models (contract §6): Erlang B/C, Erlang A, chat slots, email deadlines.

Pure, numpy-vectorised functions: array arguments broadcast, all-scalar calls return
Python floats (ints for staffing). SI units: rates per second, times in seconds.
See docs/models.md for definitions, assumptions and numerical accuracy.
"""

from staffer.models.chat import effective_aht, servers_for
from staffer.models.email import email_on_time_ratio, email_required_agents
from staffer.models.erlang import erlang_b, erlang_c
from staffer.models.measures import abandon_ratio, asa, occupancy, p_wait, service_level
from staffer.models.staffing import required_agents, required_agents_asa
from staffer.models.staffing_goals import DEFAULT_MAX_ABANDON, SL_GOAL_MAX, SL_GOAL_MAX_PATIENCE

__all__ = [
    "DEFAULT_MAX_ABANDON",
    "SL_GOAL_MAX",
    "SL_GOAL_MAX_PATIENCE",
    "abandon_ratio",
    "asa",
    "effective_aht",
    "email_on_time_ratio",
    "email_required_agents",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "p_wait",
    "required_agents",
    "required_agents_asa",
    "servers_for",
    "service_level",
]

"""`LastPlans`: whatever the order of batched plans and plans riding in a command's
transaction, the newest plan of a site is the one written last."""

from staffer.adapters.last_plans import LastPlans

OLD, NEW = (b"old", 1.0), (b"new", 2.0)


def test_a_rider_writes_its_own_plan() -> None:
    plans = LastPlans()
    take = plans.rider("s", OLD)
    assert take() == OLD
    assert plans.take_all() == {}


def test_a_rider_taken_after_a_newer_plan_was_flushed_writes_nothing() -> None:
    """The flush queued before the rider's command ran after a newer plan arrived."""
    plans = LastPlans()
    take = plans.rider("s", OLD)
    plans.put("s", NEW)
    assert plans.take_all() == {"s": NEW}  # the flush wrote the newer plan
    assert take() is None  # the older one must not overwrite it


def test_a_rider_taken_while_a_newer_plan_waits_writes_the_newer_one() -> None:
    plans = LastPlans()
    take = plans.rider("s", OLD)
    plans.put("s", NEW)
    assert take() == NEW
    assert plans.take_all() == {}


def test_put_says_when_a_flush_is_needed_and_sites_are_independent() -> None:
    plans = LastPlans()
    assert plans.put("a", OLD) is True
    assert plans.put("b", OLD) is False  # the flush already queued writes both
    take = plans.rider("c", NEW)
    assert plans.take_all() == {"a": OLD, "b": OLD}
    assert take() == NEW

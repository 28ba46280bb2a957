"""The rule of clients/README.md, on pool_config JSON as the server writes it.

    python3 -m unittest discover -s clients/python/tests -p 'test_*.py'
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pgpool_stats_follow.rule import Sizing, target  # noqa: E402
from pgpool_stats_follow.pgbouncer_follower import entry_name_problem, _value  # noqa: E402


def config(pool_size=3, max_overflow=2, budget=None, instances=2, insufficient=False):
    c = {"application_name": "shop", "instances": instances, "pool_size": pool_size,
         "max_overflow": max_overflow, "insufficient_data": insufficient,
         "budget_max_connections": budget, "instance_share": None}
    if budget is not None:
        c["instance_share"] = max(1, budget // instances)
    return c


class Rule(unittest.TestCase):
    sizing = Sizing(min_size=2, max_size=10, floor=2, ceiling=20)

    def sizes(self, c, sizing=None):
        t = target(c, sizing or self.sizing)
        return t.min_size, t.max_size

    def test_no_budget_is_the_service_own_size(self):
        self.assertEqual(self.sizes(None), (2, 10))  # never seen
        self.assertEqual(self.sizes(config(budget=None)), (2, 10))  # seen, no budget (or no cap)

    def test_recommendation_within_the_share(self):
        # pool_size 3 + max_overflow 2 = 5, budget 40 over 2 instances: share 20.
        self.assertEqual(self.sizes(config(budget=40)), (3, 5))

    def test_the_share_caps_the_recommendation(self):
        # wants 3 + 5 = 8; budget 10 over 2 instances: 5 each.
        self.assertEqual(self.sizes(config(3, 5, budget=10)), (3, 5))
        self.assertEqual(self.sizes(config(8, 0, budget=10)), (5, 5))

    def test_floor_and_ceiling(self):
        self.assertEqual(self.sizes(config(1, 0, budget=100)), (1, 2))    # raised to the floor
        self.assertEqual(self.sizes(config(30, 10, budget=100)), (20, 20))  # cut to the ceiling, then min
        self.assertEqual(self.sizes(config(30, 10, budget=100), Sizing(2, 10)), (30, 40))  # no ceiling

    def test_the_budget_wins_over_the_floor(self):
        self.assertEqual(self.sizes(config(1, 0, budget=2)), (1, 1))  # floor 2, share 1
        self.assertEqual(self.sizes(config(1, 0, budget=0)), (1, 1))  # a pool is never below 1

    def test_insufficient_data_wants_the_service_own_size(self):
        self.assertEqual(self.sizes(config(1, 0, budget=40, insufficient=True)), (2, 10))
        self.assertEqual(self.sizes(config(1, 0, budget=12, insufficient=True)), (2, 6))
        self.assertEqual(self.sizes(config(1, 0, budget=2, insufficient=True)), (1, 1))

    def test_a_reason_is_given(self):
        t = target(config(8, 0, budget=10), self.sizing)
        self.assertIn("capped by the share of budget 10 over 2 instance(s): 5", t.reason)

    def test_sizing_refuses_nonsense(self):
        for bad in (dict(min_size=3, max_size=2), dict(min_size=0, max_size=0),
                    dict(min_size=0, max_size=5, floor=0), dict(min_size=0, max_size=5, floor=3, ceiling=2),
                    dict(min_size=0, max_size=5, instances=0), dict(min_size=-1, max_size=5)):
            with self.assertRaises(ValueError, msg=bad):
                Sizing(**bad)


class PgBouncerNames(unittest.TestCase):
    def test_entry_names(self):
        for ok in ("checkout", "shop-api", "a.b_c", "X9"):
            self.assertIsNone(entry_name_problem(ok))
        for bad in ("", "shop api", "*", "caf\u00e9", "a=b", "pgbouncer", "a;b"):
            self.assertIsNotNone(entry_name_problem(bad), bad)

    def test_values_are_quoted_for_pgbouncer(self):
        self.assertEqual(_value("shop"), "shop")
        self.assertEqual(_value("it's me"), "'it''s me'")
        with self.assertRaises(ValueError):
            _value("")


if __name__ == "__main__":
    unittest.main()

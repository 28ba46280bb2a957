"""PgBouncerFollower's own state, against a real include file and an admin
console that refuses (a closed port): what it keeps at start, and that a
failed write or RELOAD is neither taken as applied nor left behind.

    python3 -m unittest discover -s clients/python/tests -p 'test_*.py'
"""
import os
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pgpool_stats_follow.pgbouncer_follower import PgBouncerFollower  # noqa: E402
from pgpool_stats_follow.rule import Sizing  # noqa: E402


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgBouncerFollowerState(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.include = os.path.join(self.dir.name, "follow.ini")
        with open(self.include, "w") as f:
            f.write("[databases]\nshop = dbname=postgres pool_size=5 reserve_pool=0 max_db_connections=5\n"
                    "gone = dbname=postgres pool_size=3\n")
        self.admin = "host=127.0.0.1 port=%d dbname=pgbouncer connect_timeout=5" % closed_port()

    def tearDown(self):
        self.dir.cleanup()

    def follower(self, include=None):
        return PgBouncerFollower("dbname=unused", "dbname=postgres", self.admin, include or self.include,
                                 ["shop", "reports"], Sizing(0, 10))

    def leftovers(self):
        return [n for n in os.listdir(self.dir.name) if n.startswith(".pgpool_stats_follow.")]

    def test_start_keeps_followed_entries(self):
        f = self.follower()
        self.assertEqual({n: t.max_size for n, t in f.targets.items()}, {"shop": 5})
        # What a first write holds: shop as the file had it, reports at the
        # service's own size, never only the first application read.
        self.assertEqual({n: t.max_size for n, t in f._wanted.items()}, {"shop": 5, "reports": 10})

    def test_failed_reload_is_not_applied_and_retried(self):
        f = self.follower()
        f._on_config("reports", None)   # the service's own size, 10, as wanted already
        self.assertEqual(f.failures, 1, "reports is new to PgBouncer: written, RELOAD refused")
        self.assertEqual({n: t.max_size for n, t in f.targets.items()}, {"shop": 5})
        self.assertEqual(f.changes, [])
        with open(self.include) as fh:
            text = fh.read()
        self.assertIn("\nreports = ", text)
        self.assertIn("\nshop = ", text)
        f._on_config("shop", None)      # any later reading tries again
        self.assertEqual(f.failures, 2)
        self.assertEqual(self.leftovers(), [])

    def test_failed_write_leaves_no_temp_file(self):
        f = self.follower()
        os.unlink(self.include)
        os.mkdir(self.include)  # os.replace onto a folder fails
        f._on_config("shop", None)
        self.assertEqual(f.failures, 1)
        self.assertEqual({n: t.max_size for n, t in f.targets.items()}, {"shop": 5})
        self.assertEqual(self.leftovers(), [])


if __name__ == "__main__":
    unittest.main()

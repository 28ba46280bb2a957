#!/usr/bin/python3
"""psycopg_overflow.py DSN: FollowingConnectionPool opens nothing while it is
over its size. Two cases, counted with psycopg_pool's configure callback
(called on each connection it opens):
  grow_min:  shrunk 4 -> 1..2 with all 4 checked out, then resized to 3..3
             before they come back: psycopg_pool's resize() would open
             3 - 1 = 2 more at once (6 for a pool of 3);
  expired:   4 checked out past their max_lifetime, shrunk to 1..1, then
             given back: psycopg_pool replaces each expired one (4 opened,
             3 of them surplus); only the last, within the size, is.
Prints one JSON object."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pgpool_stats_follow.psycopg_follower import FollowingConnectionPool  # noqa: E402


def settle(pool, deadline=10.0, after=0.5):
    # Openings run in psycopg_pool's worker threads: wait until the pool has
    # its min_size (a loaded machine may take long), then a little longer so
    # that surplus openings, had there been any, are counted too.
    give_up = time.monotonic() + deadline
    while pool.get_stats()["pool_size"] < pool.min_size and time.monotonic() < give_up:
        time.sleep(0.05)
    time.sleep(after)
    return pool.get_stats()["pool_size"]


def case(dsn, max_lifetime, steps):
    opened = []
    pool = FollowingConnectionPool(dsn, min_size=4, max_size=4, max_lifetime=max_lifetime,
                                   configure=lambda conn: opened.append(1),
                                   kwargs={"application_name": "shop-overflow"})
    pool.wait(10)
    held = [pool.getconn(10) for _ in range(4)]
    before = len(opened)
    steps(pool, held)
    size = settle(pool)
    pool.close()
    return {"opened": len(opened) - before, "pool_size": size}


def grow_min(pool, held):
    pool.resize(1, 2)
    pool.resize(3, 3)
    for conn in held:
        pool.putconn(conn)


def expired(pool, held):
    pool.resize(1, 1)
    time.sleep(1.2)
    for conn in held:
        pool.putconn(conn)


dsn = sys.argv[1]
print(json.dumps({"grow_min": case(dsn, 3600, grow_min), "expired": case(dsn, 1.0, expired)}))

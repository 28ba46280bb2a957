#!/usr/bin/python3
"""A service whose SQLAlchemy pool follows its budget.

Its pool is its own (SQLAlchemy's defaults: pool_size 5, max_overflow 10)
until pgpool_stats has something to say: a follower (clients/python,
pgpool_stats_follow) reads

    SELECT pgpool_stats.pool_config('<its application_name>', 'json')

at start-up, again whenever the application's budget changes (LISTEN
pgpool_stats_budget) and every 30 s, and keeps the QueuePool at its share of
the budget (the rule: clients/README.md). At start-up it also takes from the
recommendation what cannot change under a running pool: pool_timeout, and
PostgreSQL's own idle_in_transaction_session_timeout for its sessions when
one is recommended. Then it serves "requests" (a query each) from a few
threads for a while and prints what it did as JSON.

When the application has no budget, or the server knows too little about it
yet (insufficient_data, or never seen), it keeps its own size and says so.

Its role needs EXECUTE on pgpool_stats.pool_config (or pg_monitor):
    GRANT EXECUTE ON FUNCTION pgpool_stats.pool_config TO <role>;

    app.py --dsn "host=/var/run/postgresql dbname=postgres user=shop" --name shop-api
(--dsn must reach pgpool_stats.database, where budgets are announced.)
"""
import argparse
import json
import os
import sys
import threading
import time

import psycopg2
import sqlalchemy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from pgpool_stats_follow.sqlalchemy_follower import FollowingQueuePool, follow  # noqa: E402

SQLALCHEMY_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}


def session_settings(dsn, name):
    """What the recommendation fixes for the life of the engine: pool_timeout
    and the session settings. (None, config) when there is nothing to take."""
    with psycopg2.connect(dsn, application_name=name + "-start") as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT pgpool_stats.pool_config(%s, 'json')", (name,))
        except psycopg2.errors.UndefinedObject:  # never seen: nothing to recommend
            return None, None
        config = json.loads(cur.fetchone()[0])
    if config["insufficient_data"]:
        return None, config
    session = {"application_name": name}
    if config["idle_in_transaction_timeout_seconds"] is not None:
        session["options"] = ("-c idle_in_transaction_session_timeout=%d"
                              % (config["idle_in_transaction_timeout_seconds"] * 1000))
    return {"pool_timeout": config["pool_timeout_seconds"], "connect_args": session}, config


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", required=True, help="libpq connection string")
    p.add_argument("--name", required=True, help="application_name: the budget's name")
    p.add_argument("--threads", type=int, default=4, help="request threads")
    p.add_argument("--seconds", type=float, default=5, help="how long to serve")
    p.add_argument("--query", default="SELECT pg_sleep(0.2)", help="one request")
    p.add_argument("--floor", type=int, default=1, help="smallest recommended maximum accepted")
    p.add_argument("--ceiling", type=int, help="largest recommended maximum accepted")
    p.add_argument("--instances", type=int, help="instances of this service (default: as the server counts)")
    p.add_argument("--interval", type=float, default=30.0, help="the follower's slow timer, in seconds")
    args = p.parse_args()

    settings, config = session_settings(args.dsn, args.name)
    if settings is None:
        settings = {"pool_timeout": SQLALCHEMY_DEFAULTS["pool_timeout"],
                    "connect_args": {"application_name": args.name}}
    engine = sqlalchemy.create_engine(
        "postgresql+psycopg2://", poolclass=FollowingQueuePool,
        creator=lambda: psycopg2.connect(args.dsn, **settings["connect_args"]),
        pool_size=SQLALCHEMY_DEFAULTS["pool_size"], max_overflow=SQLALCHEMY_DEFAULTS["max_overflow"],
        pool_timeout=settings["pool_timeout"])
    # Sized now (the first reading), and kept at its share while it serves.
    # The follower's own session is named pgpool_stats_follow, like every
    # follower's: never charged to the application nor to a budget of its own.
    follower = follow(engine, args.name, args.dsn, floor=args.floor, ceiling=args.ceiling,
                      instances=args.instances, interval=args.interval)
    recommended = config is not None and not config["insufficient_data"] and \
        config["budget_max_connections"] is not None
    source = "pgpool_stats" if recommended else "defaults"
    if not recommended:
        if config is None:
            why = "it has never seen %s" % args.name
        elif config["budget_max_connections"] is None:
            why = "%s has no budget" % args.name
        else:  # insufficient_data: how much it saw, from the JSON
            why = ("it has seen %s for %s s and %s samples, too little to recommend"
                   % (args.name, config.get("observed_seconds"), config.get("samples")))
        print("pgpool_stats: %s; keeping the pool's own size (%s)" % (why, follower.target.reason),
              file=sys.stderr)

    served, failures, lock = [0], [], threading.Lock()
    deadline = time.monotonic() + args.seconds

    def serve():
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    conn.execute(sqlalchemy.text(args.query))
                with lock:
                    served[0] += 1
            except Exception as e:  # a request that failed is reported, not hidden
                with lock:
                    failures.append("%s: %s" % (type(e).__name__, str(e).splitlines()[0]))
                time.sleep(0.1)

    threads = [threading.Thread(target=serve) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    follower.stop()
    print(json.dumps({"source": source, "pool_size": engine.pool.size(),
                      "max_overflow": engine.pool._max_overflow,
                      "pool_timeout": engine.pool.timeout(),
                      "target": {"min_size": follower.target.min_size, "max_size": follower.target.max_size,
                                 "reason": follower.target.reason},
                      "resizes": len(follower.changes),
                      "recommendation": config, "served": served[0],
                      "failures": len(failures), "first_failures": failures[:3]}))
    engine.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""A service that sizes its SQLAlchemy QueuePool from what the server saw.

At start-up it asks PostgreSQL for its own recommendation,

    SELECT pgpool_stats.pool_config('<its application_name>', 'json')

and builds its engine from it: pool_size, max_overflow, pool_timeout, and the
session settings (application_name, so that its budget counts it; PostgreSQL's
own idle_in_transaction_session_timeout when one is recommended). Then it
serves "requests" (a query each) from a few threads for a while and prints
what it did as JSON.

When the server knows too little about it yet (finding insufficient_data, or
the application was never seen), it keeps SQLAlchemy's defaults and says so:
a new service learns its size on a later start.

Its role needs EXECUTE on pgpool_stats.pool_config (or pg_monitor):
    GRANT EXECUTE ON FUNCTION pgpool_stats.pool_config TO <role>;

    app.py --dsn "host=/var/run/postgresql dbname=shop user=shop" --name shop-api
"""
import argparse
import json
import sys
import threading
import time

import psycopg2
import sqlalchemy
from sqlalchemy.pool import QueuePool

SQLALCHEMY_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30}


def recommended_pool(dsn, name):
    """The engine keyword arguments pgpool_stats recommends, or None."""
    with psycopg2.connect(dsn, application_name=name) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT pgpool_stats.pool_config(%s, 'json')", (name,))
        except psycopg2.errors.UndefinedObject:  # never seen: nothing to recommend
            return None, None
        config = json.loads(cur.fetchone()[0])
    if "insufficient_data" in config["findings"]:
        return None, config
    session = {"application_name": name}
    if config["idle_in_transaction_timeout_seconds"] is not None:
        session["options"] = ("-c idle_in_transaction_session_timeout=%d"
                              % (config["idle_in_transaction_timeout_seconds"] * 1000))
    return {"pool_size": config["pool_size"], "max_overflow": config["max_overflow"],
            "pool_timeout": config["pool_timeout_seconds"], "connect_args": session}, config


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", required=True, help="libpq connection string")
    p.add_argument("--name", required=True, help="application_name: the budget's name")
    p.add_argument("--threads", type=int, default=4, help="request threads")
    p.add_argument("--seconds", type=float, default=5, help="how long to serve")
    p.add_argument("--query", default="SELECT pg_sleep(0.2)", help="one request")
    args = p.parse_args()

    engine_args, config = recommended_pool(args.dsn, args.name)
    source = "pgpool_stats"
    if engine_args is None:
        source = "defaults"
        engine_args = dict(SQLALCHEMY_DEFAULTS, connect_args={"application_name": args.name})
        if config is None:
            why = "it has never seen %s" % args.name
        else:  # insufficient_data: how much it saw, from the JSON
            why = ("it has seen %s for %s s and %s samples, too little to recommend"
                   % (args.name, config.get("observed_seconds"), config.get("samples")))
        print("pgpool_stats: %s; using SQLAlchemy's defaults" % why, file=sys.stderr)

    engine = sqlalchemy.create_engine(
        "postgresql+psycopg2://", poolclass=QueuePool,
        creator=lambda: psycopg2.connect(args.dsn, **engine_args["connect_args"]),
        pool_size=engine_args["pool_size"], max_overflow=engine_args["max_overflow"],
        pool_timeout=engine_args["pool_timeout"])

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
    print(json.dumps({"source": source, "pool_size": engine.pool.size(),
                      "max_overflow": engine_args["max_overflow"],
                      "pool_timeout": engine.pool.timeout(),
                      "recommendation": config, "served": served[0],
                      "failures": len(failures), "first_failures": failures[:3]}))
    engine.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

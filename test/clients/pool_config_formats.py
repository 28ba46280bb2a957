#!/usr/bin/python3
"""pool_config()'s Python formats handed to the real libraries: the text for
'sqlalchemy' is evaluated as create_engine() keyword arguments and the text
for 'psycopg_pool' as ConnectionPool() keyword arguments, exactly as a user
would paste them; each builds its pool, opens a pooled connection and reports
what the session runs with. Prints one JSON object keyed by client, with the
JSON form ("pool_config") read in the same statement as the texts.

The recommendation moves with every sample, so the three forms are read in
one statement, again until two readings in a row recommend the same: the
texts are then checked against the JSON of the same moment, not one read
earlier.
"""
import argparse
import json
import time

import psycopg2
import psycopg_pool
import sqlalchemy

from recommendation import recommended

SHOW = ("SELECT name, setting FROM pg_settings "
        "WHERE name IN ('application_name', 'idle_in_transaction_session_timeout')")


def keyword_arguments(text):
    return eval("dict(" + text + ")", {"__builtins__": {"dict": dict, "True": True}})


def read_together(cursor, app, attempts=50):
    """pool_config() as JSON and as both Python texts, from one moment: one
    statement, repeated until two in a row recommend the same (each call of
    pool_config() observes on its own)."""
    previous = None
    for _ in range(attempts):
        cursor.execute("SELECT pgpool_stats.pool_config(%s, 'json'), pgpool_stats.pool_config(%s, 'sqlalchemy'),"
                       " pgpool_stats.pool_config(%s, 'psycopg_pool')", (app, app, app))
        reading = cursor.fetchone()
        config = json.loads(reading[0])
        if recommended(config) == previous:
            return config, {"sqlalchemy": reading[1], "psycopg_pool": reading[2]}
        previous = recommended(config)
        time.sleep(0.05)
    raise SystemExit("pool_config(%r) recommended something else at each of %d readings; the last: %r"
                     % (app, attempts, reading[0]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--app", required=True)
    args = p.parse_args()
    dsn = "host=%s port=%d user=%s dbname=%s" % (args.host, args.port, args.user, args.dbname)

    with psycopg2.connect(dsn, application_name="pool-config-reader") as conn, conn.cursor() as c:
        config, texts = read_together(c, args.app)
    report = {"pool_config": config}

    kw = keyword_arguments(texts["sqlalchemy"])
    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg2", username=args.user, database=args.dbname,
        query={"host": args.host, "port": str(args.port)})
    engine = sqlalchemy.create_engine(url, **kw)
    with engine.connect() as conn:
        settings = dict(conn.execute(sqlalchemy.text(SHOW)).fetchall())
    report["sqlalchemy"] = {"pool_size": engine.pool.size(), "pool_timeout": engine.pool.timeout(),
                            "session": settings, "text": texts["sqlalchemy"]}
    engine.dispose()

    kw = keyword_arguments(texts["psycopg_pool"])
    with psycopg_pool.ConnectionPool(dsn, **kw) as pool:
        with pool.connection() as conn:
            settings = dict(conn.execute(SHOW).fetchall())
        report["psycopg_pool"] = {"min_size": pool.min_size, "max_size": pool.max_size,
                                  "timeout": pool.timeout, "session": settings,
                                  "text": texts["psycopg_pool"]}
    print(json.dumps(report))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""What real client libraries see when pgpool_stats refuses a login or reaps
a session. For each of asyncpg, psycopg2 and SQLAlchemy (over psycopg2):

  refused  log in as --app, whose budget is full: the exception class, its
           SQLSTATE as the library exposes it, the message;
  reaped   log in as --reaped-app (a budget with a short
           idle_in_transaction_timeout), BEGIN, run a query, sit idle in the
           transaction for --idle seconds, then run another query.

Prints one JSON object: {"asyncpg": {"refused": {...}, "reaped": {...}}, "psycopg2": {...}, ...}.
"""
import argparse
import asyncio
import json
import time

import asyncpg
import psycopg2
import sqlalchemy


def describe(e):
    return {"class": "%s.%s" % (type(e).__module__, type(e).__name__),
            "sqlstate": getattr(e, "sqlstate", None) or getattr(e, "pgcode", None),
            "message": str(e).strip().splitlines()[0] if str(e).strip() else ""}


async def with_asyncpg(args):
    kw = dict(host=args.host, port=args.port, user=args.user, database="postgres")
    out = {}
    try:
        conn = await asyncpg.connect(**kw, server_settings={"application_name": args.app})
        await conn.close()
        out["refused"] = {"class": None}
    except Exception as e:
        out["refused"] = describe(e)
    conn = await asyncpg.connect(**kw, server_settings={"application_name": args.reaped_app})
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SELECT 1")
    await asyncio.sleep(args.idle)
    try:
        await conn.execute("SELECT 1")
        out["reaped"] = {"class": None}
    except Exception as e:
        out["reaped"] = describe(e)
    conn.terminate()
    return out


def with_psycopg2(args):
    dsn = "host=%s port=%d user=%s dbname=postgres" % (args.host, args.port, args.user)
    out = {}
    try:
        psycopg2.connect(dsn, application_name=args.app).close()
        out["refused"] = {"class": None}
    except Exception as e:
        out["refused"] = describe(e)
    conn = psycopg2.connect(dsn, application_name=args.reaped_app)
    cur = conn.cursor()
    cur.execute("SELECT 1")  # psycopg2 opens the transaction itself
    time.sleep(args.idle)
    try:
        cur.execute("SELECT 1")
        out["reaped"] = {"class": None}
    except Exception as e:
        out["reaped"] = describe(e)
    return out


def with_sqlalchemy(args):
    dsn = "host=%s port=%d user=%s dbname=postgres" % (args.host, args.port, args.user)
    out = {}

    def engine(app, **kw):
        return sqlalchemy.create_engine(
            "postgresql+psycopg2://", creator=lambda: psycopg2.connect(dsn, application_name=app),
            **kw)

    try:
        with engine(args.app).connect():
            pass
        out["refused"] = {"class": None}
    except Exception as e:
        out["refused"] = describe(e)
    reaped = engine(args.reaped_app, pool_size=1, max_overflow=0)
    conn = reaped.connect()
    conn.execute(sqlalchemy.text("SELECT 1"))  # opens the transaction (autobegin)
    time.sleep(args.idle)
    try:
        conn.execute(sqlalchemy.text("SELECT 1"))
        out["reaped"] = {"class": None}
    except Exception as e:
        out["reaped"] = describe(e)
    conn.invalidate()
    # With pool_pre_ping the pool replaces a reaped connection before use.
    # (Returned to the pool after the reap, the dead connection is discarded
    # by the pool's reset; checked out again, pre-ping gives a fresh one.)
    pinged = engine(args.reaped_app, pool_size=1, max_overflow=0, pool_pre_ping=True)
    c = pinged.connect()
    c.execute(sqlalchemy.text("SELECT 1"))
    time.sleep(args.idle)
    c.close()
    with pinged.connect() as c:
        out["pre_ping_after_reap"] = c.execute(sqlalchemy.text("SELECT 42")).scalar()
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--app", required=True)
    p.add_argument("--reaped-app", required=True)
    p.add_argument("--idle", type=float, default=3)
    args = p.parse_args()
    print(json.dumps({"asyncpg": asyncio.run(with_asyncpg(args)),
                      "psycopg2": with_psycopg2(args), "sqlalchemy": with_sqlalchemy(args)}))


if __name__ == "__main__":
    main()

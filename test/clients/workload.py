#!/usr/bin/python3
"""Workloads of one application with a real client (asyncpg), for the tests of
the recommendations. Prints one JSON object when done:
{"queries": n, "rejected": n, "sqlstates": {...}, "pool": {...}, "session": {...},
 "config": text, "recommendation": {...}} (the last two with --settings-from).

  pool   BUSY workers loop on "SELECT pg_sleep(QUERY_SECONDS)" through an asyncpg
         pool of MIN_SIZE..MAX_SIZE connections opened on demand. A refused
         login (53300 and friends) is counted, and the worker retries a little
         later, as a real service would.
         --settings-from CLIENT takes the pool's keyword arguments from
         pgpool_stats.pool_config(APP, 'asyncpg') instead: the text is Python
         keyword arguments, evaluated as such and handed to asyncpg.create_pool;
         the JSON form read in the same statement is reported beside it.
  churn  log in, run one query, log out, RATE times per second: no client pool.
  leak   CONNECTIONS sessions each open a transaction, run one query and then
         sit idle in it for the whole run.
  names  COUNT short sessions (log in, one query, log out), CONCURRENCY at a
         time, each under a new application name APP-0, APP-1, ... (NAMES
         distinct, reused round-robin): applications churning by the thousand.
"""
import argparse
import asyncio
import collections
import json
import time

import asyncpg

from recommendation import recommended


class Outcome:
    def __init__(self):
        self.queries = 0
        self.rejected = 0
        self.sqlstates = collections.Counter()

    def refused(self, e):
        self.rejected += 1
        self.sqlstates[getattr(e, "sqlstate", type(e).__name__)] += 1


def connect_args(args):
    return dict(host=args.host, port=args.port, user=args.user, database=args.dbname)


async def pool_config_kwargs(args, attempts=50):
    """pool_config(APP, 'asyncpg') as keyword arguments, read by a separate admin
    session, with the JSON form from the same moment: the recommendation moves
    with every sample, so both are read in one statement, again until two in a
    row recommend the same (each call of pool_config() observes on its own)."""
    admin = await asyncpg.connect(**connect_args(args),
                                  server_settings={"application_name": "workload-admin"})
    try:
        previous = None
        for _ in range(attempts):
            text, config = await admin.fetchrow(
                "SELECT pgpool_stats.pool_config($1, 'asyncpg'), pgpool_stats.pool_config($1, 'json')", args.app)
            config = json.loads(config)
            if recommended(config) == previous:
                break
            previous = recommended(config)
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("pool_config(%r) recommended something else at each of %d readings" % (args.app, attempts))
    finally:
        await admin.close()
    kwargs = eval("dict(" + text + ")", {"__builtins__": {"dict": dict}})
    return text, config, kwargs


async def run_pool(args, out):
    if args.settings_from:
        text, out.recommendation, kwargs = await pool_config_kwargs(args)
        out.config = text
    else:
        kwargs = dict(min_size=args.min_size, max_size=args.max_size,
                      server_settings={"application_name": args.app})
    out.pool = {k: kwargs[k] for k in ("min_size", "max_size")}
    pool = None
    while pool is None:  # the first min_size logins may be refused too
        try:
            pool = await asyncpg.create_pool(**connect_args(args), **kwargs)
        except asyncpg.PostgresError as e:
            out.refused(e)
            await asyncio.sleep(0.1)
    async with pool.acquire() as conn:
        out.session = dict(await conn.fetch(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('application_name', 'idle_in_transaction_session_timeout')"))
    deadline = time.monotonic() + args.seconds

    async def worker():
        while time.monotonic() < deadline:
            try:
                async with pool.acquire(timeout=30) as conn:
                    await conn.execute(f"SELECT pg_sleep({args.query_seconds})")
                    out.queries += 1
            except asyncpg.PostgresError as e:
                out.refused(e)
                await asyncio.sleep(0.1)

    await asyncio.gather(*(worker() for _ in range(args.busy)))
    await pool.close()


async def run_churn(args, out):
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            conn = await asyncpg.connect(**connect_args(args),
                                         server_settings={"application_name": args.app})
            await conn.execute("SELECT 1")
            out.queries += 1
            await conn.close()
        except asyncpg.PostgresError as e:
            out.refused(e)
        await asyncio.sleep(max(0.0, 1.0 / args.rate - (time.monotonic() - started)))


async def run_leak(args, out):
    conns = [await asyncpg.connect(**connect_args(args),
                                   server_settings={"application_name": args.app})
             for _ in range(args.connections)]
    transactions = [conn.transaction() for conn in conns]
    for conn, tx in zip(conns, transactions):
        await tx.start()
        await conn.execute("SELECT 1")
        out.queries += 1
    await asyncio.sleep(args.seconds)
    for conn, tx in zip(conns, transactions):
        await tx.rollback()
        await conn.close()


async def run_names(args, out):
    counter = iter(range(args.count))

    async def one_at_a_time():
        for i in counter:
            try:
                conn = await asyncpg.connect(
                    **connect_args(args),
                    server_settings={"application_name": "%s-%d" % (args.app, i % args.names)})
                await conn.execute("SELECT 1")
                await conn.close()
                out.queries += 1
            except asyncpg.PostgresError as e:
                out.refused(e)

    await asyncio.gather(*(one_at_a_time() for _ in range(args.concurrency)))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["pool", "churn", "leak", "names"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--app", required=True)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--min-size", type=int, default=0)
    p.add_argument("--max-size", type=int, default=10)
    p.add_argument("--busy", type=int, default=1)
    p.add_argument("--query-seconds", type=float, default=0.2)
    p.add_argument("--settings-from", choices=["asyncpg"])
    p.add_argument("--rate", type=float, default=10)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--names", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()

    out = Outcome()
    out.pool, out.session, out.config, out.recommendation = {}, {}, None, None
    await {"pool": run_pool, "churn": run_churn, "leak": run_leak,
           "names": run_names}[args.mode](args, out)
    print(json.dumps({"queries": out.queries, "rejected": out.rejected,
                      "sqlstates": out.sqlstates, "pool": out.pool, "session": out.session,
                      "config": out.config, "recommendation": out.recommendation}))


if __name__ == "__main__":
    asyncio.run(main())

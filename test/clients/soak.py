#!/usr/bin/python3
"""Mixed load for the soak test (asyncpg), for --seconds:

  storms     every 1.5 s, 30 logins of "storm" at once, held 0.3 s
  churn      log in, one query, log out, cycling through --names distinct
             application names (more than max_applications: the "(other)" row)
  leaks      every 2 s, a session of "leaky" opens a transaction and sits in it
             for 3 s; the reaper (a 1 s timeout) should end it first
  budgets    every second, the budget of "storm" is set anew (5..15)
  terminate  every 2.5 s, the sessions of "storm" are pg_terminate_backend'ed
  late       every second, 8 sessions log in without a name and SET
             application_name = 'late' (budget 4), held 0.5 s: late naming
  line       every 1.5 s, 12 logins of "line" (budget 3, admission_timeout
             2 s) arrive 20 ms apart and hold 0.2 s: they wait in line

Prints one JSON object of what the clients saw, for the test to compare with
the server's counters: refusals (by SQLSTATE and application) and reaps.
"""
import argparse
import asyncio
import collections
import json
import random
import time

import asyncpg

seen = collections.Counter()


def connect(args, app, user=None):
    settings = {"application_name": app} if app is not None else {}
    return asyncpg.connect(host=args.host, port=args.port, user=user or args.user,
                           database="postgres", server_settings=settings)


def refused(app, e):
    seen["refused %s %s" % (app, getattr(e, "sqlstate", type(e).__name__))] += 1


async def one_storm_login(args):
    try:
        conn = await connect(args, "storm")
    except asyncpg.PostgresError as e:
        if e.sqlstate == "57P01":
            # A terminate round hit the login itself (pg_stat_activity shows
            # the name from the start): ended, not refused.
            seen["storm login terminated"] += 1
        else:
            refused("storm", e)
        return
    seen["storm admitted"] += 1
    await asyncio.sleep(0.3)
    try:
        await conn.close(timeout=5)
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
        seen["storm session terminated"] += 1


async def rounds(deadline, period, count, one):
    """Until the deadline: COUNT clients at once (one(k) for each), then a pause."""
    while time.monotonic() < deadline:
        await asyncio.gather(*(one(k) for k in range(count)))
        await asyncio.sleep(period)


def storms(args, deadline):
    return rounds(deadline, 1.5, 30, lambda k: one_storm_login(args))


async def churn(args, deadline):
    i = 0
    while time.monotonic() < deadline:
        app = "churn-%d" % (i % args.names)
        i += 1
        try:
            conn = await connect(args, app)
            await conn.execute("SELECT 1")
            await conn.close()
            seen["churn logins"] += 1
        except asyncpg.PostgresError as e:
            refused("churn", e)


async def one_late(args):
    conn = await connect(args, None)
    try:
        await conn.execute("SET application_name = 'late'")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        # asyncpg reads the FATAL of a refused late naming as the connection
        # being lost; the server counts it in late's rejected.
        seen["late refused"] += 1
        conn.terminate()
        return
    seen["late admitted"] += 1
    await asyncio.sleep(0.5)
    await conn.close()


def late(args, deadline):
    return rounds(deadline, 1.0, 8, lambda k: one_late(args))


async def one_in_line(args, delay):
    await asyncio.sleep(delay)
    try:
        conn = await connect(args, "line")
    except asyncpg.PostgresError as e:
        refused("line", e)
        return
    seen["line admitted"] += 1
    await asyncio.sleep(0.2)
    await conn.close()


def line(args, deadline):
    return rounds(deadline, 1.5, 12, lambda k: one_in_line(args, k * 0.02))


async def one_leak(args):
    conn = await connect(args, "leaky")
    tx = conn.transaction()
    await tx.start()
    await conn.execute("SELECT 1")
    seen["leaks"] += 1
    # Five times its 1 s timeout: room for a loaded machine's late samples.
    await asyncio.sleep(5)
    try:
        await conn.execute("SELECT 1")
        seen["leaks not reaped"] += 1
        await tx.rollback()
        await conn.close()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as e:
        seen["leaks reaped %s" % getattr(e, "sqlstate", "connection lost")] += 1
        conn.terminate()


async def leaks(args, deadline):
    tasks = []
    while time.monotonic() < deadline:
        tasks.append(asyncio.create_task(one_leak(args)))
        await asyncio.sleep(2)
    await asyncio.gather(*tasks)


async def admin_loop(args, deadline, period, sql, counter):
    admin = await connect(args, "soak-admin", user=args.admin)
    while time.monotonic() < deadline:
        await admin.execute(sql())
        seen[counter] += 1
        await asyncio.sleep(period)
    await admin.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--admin", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--names", type=int, default=300)
    args = p.parse_args()
    deadline = time.monotonic() + args.seconds
    await asyncio.gather(
        storms(args, deadline), churn(args, deadline), leaks(args, deadline),
        late(args, deadline), line(args, deadline),
        admin_loop(args, deadline, 1.0,
                   lambda: "SELECT pgpool_stats.set_budget('storm', %d)" % random.randint(5, 15),
                   "budget changes"),
        admin_loop(args, deadline, 2.5,
                   lambda: "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = 'storm'",
                   "terminate rounds"))
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/python3
"""follow_under_load.py LIBRARY ...: one follower, a pool of the real library
and a workload through it, while the budget of the application changes.

LIBRARY: psycopg_pool, psycopg_pool_async, sqlalchemy, asyncpg, pgbouncer.
A step "kill:N" ends the follower's own session first, then sets budget N.

The application starts with budget --budget; WORKERS threads (or tasks) loop
on a short query through the pool. Then each of --steps is committed on an
admin session (a number: set_budget(APP, n); "drop": drop_budget(APP)), and
this measures, from the commit:
  applied_after   when the follower had applied the size it computed,
  within_after    when the pool held no more connections than that size
                  (the pool's own count; for PgBouncer, its server connections),
  ledger_within_after  when pgpool_stats.applications, too, counted no more
                  than that size (the pool forgets a connection before its
                  backend has exited),
and then, for --hold seconds, samples the pool and the ledger: the most each
held (after a raised budget, on until the pool reached its new size, up to
--deadline from the commit). Every error the workload saw is kept with its SQLSTATE and when it
happened (relative to the last step, and whether that step had settled).
Prints one JSON object.

For pgbouncer, --bouncer-port is a running PgBouncer whose ini includes
--include as its last line, with admin user postgres; the workload connects
through it with dbname=APP, and --server is what PgBouncer connects to.
"""
import argparse
import asyncio
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import psycopg2  # noqa: E402

from pgpool_stats_follow.rule import Sizing  # noqa: E402


def sqlstate_of(e):
    for attr in ("sqlstate", "pgcode"):
        v = getattr(e, attr, None)
        if v:
            return v
    cause = getattr(e, "orig", None) or e.__cause__
    if cause is not None and cause is not e:
        return sqlstate_of(cause)
    return type(e).__name__


class Workload:
    """Errors and queries of the workers, stamped against the current step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queries = 0
        self.errors = []
        self.step = None          # (index, monotonic start)
        self.settled = False      # the current step's pool is within its size
        self.stop = threading.Event()

    def served(self):
        with self.lock:
            self.queries += 1

    def failed(self, e):
        with self.lock:
            step, start = self.step if self.step else (-1, time.monotonic())
            self.errors.append({"step": step, "after": round(time.monotonic() - start, 3),
                                "settled": self.settled, "sqlstate": sqlstate_of(e),
                                "error": (str(e).strip().splitlines() or [type(e).__name__])[0][:200]})


# ---- the libraries -----------------------------------------------------------------------------

class SyncPool:
    """Threads; subclasses give open(), checkout_query(), size(), max_size(), follow(), close()."""
    asynchronous = False

    def run_workers(self, workload, n, query):
        def work():
            while not workload.stop.is_set():
                try:
                    self.checkout_query(query)
                    workload.served()
                except Exception as e:
                    workload.failed(e)
                    time.sleep(0.05)
        self.threads = [threading.Thread(target=work, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def join_workers(self):
        for t in self.threads:
            t.join(30)

    def call(self, fn, *args):
        return fn(*args)


class AsyncPool:
    """An event loop in its own thread; subclasses give coroutines and their
    library's follow()."""
    asynchronous = True

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.loop_thread.start()

    def call(self, coro_fn, *args):
        async def run():
            r = coro_fn(*args)
            return await r if asyncio.iscoroutine(r) else r
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)

    def run_workers(self, workload, n, query):
        async def work():
            while not workload.stop.is_set():
                try:
                    await self.checkout_query(query)
                    workload.served()
                except Exception as e:
                    workload.failed(e)
                    await asyncio.sleep(0.05)

        async def start():
            return [asyncio.ensure_future(work()) for _ in range(n)]
        self.tasks = self.call(start)

    def join_workers(self):
        async def join():
            await asyncio.wait(self.tasks, timeout=30)
        self.call(join)

    def max_size(self):
        return self.call(lambda: self.pool.max_size)

    def follow(self, a, sizing):
        follow = self.follow_function()
        self.follower = self.call(lambda: follow(self.pool, a.app, a.budget_dsn, floor=sizing.floor,
                                                 ceiling=sizing.ceiling, instances=sizing.instances,
                                                 interval=a.interval))

    def close(self):
        self.call(self.follower.stop_async)
        self.call(self.pool.close)


class PsycopgPool(SyncPool):
    def open(self, a, sizing):
        from pgpool_stats_follow.psycopg_follower import FollowingConnectionPool
        self.pool = FollowingConnectionPool(a.conninfo, min_size=sizing.min_size, max_size=sizing.max_size,
                                            kwargs={"application_name": a.app}, timeout=30, open=True)
        self.pool.wait(10)

    def checkout_query(self, query):
        with self.pool.connection() as conn:
            conn.execute(query)

    def size(self):
        return self.pool.get_stats()["pool_size"]

    def max_size(self):
        return self.pool.max_size

    def follow(self, a, sizing):
        from pgpool_stats_follow.psycopg_follower import follow
        self.follower = follow(self.pool, a.app, a.budget_dsn, floor=sizing.floor, ceiling=sizing.ceiling,
                               instances=sizing.instances, interval=a.interval)

    def close(self):
        self.follower.stop()
        self.pool.close()


class PsycopgPoolAsync(AsyncPool):
    def open(self, a, sizing):
        from pgpool_stats_follow.psycopg_follower import AsyncFollowingConnectionPool

        async def opened():
            pool = AsyncFollowingConnectionPool(a.conninfo, min_size=sizing.min_size,
                                                max_size=sizing.max_size,
                                                kwargs={"application_name": a.app}, timeout=30, open=False)
            await pool.open(wait=True, timeout=10)
            return pool
        self.pool = self.call(opened)

    async def checkout_query(self, query):
        async with self.pool.connection() as conn:
            await conn.execute(query)

    def size(self):
        return self.call(lambda: self.pool.get_stats()["pool_size"])

    def follow_function(self):
        from pgpool_stats_follow.psycopg_follower import follow_async
        return follow_async


class SqlAlchemyPool(SyncPool):
    def open(self, a, sizing):
        import sqlalchemy
        from pgpool_stats_follow.sqlalchemy_follower import FollowingQueuePool
        self.sqlalchemy = sqlalchemy
        self.engine = sqlalchemy.create_engine(
            "postgresql+psycopg2://", poolclass=FollowingQueuePool,
            creator=lambda: psycopg2.connect(a.conninfo, application_name=a.app),
            pool_size=max(1, sizing.min_size), max_overflow=sizing.max_size - max(1, sizing.min_size),
            pool_timeout=30)

    def checkout_query(self, query):
        with self.engine.connect() as conn:
            conn.execute(self.sqlalchemy.text(query))

    def size(self):
        return self.engine.pool.connections()

    def max_size(self):
        return self.engine.pool.size() + self.engine.pool._max_overflow

    def follow(self, a, sizing):
        from pgpool_stats_follow.sqlalchemy_follower import follow
        self.follower = follow(self.engine, a.app, a.budget_dsn, floor=sizing.floor, ceiling=sizing.ceiling,
                               instances=sizing.instances, interval=a.interval)

    def close(self):
        self.follower.stop()
        self.engine.dispose()


class AsyncpgPool(AsyncPool):
    def open(self, a, sizing):
        from pgpool_stats_follow.asyncpg_follower import FollowingPool

        async def opened():
            return await FollowingPool(min_size=sizing.min_size, max_size=sizing.max_size, host=a.host,
                                       port=a.port, user=a.user, database=a.dbname,
                                       server_settings={"application_name": a.app}).open()
        self.pool = self.call(opened)

    async def checkout_query(self, query):
        async with self.pool.acquire(timeout=30) as conn:
            await conn.execute(query)

    def size(self):
        return self.call(self.pool.get_size)

    def follow_function(self):
        from pgpool_stats_follow.asyncpg_follower import follow
        return follow


class PgBouncerPool(SyncPool):
    """Clients of PgBouncer (psycopg2, one client connection per worker); the
    pool is PgBouncer's, followed by PgBouncerFollower."""

    def open(self, a, sizing):
        self.a = a
        self.local = threading.local()

    def client(self):
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg2.connect(host="127.0.0.1", port=self.a.bouncer_port, dbname=self.a.app,
                                    user=self.a.user, application_name="behind-pgbouncer")
            conn.autocommit = True
            self.local.conn = conn
        return conn

    def checkout_query(self, query):
        conn = self.client()
        try:
            with conn.cursor() as cur:
                cur.execute(query)
        except psycopg2.Error:
            conn.close()
            raise

    def admin(self, sql):
        conn = psycopg2.connect(host="127.0.0.1", port=self.a.bouncer_port, dbname="pgbouncer", user="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                cols = [d[0] for d in cur.description]
                return [dict(zip(cols, row)) for row in cur.fetchall()]
        finally:
            conn.close()

    def size(self):
        return sum(r["sv_active"] + r["sv_idle"] + r["sv_used"] + r["sv_tested"] + r["sv_login"]
                   for r in self.admin("SHOW POOLS") if r["database"] == self.a.app)

    def max_size(self):
        rows = [r for r in self.admin("SHOW DATABASES") if r["name"] == self.a.app]
        return rows[0]["pool_size"] if rows else None

    def follow(self, a, sizing):
        from pgpool_stats_follow.pgbouncer_follower import PgBouncerFollower
        admin = "host=127.0.0.1 port=%s dbname=pgbouncer user=postgres" % a.bouncer_port
        self.follower = PgBouncerFollower(a.budget_dsn, a.server, admin, a.include, [a.app], sizing,
                                          interval=a.interval).start()

    def close(self):
        self.follower.stop()


LIBRARIES = {"psycopg_pool": PsycopgPool, "psycopg_pool_async": PsycopgPoolAsync,
             "sqlalchemy": SqlAlchemyPool, "asyncpg": AsyncpgPool, "pgbouncer": PgBouncerPool}


# ---- the scenario ------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("library", choices=sorted(LIBRARIES))
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True)
    p.add_argument("--user", default="app", help="the pool's role")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--app", required=True)
    p.add_argument("--admin-user", default="postgres", help="who changes budgets")
    p.add_argument("--budget", type=int, required=True, help="the budget at the start")
    p.add_argument("--steps", required=True, help="comma-separated: a budget, or drop")
    p.add_argument("--min-size", type=int, default=2)
    p.add_argument("--max-size", type=int, default=10)
    p.add_argument("--floor", type=int, default=1)
    p.add_argument("--ceiling", type=int)
    p.add_argument("--instances", type=int)
    p.add_argument("--interval", type=float, default=30.0, help="the followers' slow timer")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--query", default="SELECT pg_sleep(0.02)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of load before the first step")
    p.add_argument("--hold", type=float, default=1.5, help="seconds sampled after each step settles")
    p.add_argument("--deadline", type=float, default=20.0, help="seconds a step may take to settle")
    p.add_argument("--watch-host", help="where the follower reads budgets (default --host): a standby, say")
    p.add_argument("--watch-port")
    p.add_argument("--bouncer-port")
    p.add_argument("--server", help="pgbouncer: what PgBouncer connects to")
    p.add_argument("--include", help="pgbouncer: the include file")
    a = p.parse_args()
    a.conninfo = "host=%s port=%s dbname=%s user=%s" % (a.host, a.port, a.dbname, a.user)
    # The watcher reads pool_config as the admin; it LISTENs in the budget database.
    a.budget_dsn = "host=%s port=%s dbname=postgres user=%s" % (
        a.watch_host or a.host, a.watch_port or a.port, a.admin_user)
    admin_dsn = "host=%s port=%s dbname=postgres user=%s" % (a.host, a.port, a.admin_user)
    sizing = Sizing(a.min_size, a.max_size, floor=a.floor, ceiling=a.ceiling, instances=a.instances)

    admin = psycopg2.connect(admin_dsn, application_name="follow-admin")
    admin.autocommit = True
    cur = admin.cursor()

    def ledger():
        cur.execute("SELECT connections, max_connections, rejected FROM pgpool_stats.applications "
                    "WHERE application_name = %s", (a.app,))
        row = cur.fetchone()
        return row if row else (0, None, 0)

    cur.execute("SELECT pgpool_stats.set_budget(%s, %s)", (a.app, a.budget))
    if a.watch_host or a.watch_port:  # a standby: wait until it has the budget
        with psycopg2.connect(a.budget_dsn) as watched, watched.cursor() as wcur:
            for _ in range(400):
                wcur.execute("SELECT max_connections FROM pgpool_stats.applications "
                             "WHERE application_name = %s", (a.app,))
                row = wcur.fetchone()
                if row and row[0] == a.budget:
                    break
                time.sleep(0.05)
    lib = LIBRARIES[a.library]()
    lib.open(a, sizing)
    lib.follow(a, sizing)
    follower = lib.follower
    result = {"library": a.library, "start": {"budget": a.budget, "max_size": lib.max_size()}}
    workload = Workload()
    lib.run_workers(workload, a.workers, a.query)
    time.sleep(a.warmup)
    result["start"]["size"] = lib.size()
    steps = []
    prev_budget = a.budget
    for index, step in enumerate(a.steps.split(",")):
        changes_before = len(follower.changes)
        with workload.lock:
            workload.step, workload.settled = (index, time.monotonic()), False
        rejected_before = ledger()[2]
        t0 = time.monotonic()  # before the commit: the announcement may beat its reply
        change = step
        if step.startswith("kill:"):
            # The follower's session ends first: the change is committed while
            # it is away, and must be caught when it reconnects.
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'pgpool_stats_follow'")
            change = step[len("kill:"):]
        if change == "drop":
            cur.execute("SELECT pgpool_stats.drop_budget(%s)", (a.app,))
            budget = None
        else:
            budget = int(change)
            cur.execute("SELECT pgpool_stats.set_budget(%s, %s)", (a.app, budget))
        r = {"step": step, "budget": budget}
        deadline = t0 + a.deadline
        applied = within = ledger_within = None
        while time.monotonic() < deadline and None in (applied, within, ledger_within):
            now = time.monotonic()
            if applied is None and len(follower.changes) > changes_before:
                applied = follower.changes[-1][0] - t0
            # Asked once the size is applied (PgBouncer: an admin query);
            # PgBouncer lists no entry for a moment while it reloads.
            size_now = lib.max_size() if applied is not None else None
            if within is None and size_now is not None and lib.size() <= size_now:
                within = time.monotonic() - t0
            # The pool forgets a connection before its backend has exited:
            # the server is settled once it, too, counts no more than the
            # pool's new size.
            if ledger_within is None and within is not None and size_now is not None:
                connections, _, _ = ledger()
                if connections <= size_now:
                    ledger_within = time.monotonic() - t0
            time.sleep(0.01)
        with workload.lock:
            workload.settled = within is not None
        r.update(applied_after=applied, within_after=within, ledger_within_after=ledger_within,
                 max_size=lib.max_size())
        t = follower.targets.get(a.app) if hasattr(follower, "targets") else follower.target
        r["target"] = (t.min_size, t.max_size) if t else None
        cur.execute("SELECT pgpool_stats.pool_config(%s, 'json', %s)", (a.app, a.instances))
        seen = json.loads(cur.fetchone()[0])
        r.update(insufficient_data=seen["insufficient_data"], instance_share=seen["instance_share"])
        # Settled: sample what the pool and the server hold.
        sizes, ledgers, end = [], [], time.monotonic() + a.hold
        while time.monotonic() < end:
            sizes.append(lib.size())
            ledgers.append(ledger()[0])
            time.sleep(0.05)
        # A raised budget: growth needs the load to reach the new size, which
        # on a busy machine may take longer than --hold; wait for it up to
        # the step's deadline, sampling on.
        if budget is not None and prev_budget is not None and budget > prev_budget:
            grown = min(lib.max_size(), a.workers)
            while max(sizes) < grown and time.monotonic() < deadline:
                sizes.append(lib.size())
                ledgers.append(ledger()[0])
                time.sleep(0.05)
        prev_budget = budget
        r.update(pool_max=max(sizes), ledger_max=max(ledgers), ledger_samples=len(ledgers),
                 rejected=ledger()[2] - rejected_before,
                 replacements=getattr(getattr(lib, "pool", None), "replacements", None))
        steps.append(r)
    result["steps"] = steps
    workload.stop.set()
    lib.join_workers()
    result.update(queries=workload.queries, errors=workload.errors[:20], error_count=len(workload.errors),
                  readings=follower.watcher.readings, announcements=follower.watcher.announcements,
                  reconnections=follower.watcher.reconnections,
                  standby=follower.watcher.standby)
    lib.close()
    cur.execute("SELECT pgpool_stats.drop_budget(%s)", (a.app,))
    admin.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

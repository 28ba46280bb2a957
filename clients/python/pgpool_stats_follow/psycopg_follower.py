"""psycopg_pool (psycopg 3): ConnectionPool and AsyncConnectionPool that follow
their budget.

psycopg_pool's resize(min_size, max_size) changes the limits, but a pool that
holds more than its new max_size keeps those connections until they have been
idle for max_idle (10 minutes by default, one at a time). The pools here add
what following a smaller budget needs, and nothing else:

  * resize() closes idle connections beyond max_size at once;
  * a connection given back while the pool holds more than max_size is
    closed instead of kept, and not replaced (psycopg_pool would replace an
    expired or broken one); a waiting client gets the next one: it waits in
    the pool, as it would for any busy pool, and is never refused by the
    server, since the pool opens nothing while it is over its size;
  * resize() opens only what the pool lacks up to its new min_size
    (psycopg_pool's opens the difference of the min_sizes, even over
    max_size).

Checked-out connections are never closed under their user. This touches
psycopg_pool's internal state (_lock, _pool, _nconns, _nconns_min,
_min_size, _max_size, _closed) and methods (_add_to_pool,
_return_connection, _check_size, run_task, AddConnection), as its own
shrinking does; every one is checked at import (psycopg_pool 3.1).

    pool = FollowingConnectionPool(conninfo, min_size=2, max_size=10,
                                   kwargs={"application_name": "checkout"})
    follower = follow(pool, "checkout", budget_dsn, floor=2, ceiling=20)
    ...
    follower.stop(); pool.close()
"""
import logging

import psycopg_pool
import psycopg_pool.pool
import psycopg_pool.pool_async

from .follower import AsyncResizingFollower, ResizingFollower
from .rule import Sizing

logger = logging.getLogger("pgpool_stats_follow")

# Everything of psycopg_pool 3.1 the pools below rely on: its methods they
# override or call, and (on an open pool, checked in _check_internals) the
# state they read and change.
_METHODS = ("_add_to_pool", "_return_connection", "resize", "_check_size", "run_task")
_STATE = ("_lock", "_pool", "_nconns", "_nconns_min", "_min_size", "_max_size", "_closed")
for _cls in (psycopg_pool.ConnectionPool, psycopg_pool.AsyncConnectionPool):
    for _attr in _METHODS:
        if not hasattr(_cls, _attr):
            raise ImportError("psycopg_pool %s has no %s.%s: pgpool_stats_follow supports psycopg_pool 3.1"
                              % (getattr(psycopg_pool, "__version__", "?"), _cls.__name__, _attr))
for _mod in (psycopg_pool.pool, psycopg_pool.pool_async):
    if not hasattr(_mod, "AddConnection"):
        raise ImportError("psycopg_pool %s has no %s.AddConnection: pgpool_stats_follow supports "
                          "psycopg_pool 3.1" % (getattr(psycopg_pool, "__version__", "?"), _mod.__name__))
# The state is set in __init__: read it on a pool that is never opened.
_probe = psycopg_pool.ConnectionPool("", open=False) if "open" in \
    psycopg_pool.ConnectionPool.__init__.__code__.co_varnames else None
if _probe is not None:
    _lacking = [a for a in _STATE if not hasattr(_probe, a)]
    if _lacking:
        raise ImportError("psycopg_pool %s lacks %s: pgpool_stats_follow supports psycopg_pool 3.1"
                          % (getattr(psycopg_pool, "__version__", "?"), ", ".join(_lacking)))
del _probe


class FollowingConnectionPool(psycopg_pool.ConnectionPool):
    def resize(self, min_size, max_size=None):
        # psycopg_pool's resize() opens (new min_size - old min_size)
        # connections even when the pool already holds that many or more
        # than max_size: open only what is missing up to min_size.
        min_size, max_size = self._check_size(min_size, max_size)
        with self._lock:
            self._min_size, self._max_size = min_size, max_size
            ngrow = max(0, min(min_size, max_size) - self._nconns)
            self._nconns += ngrow
        logger.debug("resizing %r to min_size=%s max_size=%s", self.name, min_size, max_size)
        for _ in range(ngrow):
            self.run_task(psycopg_pool.pool.AddConnection(self))
        self.trim()

    def trim(self):
        """Closes idle connections while the pool holds more than max_size."""
        surplus = []
        with self._lock:
            while self._pool and self._nconns > self._max_size:
                surplus.append(self._pool.popleft())  # the least recently used go first
                self._nconns -= 1
            self._nconns_min = min(self._nconns_min, len(self._pool))
        for conn in surplus:
            conn.close()

    def _surplus(self):
        """True (and counted out) when a returned connection is one too many."""
        with self._lock:
            surplus = not self._closed and self._nconns > self._max_size
            if surplus:
                self._nconns -= 1
        return surplus

    def _closed_as_surplus(self, conn):
        # While over its size, a connection coming back closes without a
        # replacement, an expired or broken one too (psycopg_pool would open
        # a new one for it).
        if not self._surplus():
            return False
        conn._pool = None
        conn.close()
        return True

    def _return_connection(self, conn):
        if not self._closed_as_surplus(conn):
            super()._return_connection(conn)

    def _add_to_pool(self, conn):
        if not self._closed_as_surplus(conn):
            super()._add_to_pool(conn)


class AsyncFollowingConnectionPool(psycopg_pool.AsyncConnectionPool):
    async def resize(self, min_size, max_size=None):
        min_size, max_size = self._check_size(min_size, max_size)
        async with self._lock:
            self._min_size, self._max_size = min_size, max_size
            ngrow = max(0, min(min_size, max_size) - self._nconns)
            self._nconns += ngrow
        logger.debug("resizing %r to min_size=%s max_size=%s", self.name, min_size, max_size)
        for _ in range(ngrow):
            self.run_task(psycopg_pool.pool_async.AddConnection(self))
        await self.trim()

    async def trim(self):
        """Closes idle connections while the pool holds more than max_size."""
        surplus = []
        async with self._lock:
            while self._pool and self._nconns > self._max_size:
                surplus.append(self._pool.popleft())
                self._nconns -= 1
            self._nconns_min = min(self._nconns_min, len(self._pool))
        for conn in surplus:
            await conn.close()

    async def _surplus(self):
        async with self._lock:
            surplus = not self._closed and self._nconns > self._max_size
            if surplus:
                self._nconns -= 1
        return surplus

    async def _closed_as_surplus(self, conn):
        if not await self._surplus():
            return False
        conn._pool = None
        await conn.close()
        return True

    async def _return_connection(self, conn):
        if not await self._closed_as_surplus(conn):
            await super()._return_connection(conn)

    async def _add_to_pool(self, conn):
        if not await self._closed_as_surplus(conn):
            await super()._add_to_pool(conn)


def _sizing(pool, floor, ceiling, instances):
    # The pool as the service built it is its own size without a budget.
    return Sizing(pool.min_size, pool.max_size, floor=floor, ceiling=ceiling, instances=instances)


def follow(pool, application_name, dsn, *, floor=1, ceiling=None, instances=None, interval=30.0,
           connect_kwargs=None):
    """Starts following for a FollowingConnectionPool; returns the follower
    (stop() it before closing the pool)."""
    if not isinstance(pool, FollowingConnectionPool):
        raise TypeError("follow() needs a FollowingConnectionPool (a plain ConnectionPool keeps "
                        "connections beyond a smaller max_size for up to max_idle)")
    return ResizingFollower(pool, application_name, dsn, _sizing(pool, floor, ceiling, instances),
                            interval=interval, connect_kwargs=connect_kwargs).start()


async def follow_async(pool, application_name, dsn, *, floor=1, ceiling=None, instances=None,
                       interval=30.0, connect_kwargs=None):
    """The same for an AsyncFollowingConnectionPool, from its event loop."""
    if not isinstance(pool, AsyncFollowingConnectionPool):
        raise TypeError("follow_async() needs an AsyncFollowingConnectionPool")
    follower = AsyncResizingFollower(pool, application_name, dsn,
                                     _sizing(pool, floor, ceiling, instances),
                                     interval=interval, connect_kwargs=connect_kwargs)
    return await follower.start_async()

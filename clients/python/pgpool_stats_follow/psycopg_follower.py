"""psycopg_pool (psycopg 3): ConnectionPool and AsyncConnectionPool that follow
their budget.

psycopg_pool's resize(min_size, max_size) changes the limits, but a pool that
holds more than its new max_size keeps those connections until they have been
idle for max_idle (10 minutes by default, one at a time). The pools here add
what following a smaller budget needs, and nothing else:

  * resize() closes idle connections beyond max_size at once;
  * a connection given back while the pool holds more than max_size is
    closed instead of kept (a waiting client gets the next one: it waits in
    the pool, as it would for any busy pool, and is never refused by the
    server, since the pool opens nothing while it is over its size).

Checked-out connections are never closed under their user. This touches
psycopg_pool's internal state (_lock, _pool, _nconns, _max_size,
_add_to_pool), as its own shrinking does; checked against psycopg_pool 3.1
at import.

    pool = FollowingConnectionPool(conninfo, min_size=2, max_size=10,
                                   kwargs={"application_name": "checkout"})
    follower = follow(pool, "checkout", budget_dsn, floor=2, ceiling=20)
    ...
    follower.stop(); pool.close()
"""
import psycopg_pool

from .follower import AsyncFollower, Follower
from .rule import Sizing

for _cls, _attrs in ((psycopg_pool.ConnectionPool, ("_add_to_pool", "resize")),
                     (psycopg_pool.AsyncConnectionPool, ("_add_to_pool", "resize"))):
    for _attr in _attrs:
        if not hasattr(_cls, _attr):
            raise ImportError("psycopg_pool %s has no %s.%s: pgpool_stats_follow supports psycopg_pool 3.1"
                              % (getattr(psycopg_pool, "__version__", "?"), _cls.__name__, _attr))


class FollowingConnectionPool(psycopg_pool.ConnectionPool):
    def resize(self, min_size, max_size=None):
        super().resize(min_size, max_size)
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

    def _add_to_pool(self, conn):
        with self._lock:
            surplus = not self._closed and self._nconns > self._max_size
            if surplus:
                self._nconns -= 1
        if surplus:
            conn._pool = None
            conn.close()
            return
        super()._add_to_pool(conn)


class AsyncFollowingConnectionPool(psycopg_pool.AsyncConnectionPool):
    async def resize(self, min_size, max_size=None):
        await super().resize(min_size, max_size)
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

    async def _add_to_pool(self, conn):
        async with self._lock:
            surplus = not self._closed and self._nconns > self._max_size
            if surplus:
                self._nconns -= 1
        if surplus:
            conn._pool = None
            await conn.close()
            return
        await super()._add_to_pool(conn)


def _sizing(pool, floor, ceiling, instances):
    # The pool as the service built it is its own size without a budget.
    return Sizing(pool.min_size, pool.max_size, floor=floor, ceiling=ceiling, instances=instances)


class PoolFollower(Follower):
    def __init__(self, pool, application_name, dsn, sizing, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.pool = pool

    def apply(self, t):
        self.pool.resize(t.min_size, t.max_size)


class AsyncPoolFollower(AsyncFollower):
    def __init__(self, pool, application_name, dsn, sizing, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.pool = pool

    async def apply_async(self, t):
        await self.pool.resize(t.min_size, t.max_size)


def follow(pool, application_name, dsn, *, floor=1, ceiling=None, instances=None, interval=30.0,
           connect_kwargs=None):
    """Starts following for a FollowingConnectionPool; returns the follower
    (stop() it before closing the pool)."""
    if not isinstance(pool, FollowingConnectionPool):
        raise TypeError("follow() needs a FollowingConnectionPool (a plain ConnectionPool keeps "
                        "connections beyond a smaller max_size for up to max_idle)")
    return PoolFollower(pool, application_name, dsn, _sizing(pool, floor, ceiling, instances),
                        interval=interval, connect_kwargs=connect_kwargs).start()


async def follow_async(pool, application_name, dsn, *, floor=1, ceiling=None, instances=None,
                       interval=30.0, connect_kwargs=None):
    """The same for an AsyncFollowingConnectionPool, from its event loop."""
    if not isinstance(pool, AsyncFollowingConnectionPool):
        raise TypeError("follow_async() needs an AsyncFollowingConnectionPool")
    follower = AsyncPoolFollower(pool, application_name, dsn, _sizing(pool, floor, ceiling, instances),
                                 interval=interval, connect_kwargs=connect_kwargs)
    return await follower.start_async()

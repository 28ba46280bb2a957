"""asyncpg: a pool that follows its budget.

asyncpg.Pool has a fixed size (min_size, max_size at creation) and no resize.
FollowingPool wraps one and resizes by replacement:

  * resize(min_size, max_size) creates a new asyncpg pool of the new size and
    sends new acquisitions to it; the old pool is retired: its idle
    connections are closed at once, the ones it lent are expired (asyncpg
    closes each when it is released, instead of keeping it), and it is
    closed with Pool.close(), which waits until every connection it lent is
    back. Checked-out connections are never closed under their user, and
    only they count against the new size while they are out.
  * Acquisitions are counted across the pools: never more connections lent
    than max_size, and while a retired pool still holds connections, the new
    one may open a connection only while the two together hold fewer than
    max_size. An acquisition that finds no room waits, up to its timeout, as
    on any busy pool: the server never sees more than the new size, so no
    login is refused for the replacement.

So the pool is within its new size as soon as the acquisitions in flight at
the change are released: the follow time is bounded by the longest
acquisition then in flight (plus opening the new pool's min_size
connections). Every change replaces the pool's connections, a grown budget
too (asyncpg cannot grow a pool either).

Only `async with pool.acquire() as conn` is supported (no pool.fetch(),
pool.execute() or await pool.acquire() / pool.release()): the pool counts
what it lends through that context manager.

    pool = FollowingPool(dsn, min_size=2, max_size=10, server_settings={"application_name": "checkout"})
    await pool.open()
    follower = await follow(pool, "checkout", budget_dsn, floor=2, ceiling=20)
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
    await follower.stop_async(); await pool.close()
"""
import asyncio

import asyncpg

from .follower import AsyncResizingFollower
from .rule import Sizing

# What of asyncpg's privates a retirement relies on (asyncpg 0.27): fail at
# import, not at the first shrink.
_MISSING = [n for n in ("_queue", "_holders") if n not in getattr(asyncpg.pool.Pool, "__slots__", ())]
_MISSING += [n for n in ("_con", "_maybe_cancel_inactive_callback", "close")
             if not hasattr(asyncpg.pool.PoolConnectionHolder, n)
             and n not in getattr(asyncpg.pool.PoolConnectionHolder, "__slots__", ())]
if _MISSING:
    raise ImportError("pgpool_stats_follow.asyncpg_follower needs asyncpg's Pool internals %s, which "
                      "this asyncpg (%s) lacks" % (", ".join(_MISSING), asyncpg.__version__))


class _Acquisition:
    def __init__(self, owner, timeout):
        self.owner, self.timeout = owner, timeout
        self.pool = self.connection = None

    async def __aenter__(self):
        self.pool, self.connection = await self.owner._acquire(self.timeout)
        return self.connection

    async def __aexit__(self, *exc):
        await self.owner._release(self.pool, self.connection)


class FollowingPool:
    def __init__(self, dsn=None, *, min_size=10, max_size=10, **pool_kwargs):
        self.dsn, self.pool_kwargs = dsn, pool_kwargs
        self.min_size, self.max_size = min_size, max_size
        self.pool = None          # the asyncpg pool acquisitions go to
        self.retiring = []        # replaced pools not yet closed
        self.lent = 0             # connections acquired and not yet released, from any pool
        self.replacements = 0
        self._room = None         # asyncio.Condition over the counts above
        self._resizing = None
        self._swapping = False

    async def open(self):
        self._room = asyncio.Condition()
        self._resizing = asyncio.Lock()
        self.pool = await asyncpg.create_pool(self.dsn, min_size=self.min_size, max_size=self.max_size,
                                              **self.pool_kwargs)
        return self

    def get_size(self):
        """Connections open now: the current pool's and the retiring ones'."""
        return self.pool.get_size() + self._retiring_size()

    def _retiring_size(self):
        return sum(p.get_size() for p in self.retiring)

    def acquire(self, *, timeout=None):
        return _Acquisition(self, timeout)

    def _may_acquire(self):
        # Never more lent than the size (so an acquisition never waits inside
        # asyncpg, where a replaced pool could still serve it); while a
        # retired pool holds connections, a new one only if both fit.
        if self._swapping or self.lent >= self.max_size:
            return False
        return (not self.retiring or self.pool.get_idle_size() > 0
                or self.pool.get_size() + self._retiring_size() < self.max_size)

    async def _acquire(self, timeout):
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        def left():
            return None if deadline is None else max(0.0, deadline - loop.time())

        async with self._room:
            await asyncio.wait_for(self._room.wait_for(self._may_acquire), left())
            self.lent += 1
            pool = self.pool
            if self.retiring:
                # One at a time while a retired pool holds connections, so that
                # the count each checked is not raced by another's connect.
                try:
                    return pool, await pool.acquire(timeout=left())
                except BaseException:
                    self.lent -= 1
                    self._room.notify_all()
                    raise
        try:
            return pool, await pool.acquire(timeout=left())
        except BaseException:
            await self._returned()
            raise

    async def _release(self, pool, connection):
        try:
            await pool.release(connection)
        finally:
            await self._returned()

    async def _returned(self):
        async with self._room:
            self.lent -= 1
            self._room.notify_all()

    async def resize(self, min_size, max_size):
        async with self._resizing:
            if (min_size, max_size) == (self.min_size, self.max_size):
                return
            async with self._room:
                self._swapping = True  # acquisitions wait for the new pool
            old = self.pool
            self.retiring.append(old)
            try:
                # The new pool's first connections must fit beside the old ones.
                room = max(0, max_size - self._retiring_size())
                self.pool = await asyncpg.create_pool(self.dsn, min_size=min(min_size, room),
                                                      max_size=max_size, **self.pool_kwargs)
                self.min_size, self.max_size = min_size, max_size
                self.replacements += 1
            except BaseException:
                self.retiring.remove(old)
                raise
            finally:
                async with self._room:
                    self._swapping = False
                    self._room.notify_all()
            await old.expire_connections()  # what it lent closes when released
            asyncio.get_running_loop().create_task(self._retire(old))

    async def _close_idle(self, old):
        # Its idle connections close at once (they would otherwise count
        # against the new size until the last one it lent is back, and one
        # long checkout would stall every acquisition). Taken out of its
        # queue while they close, so that no acquisition still bound for the
        # old pool picks one up half closed; put back empty, for close().
        # asyncpg 0.27's holders: _queue, _con (None once closed).
        holders = []
        while True:
            try:
                holders.append(old._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        try:
            await asyncio.gather(*(h.close() for h in holders if h._con is not None),
                                 return_exceptions=True)
        finally:
            for h in holders:
                if h._con is not None and h._con.is_closed():
                    h._maybe_cancel_inactive_callback()
                    h._con = None
                old._queue.put_nowait(h)
        async with self._room:
            self._room.notify_all()

    async def _retire(self, old):
        try:
            await self._close_idle(old)
            await old.close()  # waits for what it lent, then closes it
        finally:
            self.retiring.remove(old)
            async with self._room:
                self._room.notify_all()

    async def close(self):
        await asyncio.gather(self.pool.close(), *(p.close() for p in self.retiring))


async def follow(pool, application_name, dsn, *, floor=1, ceiling=None, instances=None, interval=30.0,
                 connect_kwargs=None):
    """Starts following for an opened FollowingPool, from its event loop; the
    pool as opened is the service's own size. Returns the follower
    (await stop_async() before closing the pool)."""
    sizing = Sizing(pool.min_size, pool.max_size, floor=floor, ceiling=ceiling, instances=instances)
    follower = AsyncResizingFollower(pool, application_name, dsn, sizing, interval=interval,
                                     connect_kwargs=connect_kwargs)
    return await follower.start_async()

"""What every follower shares: a watcher for one application, the rule, and
the size last applied. A library's follower says how to apply a size."""
import asyncio
import logging
import time

from .rule import target
from .watcher import Watcher

logger = logging.getLogger("pgpool_stats_follow")


class Follower:
    """Keeps one pool at its instance's share of one application's budget.

    dsn: where the budgets are (pgpool_stats.database), for a role that may
    call pgpool_stats.pool_config (pg_monitor, or GRANT EXECUTE).
    interval: the slow timer, in seconds (announcements come at once).
    """

    def __init__(self, application_name, dsn, sizing, *, interval=30.0, connect_kwargs=None):
        self.application_name = application_name
        self.sizing = sizing
        self.target = None      # the rule.Target applied last
        self.changes = []       # (time.monotonic(), Target) of every size applied
        self.watcher = Watcher(dsn, [application_name], self._on_config, instances=sizing.instances,
                               interval=interval, connect_kwargs=connect_kwargs)

    def start(self, wait=10.0):
        """Starts following; waits (up to WAIT seconds) for the first size."""
        self.watcher.start(wait)
        return self

    def stop(self):
        self.watcher.stop()

    def _on_config(self, name, config):
        t = target(config, self.sizing)
        if self.target is not None and (t.min_size, t.max_size) == (self.target.min_size, self.target.max_size):
            return
        logger.info("pgpool_stats_follow: %s: pool %d..%d (%s)", name, t.min_size, t.max_size, t.reason)
        self.apply(t)
        self.target = t
        self.changes.append((time.monotonic(), t))

    def apply(self, t):
        raise NotImplementedError


class AsyncFollower(Follower):
    """A follower of an asyncio pool: sizes are applied in the pool's event loop
    (the watcher thread waits until each is applied, so they never overlap)."""

    def __init__(self, application_name, dsn, sizing, *, loop=None, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.loop = loop

    async def start_async(self, wait=10.0):
        self.loop = self.loop or asyncio.get_running_loop()
        await self.loop.run_in_executor(None, self.watcher.start, wait)
        return self

    async def stop_async(self):
        await self.loop.run_in_executor(None, self.watcher.stop)

    def apply(self, t):
        asyncio.run_coroutine_threadsafe(self.apply_async(t), self.loop).result()

    async def apply_async(self, t):
        raise NotImplementedError


class ResizingFollower(Follower):
    """A follower of a pool with resize(min_size, max_size)."""

    def __init__(self, pool, application_name, dsn, sizing, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.pool = pool

    def apply(self, t):
        self.pool.resize(t.min_size, t.max_size)


class AsyncResizingFollower(AsyncFollower):
    """A follower of an asyncio pool with a coroutine resize(min_size, max_size)."""

    def __init__(self, pool, application_name, dsn, sizing, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.pool = pool

    async def apply_async(self, t):
        await self.pool.resize(t.min_size, t.max_size)

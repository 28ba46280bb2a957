"""SQLAlchemy: a QueuePool that follows its budget.

QueuePool has no resize. FollowingQueuePool adds one, resize(pool_size,
max_overflow), that changes the pool in place under the pool's own locks:

  * the limits change at once: a checkout that finds no idle connection opens
    a new one only while the pool holds fewer than pool_size + max_overflow,
    and otherwise waits in the pool (pool_timeout), as on any busy pool;
  * idle connections beyond the new size are closed at once (idle go first);
  * a checked-out connection is never closed under its user: given back to a
    pool that holds more than its size, it is closed then, even when a
    checkout waits (which gets the next connection given back once the pool
    is within its size), so the pool is within its new size once the
    checkouts in flight at the change have ended.

It keeps the engine, its events and its checked-out connections; it touches
QueuePool's internal counters (_pool, _overflow, _max_overflow,
_overflow_lock), checked against SQLAlchemy 1.4 and 2.0 at construction.

    engine = create_engine(url, poolclass=FollowingQueuePool, pool_size=5, max_overflow=10,
                           connect_args={"application_name": "checkout"})
    follower = follow(engine, "checkout", budget_dsn, floor=2, ceiling=20)
    ...
    follower.stop(); engine.dispose()

The other way, swapping in a recreated pool (engine.pool = pool.recreate())
and disposing of the old one once its checkouts are back, would leave the
old pool's connections open beside the new pool's until then: a new
connection would be refused by the server (53300) while the application is
at its budget. Resizing in place has no such moment.
"""
import time

from sqlalchemy import exc
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import queue as sqla_queue

from .follower import Follower
from .rule import Sizing


class FollowingQueuePool(QueuePool):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for attr in ("_pool", "_overflow", "_max_overflow", "_overflow_lock"):
            if not hasattr(self, attr):
                raise TypeError("this SQLAlchemy's QueuePool has no %s: FollowingQueuePool supports "
                                "SQLAlchemy 1.4 and 2.0" % attr)
        for attr in ("maxsize", "queue", "mutex"):
            if not hasattr(self._pool, attr):
                raise TypeError("this SQLAlchemy's pool queue has no %s" % attr)

    # A checkout that waits for a connection looks again this often: after a
    # resize that made room it opens one instead of waiting for one to come
    # back (QueuePool's own wait would last its whole pool_timeout).
    wait_slice = 0.1

    def _do_get(self):
        deadline = time.monotonic() + self._timeout
        while True:
            limited = self._max_overflow > -1
            full = limited and self._overflow >= self._max_overflow
            try:
                return self._pool.get(full, max(0.0, min(self.wait_slice, deadline - time.monotonic())))
            except sqla_queue.Empty:
                pass
            if limited and self._overflow >= self._max_overflow:
                if time.monotonic() >= deadline:
                    raise exc.TimeoutError(
                        "QueuePool limit of size %d overflow %d reached, connection timed out, "
                        "timeout %0.2f" % (self.size(), self.overflow(), self._timeout), code="3o7r")
                continue
            if self._inc_overflow():
                try:
                    return self._create_connection()
                except BaseException:
                    self._dec_overflow()
                    raise

    def _do_return_conn(self, record):
        # Over its size (a smaller budget), the pool closes what comes back
        # instead of handing it on, even to a waiting checkout: the waiter
        # gets the next one once the pool is within its size again.
        with self._overflow_lock:
            surplus = -1 < self._max_overflow < self._overflow  # -1: no limit
            if surplus:
                self._overflow -= 1
        if surplus:
            record.close()
            return
        super()._do_return_conn(record)

    def connections(self):
        """Every connection of the pool: idle and checked out."""
        return self._pool.maxsize + self._overflow

    def resize(self, pool_size, max_overflow):
        """Keep at most pool_size idle connections and pool_size + max_overflow
        in all. pool_size at least 1 (0 would mean no limit to QueuePool)."""
        if pool_size < 1 or max_overflow < 0:
            raise ValueError("pool_size must be at least 1 and max_overflow at least 0")
        surplus = []
        with self._overflow_lock, self._pool.mutex:
            total = self._pool.maxsize + self._overflow
            self._pool.maxsize = pool_size
            self._max_overflow = max_overflow
            self._overflow = total - pool_size
            idle = self._pool.queue
            # The queue's own put() refuses only at exactly maxsize: never
            # leave more idle than that, nor more than the limit in all.
            while idle and (len(idle) > pool_size or self._overflow > max_overflow):
                surplus.append(idle.popleft())
                self._overflow -= 1
        for record in surplus:
            record.close()


class EngineFollower(Follower):
    def __init__(self, engine, application_name, dsn, sizing, **kwargs):
        super().__init__(application_name, dsn, sizing, **kwargs)
        self.engine = engine

    def apply(self, t):
        pool_size = max(1, t.min_size)
        self.engine.pool.resize(pool_size, t.max_size - pool_size)


def follow(engine, application_name, dsn, *, floor=1, ceiling=None, instances=None, interval=30.0,
           connect_kwargs=None):
    """Starts following for an engine built with poolclass=FollowingQueuePool;
    the pool as built is the service's own size (pool_size idle, pool_size +
    max_overflow in all). Returns the follower (stop() it before disposing)."""
    pool = engine.pool
    if not isinstance(pool, FollowingQueuePool):
        raise TypeError("follow() needs an engine with poolclass=FollowingQueuePool")
    sizing = Sizing(pool.size(), pool.size() + pool._max_overflow, floor=floor, ceiling=ceiling,
                    instances=instances)
    return EngineFollower(engine, application_name, dsn, sizing, interval=interval,
                          connect_kwargs=connect_kwargs).start()

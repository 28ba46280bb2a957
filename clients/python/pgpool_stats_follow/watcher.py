"""The watcher: what the server says about some applications' budgets, live.

One thread and one psycopg2 connection (autocommit, application_name
pgpool_stats_follow unless told otherwise) to the database that holds the
budgets (pgpool_stats.database). It LISTENs on pgpool_stats_budget and reads
pool_config(app, 'json', instances) for an application when an announcement
names it, for every application on a slow timer (recommendations move without
announcements), and at once after every (re)connection (announcements missed
while away). On a hot standby, which cannot LISTEN, it only polls on the timer.
Each reading goes to on_config(application_name, config), config being the
decoded JSON or None when the server has nothing on the application (never
seen: pool_config's 42704). A failed reading is logged and changes nothing.
Its connection has a connect_timeout, TCP keepalives, a tcp_user_timeout
and a statement_timeout (10 s) for its readings, so a dead peer or a stuck
reading ends in a reconnection instead of a follower that hangs.
"""
import json
import logging
import os
import select
import threading
import time

import psycopg2
import psycopg2.errors
import psycopg2.extensions

CHANNEL = "pgpool_stats_budget"
logger = logging.getLogger("pgpool_stats_follow")


class Watcher:
    def __init__(self, dsn, applications, on_config, *, instances=None, interval=30.0,
                 retry_interval=1.0, connect_kwargs=None, statement_timeout="10s"):
        if interval <= 0:
            raise ValueError("interval must be positive, not %r" % (interval,))
        self.dsn = dsn
        self.applications = list(applications)
        self.on_config = on_config
        self.instances = instances
        self.interval = interval
        self.retry_interval = retry_interval
        # Its own connection must not hang on a dead peer or a stuck
        # reading: a bounded connect, keepalives, a TCP user timeout, and a
        # statement_timeout for its readings (set after login). Any of them
        # given in connect_kwargs wins.
        defaults = {"application_name": "pgpool_stats_follow", "connect_timeout": 10, "keepalives": 1,
                    "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
        if psycopg2.extensions.libpq_version() >= 120000:
            defaults["tcp_user_timeout"] = 60000
        self.connect_kwargs = dict(defaults, **(connect_kwargs or {}))
        self.statement_timeout = statement_timeout
        self.standby = None         # known after the first connection
        self.readings = 0           # pool_config readings done
        self.announcements = 0      # announcements heard for our applications
        self.reconnections = 0      # connections lost (or refused) and tried again
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="pgpool_stats_follow", daemon=True)
        self._connected = threading.Event()

    def start(self, wait=10.0):
        """Starts the thread; waits (up to WAIT seconds) for the first reading."""
        self._thread.start()
        self._connected.wait(wait)
        return self

    def stop(self):
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self):
        while not self._stop.is_set():
            conn = None
            try:
                conn = psycopg2.connect(self.dsn, **self.connect_kwargs)
                conn.autocommit = True
                if self.statement_timeout is not None:
                    with conn.cursor() as cur:
                        cur.execute("SELECT pg_catalog.set_config('statement_timeout', %s, false)",
                                    (str(self.statement_timeout),))
                self._serve(conn)
            except Exception as e:  # the connection failed or broke: never give up following
                logger.warning("pgpool_stats_follow: %s; retrying in %.1f s",
                               str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__,
                               self.retry_interval)
                self.reconnections += 1
                self._stop.wait(self.retry_interval)
            finally:
                if conn is not None:
                    conn.close()

    def _serve(self, conn):
        listening = False
        next_poll = 0.0
        while not self._stop.is_set():
            due = [] if time.monotonic() < next_poll else list(self.applications)
            if listening:
                conn.poll()
                while conn.notifies:
                    name = self._announced(conn.notifies.pop(0).payload)
                    if name in self.applications and name not in due:
                        self.announcements += 1
                        due.append(name)
            if due:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_catalog.pg_is_in_recovery()")
                    self.standby = cur.fetchone()[0]
                    if not self.standby and not listening:
                        cur.execute("LISTEN " + CHANNEL)
                        listening = True
                        # Read everything once more: a change may have committed
                        # between the first reading and the LISTEN.
                        due = list(self.applications)
                for name in due:
                    self._read(conn, name)
                if len(due) == len(self.applications):
                    next_poll = time.monotonic() + self.interval
                self._connected.set()
            if listening and conn.notifies:  # arrived while reading: no wait
                continue
            timeout = max(0.0, next_poll - time.monotonic())
            readable, _, _ = select.select([conn, self._wake_r] if listening else [self._wake_r], [], [],
                                           timeout)
            if self._wake_r in readable:
                return

    @staticmethod
    def _announced(payload):
        try:
            return json.loads(payload).get("application_name")
        except (ValueError, AttributeError):
            return None

    def _read(self, conn, name):
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT pgpool_stats.pool_config(%s, 'json', %s)", (name, self.instances))
                config = json.loads(cur.fetchone()[0])
            except psycopg2.errors.UndefinedObject:  # never seen, no budget: nothing to follow
                config = None
            except psycopg2.OperationalError:
                raise
            except psycopg2.Error as e:  # no privilege, say: keep the pool as it is
                logger.warning("pgpool_stats_follow: pool_config(%r) failed: %s", name,
                               str(e).strip().splitlines()[0])
                return
        self.readings += 1
        try:
            self.on_config(name, config)
        except Exception:  # the follower's failure must not stop the watcher
            logger.exception("pgpool_stats_follow: applying the size of %r failed", name)

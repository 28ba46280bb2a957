"""Pools that follow their budget: pgpool_stats announces every budget change
(NOTIFY pgpool_stats_budget) and pool_config(app, 'json') says each instance's
share; these followers keep a pool at it, live. See clients/README.md.

    pgpool_stats_follow.rule               the rule (pure)
    pgpool_stats_follow.watcher            LISTEN + slow timer, one thread
    pgpool_stats_follow.psycopg_follower   psycopg_pool (ConnectionPool, AsyncConnectionPool)
    pgpool_stats_follow.sqlalchemy_follower SQLAlchemy (QueuePool)
    pgpool_stats_follow.asyncpg_follower   asyncpg (Pool)
    pgpool_stats_follow.pgbouncer_follower PgBouncer (include file + RELOAD)

The library modules import their library; import the one you use.
"""
from .rule import Sizing, Target, target
from .watcher import CHANNEL, Watcher

__all__ = ["Sizing", "Target", "target", "CHANNEL", "Watcher"]

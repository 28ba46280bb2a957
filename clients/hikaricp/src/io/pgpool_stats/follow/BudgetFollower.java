// BudgetFollower: keeps a HikariCP pool at its instance's share of the
// application's pgpool_stats budget, live.
//
// One daemon thread with its own pgjdbc connection LISTENs on
// pgpool_stats_budget; on every announcement for the application, and on a
// slow timer (recommendations move without announcements; a hot standby
// cannot LISTEN and is only polled), it reads pool_config(app, 'json') and
// sets the pool's maximumPoolSize and minimumIdle. When the pool holds more
// than its new maximum, it retires idle connections one at a time (borrowed
// from the pool and evicted at once); a checked-out connection is never
// touched: it is retired after its borrower has returned it. See
// clients/hikaricp/README.md.
package io.pgpool_stats.follow;

import com.zaxxer.hikari.HikariConfigMXBean;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class BudgetFollower implements AutoCloseable {
    /** The channel every committed budget change is announced on. */
    public static final String CHANNEL = "pgpool_stats_budget";

    private static final Logger LOG = LoggerFactory.getLogger(BudgetFollower.class);
    // Longest single wait of the thread, so close() is prompt.
    private static final long SLICE_MS = 250;
    // How long one retirement waits for a connection to come back to the
    // pool; then the thread goes on listening and tries again.
    private static final long RETIRE_WAIT_MS = 200;
    private static final long MAX_RECONNECT_DELAY_MS = 30_000;

    /** What the service decides; everything but the application has a default. */
    public static final class Settings {
        private final String applicationName;
        private Integer instances;
        private int floor = 1;
        private int ceiling = Integer.MAX_VALUE;
        private Integer defaultSize;
        private long pollIntervalMs = 30_000;
        private long reconnectDelayMs = 1_000;
        private String jdbcUrl;
        private String user;
        private String password;
        private String followerName = "pgpool_stats_follow";

        public Settings(String applicationName) {
            if (applicationName == null) {
                throw new IllegalArgumentException("applicationName must not be null");
            }
            this.applicationName = applicationName;
        }

        /** Instances of the service; null (the default) takes what the server observes. */
        public Settings instances(Integer n) {
            if (n != null && n < 1) {
                throw new IllegalArgumentException("instances must be at least 1, got " + n);
            }
            instances = n;
            return this;
        }

        /** The pool never goes below this, unless the budget's share is smaller. */
        public Settings floor(int n) {
            if (n < 1) throw new IllegalArgumentException("floor must be at least 1, got " + n);
            floor = n;
            return this;
        }

        /** The pool never grows above this. */
        public Settings ceiling(int n) {
            if (n < 1) throw new IllegalArgumentException("ceiling must be at least 1, got " + n);
            ceiling = n;
            return this;
        }

        /** The size without a budget, or without enough data; default: the pool's maximum at start. */
        public Settings defaultSize(int n) {
            if (n < 1) throw new IllegalArgumentException("defaultSize must be at least 1, got " + n);
            defaultSize = n;
            return this;
        }

        public Settings pollInterval(long amount, TimeUnit unit) {
            long ms = unit.toMillis(amount);
            if (ms < 1) throw new IllegalArgumentException("pollInterval must be positive");
            pollIntervalMs = ms;
            return this;
        }

        /** First wait before reconnecting; it doubles up to 30 s while the server is away. */
        public Settings reconnectDelay(long amount, TimeUnit unit) {
            long ms = unit.toMillis(amount);
            if (ms < 1) throw new IllegalArgumentException("reconnectDelay must be positive");
            reconnectDelayMs = ms;
            return this;
        }

        /** The follower's own connection; default: the pool's jdbcUrl, username and password. */
        public Settings jdbcUrl(String url) {
            jdbcUrl = url;
            return this;
        }

        public Settings user(String user) {
            this.user = user;
            return this;
        }

        public Settings password(String password) {
            this.password = password;
            return this;
        }

        /** application_name of the follower's own connection (not the pool's: it is not charged to the budget). */
        public Settings followerName(String name) {
            if (name == null) throw new IllegalArgumentException("followerName must not be null");
            followerName = name;
            return this;
        }
    }

    /**
     * THE RULE: the pool's maximum for one instance. Without a budget, the
     * service's default; with one, the recommendation (pool_size +
     * max_overflow, or the default while the data are insufficient) clamped to
     * [floor, ceiling], then never above the instance's share of the budget:
     * the budget wins over the floor.
     */
    public static int target(Integer instanceShare, boolean insufficientData, int poolSize,
                             int maxOverflow, int floor, int ceiling, int defaultSize) {
        if (instanceShare == null) return defaultSize;
        int desired = insufficientData ? defaultSize : poolSize + maxOverflow;
        desired = Math.max(floor, Math.min(ceiling, desired));
        return Math.max(1, Math.min(desired, instanceShare));
    }

    private final HikariDataSource pool;
    private final HikariConfigMXBean config;
    private final Settings settings;
    private final int defaultSize;
    // A fixed-size pool (minimumIdle = maximumPoolSize, HikariCP's default)
    // stays fixed; otherwise minimumIdle keeps its value, never above the maximum.
    private final boolean fixedSize;
    private final int minimumIdle;
    private final String url;
    private final Properties connectProperties;
    private final Thread thread;
    private volatile boolean running = true;

    // Owned by the follower's thread once it runs (start() hands them over
    // through Thread.start(), which orders the writes before the thread).
    private Connection connection;
    private long nextPoll;
    private boolean pollNow = true;
    private boolean warnedOld;
    private volatile boolean listening;
    private long reconnectDelayMs;
    private volatile int lastTarget = -1;
    private volatile Integer lastShare;
    private volatile boolean connected;

    private BudgetFollower(HikariDataSource pool, Settings settings) {
        this.pool = pool;
        this.config = pool.getHikariConfigMXBean();
        this.settings = settings;
        // An unstarted pool may leave both unset (-1): what HikariCP will
        // make of them when it starts.
        int minIdle = config.getMinimumIdle();
        int max = config.getMaximumPoolSize();
        if (max < 1) max = minIdle > 0 ? minIdle : 10;
        this.defaultSize = settings.defaultSize != null ? settings.defaultSize : max;
        this.fixedSize = minIdle < 0 || minIdle >= max;
        this.minimumIdle = minIdle;
        if (settings.ceiling < settings.floor) {
            throw new IllegalArgumentException("ceiling (" + settings.ceiling
                + ") must not be below floor (" + settings.floor + ")");
        }
        this.url = settings.jdbcUrl != null ? settings.jdbcUrl : pool.getJdbcUrl();
        if (url == null) {
            throw new IllegalArgumentException("the pool has no jdbcUrl (it uses a DataSource class):"
                + " give the follower's own with Settings.jdbcUrl()");
        }
        Properties p = new Properties();
        p.putAll(pool.getDataSourceProperties());
        String user = settings.user != null ? settings.user : pool.getUsername();
        String password = settings.password != null ? settings.password : pool.getPassword();
        if (user != null) p.setProperty("user", user);
        if (password != null) p.setProperty("password", password);
        // The follower's own name, sent at login, so it is never charged to
        // the application it follows.
        p.setProperty("ApplicationName", settings.followerName);
        p.setProperty("assumeMinServerVersion", "9.0");
        // Its own connection must not hang on a dead peer: bounded connect,
        // keepalives, and a socket timeout well above its longest wait for
        // an announcement (SLICE_MS) and its readings. Settings of the
        // pool's own win.
        p.putIfAbsent("connectTimeout", "10");
        p.putIfAbsent("tcpKeepAlive", "true");
        p.putIfAbsent("socketTimeout", "30");
        this.connectProperties = p;
        this.reconnectDelayMs = settings.reconnectDelayMs;
        this.thread = new Thread(this::run, "pgpool_stats follower " + settings.applicationName);
        this.thread.setDaemon(true);
    }

    /**
     * Starts following. The first size is read and applied before this
     * returns (one round trip), so a pool that starts at its first
     * getConnection() (HikariDataSource's no-argument constructor) never
     * opens more than its share; when the server cannot be reached, the
     * follower's thread keeps trying and the pool keeps its size meanwhile.
     */
    public static BudgetFollower start(HikariDataSource pool, Settings settings) {
        if (pool == null || settings == null) {
            throw new IllegalArgumentException("pool and settings must not be null");
        }
        BudgetFollower f = new BudgetFollower(pool, settings);
        try {
            f.connect();
            f.follow();
            f.nextPoll = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.pollIntervalMs);
            f.pollNow = false;
        } catch (SQLException e) {
            LOG.warn("pgpool_stats follower of {}: no size from the server yet ({}: {}); the pool keeps {}",
                settings.applicationName, e.getSQLState(), e.getMessage(), f.config.getMaximumPoolSize());
            f.disconnect();
        }
        f.thread.start();
        return f;
    }

    /** The maximum last applied, or -1 before the server first answered. */
    public int target() {
        return lastTarget;
    }

    /** The instance's share of the budget last read; null without a budget. */
    public Integer instanceShare() {
        return lastShare;
    }

    /** True while the follower's connection is up. */
    public boolean isConnected() {
        return connected;
    }

    /** True while announcements arrive (connected, and not to a hot standby, which is polled). */
    public boolean isListening() {
        return listening;
    }

    /** Stops the thread and closes its connection; the pool keeps its last size. It also stops when the pool is closed. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (running && !pool.isClosed()) {
            try {
                if (connection == null) {
                    connect();
                    pollNow = true; // announcements may have been missed meanwhile
                }
                if (pollNow || System.nanoTime() - nextPoll >= 0) {
                    follow();
                    pollNow = false;
                    nextPoll = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.pollIntervalMs);
                }
                boolean over = retireOne();
                long untilPoll = TimeUnit.NANOSECONDS.toMillis(nextPoll - System.nanoTime());
                long wait = over ? 5 : Math.max(1, Math.min(SLICE_MS, untilPoll));
                if (awaitAnnouncement(wait)) {
                    follow();
                }
            } catch (SQLException e) {
                if (!running) break;
                if (connectionUsable()) {
                    // Refused, not lost (e.g. no pg_monitor): try again at the next poll.
                    LOG.warn("pgpool_stats follower of {}: cannot read the budget ({}: {}); the pool keeps {}",
                        settings.applicationName, e.getSQLState(), e.getMessage(), config.getMaximumPoolSize());
                    pollNow = false;
                    nextPoll = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.pollIntervalMs);
                    continue;
                }
                LOG.warn("pgpool_stats follower of {}: no connection ({}: {}); reconnecting in {} ms",
                    settings.applicationName, e.getSQLState(), e.getMessage(), reconnectDelayMs);
                disconnect();
                sleep(reconnectDelayMs);
                reconnectDelayMs = Math.min(MAX_RECONNECT_DELAY_MS, reconnectDelayMs * 2);
            } catch (RuntimeException e) {
                // A bug or a closed pool: never let the thread die silently.
                if (!running) break;
                LOG.error("pgpool_stats follower of {}: unexpected error", settings.applicationName, e);
                sleep(settings.pollIntervalMs);
            }
        }
        disconnect();
    }

    private void connect() throws SQLException {
        connection = DriverManager.getConnection(url, connectProperties);
        connection.setAutoCommit(true);
        connected = true;
        listening = false;
        reconnectDelayMs = settings.reconnectDelayMs;
    }

    private boolean connectionUsable() {
        try {
            return connection != null && connection.isValid(5);
        } catch (SQLException e) {
            return false;
        }
    }

    private void disconnect() {
        connected = false;
        listening = false;
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already gone
            }
            connection = null;
        }
    }

    // LISTENs unless the server is a hot standby (LISTEN is refused in
    // recovery); a standby that gets promoted starts listening at the next poll.
    private void listenUnlessStandby(boolean inRecovery) throws SQLException {
        if (listening || inRecovery) return;
        try (Statement st = connection.createStatement()) {
            st.execute("LISTEN " + CHANNEL);
        }
        listening = true;
    }

    // Waits up to WAIT ms; true when an announcement for our application
    // arrived (or one we could not read: recomputing is cheap).
    private boolean awaitAnnouncement(long wait) throws SQLException {
        if (!listening) {
            sleep(wait);
            return false;
        }
        PGNotification[] notes = connection.unwrap(PGConnection.class).getNotifications((int) wait);
        if (notes == null) return false;
        boolean ours = false;
        for (PGNotification n : notes) {
            if (!CHANNEL.equals(n.getName())) continue;
            Object app = null;
            try {
                Object payload = Json.parse(n.getParameter());
                if (payload instanceof Map) app = ((Map<?, ?>) payload).get("application_name");
            } catch (IllegalArgumentException e) {
                ours = true;
                continue;
            }
            if (settings.applicationName.equals(app)) ours = true;
        }
        return ours;
    }

    // Reads pool_config() and applies THE RULE. Needs EXECUTE on
    // pool_config() only (pg_monitor has it).
    private void follow() throws SQLException {
        boolean inRecovery;
        try (Statement st = connection.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            inRecovery = rs.getBoolean(1);
        }
        // LISTEN before reading: a change committed between the reading and
        // the LISTEN would go unheard until the next poll.
        listenUnlessStandby(inRecovery);
        Map<?, ?> cfg = null;
        try (PreparedStatement st = connection.prepareStatement(
                 "SELECT pgpool_stats.pool_config(?, 'json', ?::int)")) {
            st.setString(1, settings.applicationName);
            if (settings.instances == null) {
                st.setNull(2, java.sql.Types.INTEGER);
            } else {
                st.setInt(2, settings.instances);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                cfg = (Map<?, ?>) Json.parse(rs.getString(1));
            }
        } catch (SQLException e) {
            // 42704: an application the server has never seen has no budget.
            if (!"42704".equals(e.getSQLState())) throw e;
        }
        Integer share = null;
        boolean insufficient = true;
        int poolSize = 0;
        int maxOverflow = 0;
        if (cfg != null) {
            insufficient = Boolean.TRUE.equals(cfg.get("insufficient_data"));
            poolSize = intOf(cfg.get("pool_size"), 0);
            maxOverflow = intOf(cfg.get("max_overflow"), 0);
            if (!cfg.containsKey("instance_share")) {
                // A server older than the announcements: it cannot tell the
                // share, and guessing could breach the budget.
                if (!warnedOld) {
                    LOG.warn("pgpool_stats follower of {}: this pgpool_stats writes no instance_share in"
                        + " pool_config() (update it); the pool keeps {}", settings.applicationName,
                        config.getMaximumPoolSize());
                    warnedOld = true;
                }
                return;
            }
            share = cfg.get("instance_share") == null ? null : intOf(cfg.get("instance_share"), 1);
        }
        apply(target(share, insufficient, poolSize, maxOverflow, settings.floor, settings.ceiling,
            defaultSize), share);
    }

    private void apply(int max, Integer share) {
        lastShare = share;
        int oldMax = config.getMaximumPoolSize();
        int minIdle = fixedSize ? max : Math.min(minimumIdle, max);
        if (max < oldMax) {
            config.setMinimumIdle(minIdle);
            config.setMaximumPoolSize(max);
        } else {
            config.setMaximumPoolSize(max);
            config.setMinimumIdle(minIdle);
        }
        if (max != oldMax) {
            LOG.info("pgpool_stats follower of {}: maximumPoolSize {} -> {} (instance share {})",
                settings.applicationName, oldMax, max, share == null ? "none: no budget" : share);
        }
        lastTarget = max;
    }

    // Retires one connection above the maximum, an idle one: borrowed and
    // evicted, which closes it at once. Checked-out connections are never
    // touched. It borrows only when the pool has an idle connection: a
    // borrow that waits and times out would count in HikariCP's
    // connection-timeout metric as if the workload had. True while the
    // pool is still above its maximum.
    private boolean retireOne() {
        HikariPoolMXBean mx = pool.getHikariPoolMXBean();
        if (!(mx instanceof HikariPool) || pool.isClosed()) return false;
        if (mx.getTotalConnections() <= config.getMaximumPoolSize()) return false;
        if (mx.getIdleConnections() <= 0) return true;
        try {
            Connection c = ((HikariPool) mx).getConnection(RETIRE_WAIT_MS);
            // Evicting a borrowed connection closes it now; it is not
            // returned to the pool (closing the proxy would put it back).
            pool.evictConnection(c);
        } catch (SQLException e) {
            // Nothing came back in time: every connection is busy.
        }
        return mx.getTotalConnections() > config.getMaximumPoolSize();
    }

    private static int intOf(Object v, int fallback) {
        return v instanceof Number ? ((Number) v).intValue() : fallback;
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            // close() interrupts; the loop checks running
        }
    }

    /** Just enough JSON for pool_config() and the announcements. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            if (text == null) throw new IllegalArgumentException("no JSON");
            Json p = new Json(text);
            Object v = p.value();
            p.space();
            if (p.i != text.length()) throw p.error("trailing characters");
            return v;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("JSON: " + what + " at offset " + i);
        }

        private void space() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        private boolean eat(char c) {
            space();
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!eat(c)) throw error("expected '" + c + "'");
        }

        private Object value() {
            space();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return string();
            if (s.startsWith("true", i)) return literal(4, Boolean.TRUE);
            if (s.startsWith("false", i)) return literal(5, Boolean.FALSE);
            if (s.startsWith("null", i)) return literal(4, null);
            return number();
        }

        private Object literal(int length, Object v) {
            i += length;
            return v;
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            expect('{');
            if (eat('}')) return m;
            do {
                space();
                String key = string();
                expect(':');
                m.put(key, value());
            } while (eat(','));
            expect('}');
            return m;
        }

        private List<Object> array() {
            List<Object> l = new ArrayList<>();
            expect('[');
            if (eat(']')) return l;
            do {
                l.add(value());
            } while (eat(','));
            expect(']');
            return l;
        }

        private String string() {
            if (i >= s.length() || s.charAt(i) != '"') throw error("expected a string");
            StringBuilder b = new StringBuilder();
            i++;
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u':
                        if (i + 4 > s.length()) throw error("short \\u escape");
                        try {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException x) {
                            throw error("bad \\u escape");
                        }
                        i += 4;
                        break;
                    default: b.append(e); // \" \\ \/
                }
            }
        }

        private Number number() {
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String t = s.substring(start, i);
            if (t.isEmpty()) throw error("unexpected character");
            try {
                if (t.indexOf('.') < 0 && t.indexOf('e') < 0 && t.indexOf('E') < 0) return Long.parseLong(t);
                return Double.parseDouble(t);
            } catch (NumberFormatException x) {
                throw error("bad number " + t);
            }
        }
    }
}

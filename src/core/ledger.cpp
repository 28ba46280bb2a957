#include "ledger.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace pgpool_stats::core {

namespace {

constexpr uint32_t kMagic = 0x7067706c;  // "pgpl"

constexpr size_t align8(size_t n) noexcept {
    return (n + 7) & ~size_t{7};
}

int32_t index_slots_for(int32_t max_applications) noexcept {
    // Load factor at most 1/2 keeps linear probing short.
    int32_t slots = 16;
    while (slots < 2 * (max_applications + 1)) slots *= 2;
    return slots;
}

uint64_t name_hash(const char* name) noexcept {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (const unsigned char* p = reinterpret_cast<const unsigned char*>(name); *p; ++p) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

// The reserved slots of e that nobody holds. Its own waiting logins count as
// holding them: each already has a process slot, counted once in the waiters'
// total, and is the one that will fill the reservation, so rule 3 counts
// max(waiting, unused) for e, never both.
int64_t unused_of(const ApplicationEntry& e) noexcept {
    if (!e.in_use || !e.has_budget) return 0;
    return std::max<int64_t>(
        0, int64_t{e.budget.reserved_connections} - e.connections - e.admission_waiting);
}

bool same_budget(const Budget& a, const Budget& b) noexcept {
    if (a.max_connections != b.max_connections ||
        a.reserved_connections != b.reserved_connections || a.mode != b.mode ||
        a.admission_timeout_ms != b.admission_timeout_ms ||
        a.idle_in_transaction_timeout_ms != b.idle_in_transaction_timeout_ms ||
        a.idle_session_timeout_ms != b.idle_session_timeout_ms ||
        a.allowed_role_count != b.allowed_role_count)
        return false;
    for (int32_t k = 0; k < a.allowed_role_count; ++k)
        if (std::strncmp(a.allowed_roles[k], b.allowed_roles[k], kNameBytes) != 0) return false;
    return true;
}

constexpr double kMicrosPerSecond = 1e6;

}  // namespace

double connects_per_second(const ApplicationEntry& e, int64_t now) noexcept {
    if (e.connects_per_second_at <= 0) return 0;
    const double age = static_cast<double>(std::max<int64_t>(0, now - e.connects_counted_at));
    return e.connects_per_second_at * std::exp(-age / kMicrosPerSecond / kRateWindowSeconds);
}

void copy_name(char (&dst)[kNameBytes], const char* src) noexcept {
    size_t n = std::strlen(src);
    if (n > kNameBytes - 1) n = kNameBytes - 1;
    std::memcpy(dst, src, n);
    std::memset(dst + n, 0, kNameBytes - n);
}

size_t Ledger::bytes_needed(int32_t max_applications) noexcept {
    return align8(sizeof(Ledger)) +
           align8(sizeof(ApplicationEntry) * static_cast<size_t>(max_applications + 1)) +
           align8(sizeof(int32_t) * static_cast<size_t>(max_applications)) +
           align8(sizeof(int32_t) * static_cast<size_t>(index_slots_for(max_applications)));
}

ApplicationEntry* Ledger::entries() noexcept {
    return reinterpret_cast<ApplicationEntry*>(reinterpret_cast<char*>(this) +
                                               align8(sizeof(Ledger)));
}
const ApplicationEntry* Ledger::entries() const noexcept {
    return const_cast<Ledger*>(this)->entries();
}
int32_t* Ledger::free_stack() noexcept {
    return reinterpret_cast<int32_t*>(
        reinterpret_cast<char*>(entries()) +
        align8(sizeof(ApplicationEntry) * static_cast<size_t>(max_applications_ + 1)));
}
int32_t* Ledger::index() noexcept {
    return reinterpret_cast<int32_t*>(
        reinterpret_cast<char*>(free_stack()) +
        align8(sizeof(int32_t) * static_cast<size_t>(max_applications_)));
}
const int32_t* Ledger::index() const noexcept {
    return const_cast<Ledger*>(this)->index();
}

Ledger* Ledger::create(void* memory, int32_t max_applications, int32_t capacity,
                       int64_t now) noexcept {
    std::memset(memory, 0, bytes_needed(max_applications));
    Ledger* l = static_cast<Ledger*>(memory);
    l->magic_ = kMagic;
    l->max_applications_ = max_applications;
    l->index_slots_ = index_slots_for(max_applications);
    l->capacity_ = capacity;
    // Entry numbers 1..max are free; pop order gives 1 first.
    int32_t* stack = l->free_stack();
    for (int32_t k = 0; k < max_applications; ++k) stack[k] = max_applications - k;
    l->free_top_ = max_applications;
    int32_t* idx = l->index();
    for (int32_t s = 0; s < l->index_slots_; ++s) idx[s] = -1;

    ApplicationEntry& other = l->entries()[kOtherEntry];
    copy_name(other.name, kOtherName);
    other.in_use = true;
    other.stats_reset_at = now;
    return l;
}

bool Ledger::valid() const noexcept {
    return magic_ == kMagic;
}

int32_t Ledger::slot_of(const char* name) const noexcept {
    const int32_t* idx = index();
    const uint32_t mask = static_cast<uint32_t>(index_slots_ - 1);
    for (uint32_t s = static_cast<uint32_t>(name_hash(name)) & mask;; s = (s + 1) & mask) {
        int32_t e = idx[s];
        if (e < 0) return -1;
        if (std::strncmp(entries()[e].name, name, kNameBytes) == 0) return static_cast<int32_t>(s);
    }
}

int32_t Ledger::find(const char* name) const noexcept {
    char key[kNameBytes];
    copy_name(key, name);
    int32_t s = slot_of(key);
    return s < 0 ? -1 : index()[s];
}

int32_t Ledger::find_or_add(const char* name, int64_t now, bool* table_full) noexcept {
    char key[kNameBytes];
    copy_name(key, name);
    *table_full = false;
    // A client that calls itself "(other)" is counted in the overflow row,
    // which no budget can name: one row of that name, never two.
    if (std::strcmp(key, kOtherName) == 0) {
        other_used_ = true;
        entries()[kOtherEntry].last_seen_at = now;
        return kOtherEntry;
    }
    int32_t s = slot_of(key);
    if (s >= 0) {
        int32_t e = index()[s];
        entries()[e].last_seen_at = now;
        return e;
    }
    if (free_top_ == 0) {
        *table_full = true;
        other_used_ = true;
        entries()[kOtherEntry].last_seen_at = now;
        return kOtherEntry;
    }
    int32_t e = free_stack()[--free_top_];
    ApplicationEntry& entry = entries()[e];
    std::memset(&entry, 0, sizeof entry);
    std::memcpy(entry.name, key, kNameBytes);
    entry.in_use = true;
    entry.incarnation = ++last_incarnation_;
    entry.last_seen_at = now;
    entry.stats_reset_at = now;
    const uint32_t mask = static_cast<uint32_t>(index_slots_ - 1);
    uint32_t slot = static_cast<uint32_t>(name_hash(key)) & mask;
    while (index()[slot] >= 0) slot = (slot + 1) & mask;
    index()[slot] = e;
    ++tracked_;
    return e;
}

void Ledger::unindex(int32_t slot) noexcept {
    // Backward-shift deletion: move later members of the probe run into the
    // hole when their home slot is not between the hole and themselves.
    int32_t* idx = index();
    const uint32_t mask = static_cast<uint32_t>(index_slots_ - 1);
    uint32_t hole = static_cast<uint32_t>(slot);
    idx[hole] = -1;
    for (uint32_t s = (hole + 1) & mask; idx[s] >= 0; s = (s + 1) & mask) {
        uint32_t home = static_cast<uint32_t>(name_hash(entries()[idx[s]].name)) & mask;
        bool home_in_gap = ((s - home) & mask) < ((s - hole) & mask);
        if (home_in_gap) continue;
        idx[hole] = idx[s];
        idx[s] = -1;
        hole = s;
    }
}

void Ledger::remove(int32_t i) noexcept {
    int32_t s = slot_of(entries()[i].name);
    if (s >= 0) unindex(s);
    std::memset(&entries()[i], 0, sizeof(ApplicationEntry));
    free_stack()[free_top_++] = i;
    --tracked_;
}

bool Ledger::idle_unbudgeted(int32_t i) const noexcept {
    const ApplicationEntry& e = entries()[i];
    return i != kOtherEntry && e.in_use && !e.has_budget && e.connections == 0 &&
           e.admission_waiting == 0;
}

int32_t Ledger::room_for_budgets() const noexcept {
    int32_t room = free_entries();
    for (int32_t i = 1; i <= max_applications_; ++i)
        if (idle_unbudgeted(i)) ++room;
    return room;
}

int32_t Ledger::find_or_add_for_budget(const char* name, int64_t now, bool* table_full) noexcept {
    *table_full = false;
    // A budget row named "(other)" (refused since 1.1, possible in a 1.0
    // table) names the overflow row, which never has a budget: it displaces
    // no one.
    if (std::strncmp(name, kOtherName, kNameBytes) == 0) return kOtherEntry;
    if (free_top_ == 0 && find(name) < 0) {
        int32_t victim = -1;
        for (int32_t i = 1; i <= max_applications_; ++i)
            if (idle_unbudgeted(i) &&
                (victim < 0 || entries()[i].last_seen_at < entries()[victim].last_seen_at))
                victim = i;
        if (victim > 0) remove(victim);
    }
    const bool other_was_used = other_used_;
    int32_t i = find_or_add(name, now, table_full);
    if (*table_full) other_used_ = other_was_used;  // no session went to "(other)"
    return i;
}

void Ledger::account_reservation(int32_t i, int sign) noexcept {
    const ApplicationEntry& e = entries()[i];
    int64_t unused = unused_of(e);
    if (unused == 0) return;
    if (e.budget.mode == BudgetMode::kMonitor)
        reserved_unused_monitored_ += sign * unused;
    else
        reserved_unused_enforced_ += sign * unused;
}

int64_t Ledger::own_unused(int32_t i, BudgetMode mode) const noexcept {
    const ApplicationEntry& e = entries()[i];
    return (e.has_budget && e.budget.mode == mode) ? unused_of(e) : 0;
}

bool Ledger::holds(EntryRef r) const noexcept {
    const ApplicationEntry& e = entries()[r.entry];
    return e.in_use && e.incarnation == r.incarnation;
}

AdmissionResult Ledger::try_admit(EntryRef r, const AdmissionRequest& req, int64_t now) noexcept {
    if (!holds(r)) {
        AdmissionResult stale{};
        stale.outcome = Outcome::kStale;
        return stale;
    }
    return try_admit(r.entry, req, now);
}

AdmissionResult Ledger::try_admit(int32_t i, const AdmissionRequest& req, int64_t now) noexcept {
    ApplicationEntry& e = entries()[i];
    const bool budgeted = e.has_budget;
    const bool monitor = budgeted && e.budget.mode == BudgetMode::kMonitor;

    AdmissionFacts facts{};
    facts.max_connections = budgeted ? e.budget.max_connections : kNoCap;
    facts.reserved_connections = budgeted ? e.budget.reserved_connections : 0;
    facts.used = e.connections;
    facts.counted_total = counted_total_;
    facts.waiting_others = waiting_total_ - (req.already_waiting ? 1 : 0);
    facts.capacity = capacity_;

    // What every reservation, monitor ones included, would decide.
    AdmissionFacts all = facts;
    all.others_reserved_unused = reserved_unused_enforced_ + reserved_unused_monitored_ -
                                 own_unused(i, BudgetMode::kEnforce) -
                                 own_unused(i, BudgetMode::kMonitor);
    const Verdict if_all_enforced = decide_admission(all);

    // What really binds: only enforce-mode reservations, and A's own cap only
    // when A is in enforce mode.
    AdmissionFacts real = facts;
    real.others_reserved_unused = reserved_unused_enforced_ - own_unused(i, BudgetMode::kEnforce);
    if (monitor) {
        real.max_connections = kNoCap;
        real.reserved_connections = 0;
    }
    const Verdict verdict = monitor ? if_all_enforced : decide_admission(real);
    const bool real_admit = monitor || admitted(decide_admission(real));

    AdmissionResult result{};
    result.verdict = verdict;
    result.facts = monitor ? all : real;

    // First come, first served among the logins that wait: one that could
    // take a slot waits while earlier ones of its application stand in line
    // (the slot is theirs first). Its process slot is already counted in the
    // rule's figures, so it waits without taking anyone's reserved slot.
    const bool behind = req.may_wait && req.behind_others && !monitor;
    if (behind && real_admit && !req.exempt && req.enforce) {
        if (!req.already_waiting) begin_wait(i);
        result.outcome = Outcome::kWait;
        return result;
    }
    if (real_admit || req.exempt || !req.enforce) {
        if (!admitted(if_all_enforced) && !req.exempt) count_would_reject(i);
        if (req.already_waiting) end_wait(i);
        account_reservation(i, -1);
        ++e.connections;
        account_reservation(i, +1);
        ++counted_total_;
        ++e.admitted;
        // Each login adds 1/window to the decaying count: a steady rate r
        // holds it at r.
        e.connects_per_second_at = connects_per_second(e, now) + 1.0 / kRateWindowSeconds;
        e.connects_counted_at = now;
        e.peak_connections = std::max(e.peak_connections, e.connections);
        e.last_seen_at = now;
        result.outcome = Outcome::kAdmitted;
        return result;
    }
    if (req.may_wait && may_wait_for_slot(real)) {
        if (!req.already_waiting) begin_wait(i);
        result.outcome = Outcome::kWait;
        return result;
    }
    result.wait_refused = req.may_wait;
    if (req.already_waiting) end_wait(i);
    count_rejection(i, now);
    result.outcome = Outcome::kRejected;
    return result;
}

AdmissionResult Ledger::recharge(int32_t from, EntryRef to, const AdmissionRequest& req,
                                 int64_t now) noexcept {
    if (!holds(to)) {
        AdmissionResult stale{};
        stale.outcome = Outcome::kStale;
        return stale;
    }
    ApplicationEntry& source = entries()[from];
    if (source.connections > 0) {
        account_reservation(from, -1);
        --source.connections;
        account_reservation(from, +1);
        --counted_total_;
        if (source.admitted > 0) --source.admitted;
        // Nor in its login rate (its login was moments ago).
        source.connects_per_second_at =
            std::max(0.0, connects_per_second(source, now) - 1.0 / kRateWindowSeconds);
        source.connects_counted_at = now;
    }
    return try_admit(to.entry, req, now);
}

void Ledger::begin_wait(int32_t i) noexcept {
    account_reservation(i, -1);
    ++entries()[i].admission_waiting;
    ++waiting_total_;
    account_reservation(i, +1);
}

void Ledger::end_wait(int32_t i) noexcept {
    ApplicationEntry& e = entries()[i];
    if (e.admission_waiting > 0) {
        account_reservation(i, -1);
        --e.admission_waiting;
        --waiting_total_;
        account_reservation(i, +1);
    }
}

void Ledger::abandon_wait(int32_t i) noexcept {
    end_wait(i);
}

void Ledger::release(int32_t i, int64_t session_micros) noexcept {
    ApplicationEntry& e = entries()[i];
    if (e.connections <= 0) return;  // never goes negative, even on a double release
    account_reservation(i, -1);
    --e.connections;
    account_reservation(i, +1);
    --counted_total_;
    ++e.sessions_ended;
    e.session_micros_total += std::max<int64_t>(0, session_micros);
}

void Ledger::move_session(int32_t from, int32_t to) noexcept {
    ApplicationEntry& source = entries()[from];
    ApplicationEntry& target = entries()[to];
    if (from == to || source.connections <= 0) return;
    account_reservation(from, -1);
    account_reservation(to, -1);
    --source.connections;
    ++target.connections;
    account_reservation(from, +1);
    account_reservation(to, +1);
    target.peak_connections = std::max(target.peak_connections, target.connections);
}

bool Ledger::record_refusal(EntryRef r, bool real, int64_t now) noexcept {
    if (!holds(r)) return false;
    ApplicationEntry& e = entries()[r.entry];
    if (real)
        count_rejection(r.entry, now);
    else
        count_would_reject(r.entry);
    e.last_seen_at = now;
    return true;
}

void Ledger::log_for_sampler(int32_t i) noexcept {
    const ApplicationEntry& e = entries()[i];
    if (e.rejected == e.rejected_at_last_sample &&
        e.would_reject == e.would_reject_at_last_sample) {
        // Its first refusal since the sampler looked: log it once. A log
        // overrun is seen by the sampler (head - read > size), which then
        // visits every entry.
        refusal_log_[refusal_log_head_ % kRefusalLogSize] = i;
        ++refusal_log_head_;
    }
}

void Ledger::count_would_reject(int32_t i) noexcept {
    log_for_sampler(i);
    ++entries()[i].would_reject;
}

void Ledger::count_rejection(int32_t i, int64_t now) noexcept {
    ApplicationEntry& e = entries()[i];
    log_for_sampler(i);
    ++e.rejected;
    e.last_rejected_at = now;
    e.last_seen_at = now;
}

void Ledger::set_budget(int32_t i, const Budget* budget) noexcept {
    if (i == kOtherEntry) return;  // "(other)" never has a budget
    account_reservation(i, -1);
    ApplicationEntry& e = entries()[i];
    account_budget_sums(e, -1);
    e.has_budget = budget != nullptr;
    e.budget = budget ? *budget : Budget{};
    account_budget_sums(e, +1);
    account_reservation(i, +1);
}

void Ledger::account_budget_sums(const ApplicationEntry& e, int sign) noexcept {
    if (!e.has_budget) return;
    budgeted_ += sign;
    reserved_total_ += sign * int64_t{e.budget.reserved_connections};
    if (e.budget.capped()) budget_total_ += sign * int64_t{e.budget.max_connections};
}

int32_t Ledger::differing_budgets(const NamedBudget* const* rows, int32_t from, int32_t to,
                                  const NamedBudget** changes) const noexcept {
    int32_t n = 0;
    for (int32_t k = from; k < to; ++k) {
        const NamedBudget& row = *rows[k];
        const int32_t i = find(row.application_name);
        if (i >= 0 && i != kOtherEntry && entries()[i].has_budget &&
            same_budget(entries()[i].budget, row.budget))
            continue;
        // "(other)" never holds a budget: apply_budget_change ignores it, so
        // it is never reported as differing (it would be retried forever).
        if (i == kOtherEntry || std::strncmp(row.application_name, kOtherName, kNameBytes) == 0)
            continue;
        changes[n++] = &row;
    }
    return n;
}

bool Ledger::apply_budget_change(const char* name, const Budget* budget, int64_t now) noexcept {
    ++budget_generation_;
    if (budget == nullptr) {
        int32_t i = find(name);
        if (i > 0) set_budget(i, nullptr);
        return true;
    }
    bool full = false;
    int32_t i = find_or_add_for_budget(name, now, &full);
    if (full) return false;
    set_budget(i, budget);
    return true;
}

int32_t Ledger::replace_budgets(const NamedBudget* budgets, int32_t n, int64_t now) noexcept {
    ++budget_generation_;
    ApplicationEntry* es = entries();
    for (int32_t i = 1; i <= max_applications_; ++i)
        if (es[i].in_use && es[i].has_budget) set_budget(i, nullptr);
    int32_t unplaced = 0;
    for (int32_t k = 0; k < n; ++k) {
        bool full = false;
        int32_t i = find_or_add_for_budget(budgets[k].application_name, now, &full);
        if (full)
            ++unplaced;
        else
            set_budget(i, &budgets[k].budget);
    }
    return unplaced;
}

int32_t Ledger::evict_idle(int64_t cutoff, int32_t visits) noexcept {
    int32_t removed = 0;
    visits = std::min(visits, max_applications_);
    for (int32_t v = 0; v < visits; ++v) {
        if (evict_cursor_ < 1 || evict_cursor_ > max_applications_) evict_cursor_ = 1;
        const int32_t i = evict_cursor_++;
        if (idle_unbudgeted(i) && entries()[i].last_seen_at < cutoff) {
            remove(i);
            ++removed;
        }
    }
    return removed;
}

int32_t Ledger::take_refused_entries(int32_t* out, int32_t max) noexcept {
    const int64_t pending = refusal_log_head_ - refusal_log_read_;
    // Not read past on an overrun: the caller visits every entry, then
    // calls skip_refused_entries(); if it never gets there, the next call
    // says -1 again, so no entry is stranded outside the log.
    if (pending > kRefusalLogSize || pending > max) return -1;
    for (int64_t k = 0; k < pending; ++k)
        out[k] = refusal_log_[(refusal_log_read_ + k) % kRefusalLogSize];
    refusal_log_read_ = refusal_log_head_;
    return static_cast<int32_t>(pending);
}

void Ledger::skip_refused_entries() noexcept {
    __atomic_store_n(&refusal_log_read_, refusal_log_head_, __ATOMIC_RELAXED);
}

Ledger::RefusalsSinceSample Ledger::record_sample(int32_t i, int32_t active) noexcept {
    ApplicationEntry& e = entries()[i];
    if (active > e.peak_active) __atomic_store_n(&e.peak_active, active, __ATOMIC_RELAXED);
    const RefusalsSinceSample since{e.rejected - e.rejected_at_last_sample,
                                    e.would_reject - e.would_reject_at_last_sample};
    // Atomic: views copy the entry under the same shared lock meanwhile.
    __atomic_store_n(&e.rejected_at_last_sample, e.rejected, __ATOMIC_RELAXED);
    __atomic_store_n(&e.would_reject_at_last_sample, e.would_reject, __ATOMIC_RELAXED);
    return since;
}

int32_t Ledger::restore_counters(const ApplicationEntry& saved, int64_t now) noexcept {
    int32_t i = kOtherEntry;
    if (saved.incarnation != 0) {  // the ledger's own "(other)" has incarnation 0
        bool full = false;
        i = find_or_add(saved.name, now, &full);
        if (full) return -1;
    } else {
        other_used_ = true;
    }
    ApplicationEntry& e = entries()[i];
    e.peak_connections = saved.peak_connections;
    e.peak_active = saved.peak_active;
    e.admitted = saved.admitted;
    e.rejected = saved.rejected;
    e.would_reject = saved.would_reject;
    e.reaped = saved.reaped;
    e.sessions_ended = saved.sessions_ended;
    e.session_micros_total = saved.session_micros_total;
    e.last_rejected_at = saved.last_rejected_at;
    e.last_seen_at = saved.last_seen_at;
    e.stats_reset_at = saved.stats_reset_at;
    e.connects_per_second_at = 0;  // a restart is a pause of unknown length
    e.connects_counted_at = now;
    e.rejected_at_last_sample = e.rejected;
    e.would_reject_at_last_sample = e.would_reject;
    return i;
}

void Ledger::reset_counters(int32_t i, int64_t now) noexcept {
    for (int32_t k = 0; k <= max_applications_; ++k) {
        if (i >= 0 && k != i) continue;
        ApplicationEntry& e = entries()[k];
        if (!e.in_use) continue;
        e.peak_connections = e.connections;
        e.peak_active = 0;
        e.admitted = e.rejected = e.would_reject = e.reaped = 0;
        e.sessions_ended = e.session_micros_total = 0;
        e.connects_per_second_at = 0;
        e.connects_counted_at = now;
        e.rejected_at_last_sample = e.would_reject_at_last_sample = 0;
        e.last_rejected_at = 0;
        e.stats_reset_at = now;
    }
}

CapacityFigures Ledger::capacity_figures() const noexcept {
    CapacityFigures f{};
    f.capacity = capacity_;
    f.connections = counted_total_;
    f.admission_waiting = waiting_total_;
    f.applications_tracked = tracked_;
    f.applications_max = max_applications_;
    f.reserved_total = reserved_total_;
    f.budget_total = budget_total_;
    f.reserved_unused = reserved_unused_enforced_ + reserved_unused_monitored_;
    f.free_unreserved = std::max<int64_t>(
        0, int64_t{capacity_} - counted_total_ - waiting_total_ - f.reserved_unused);
    return f;
}

int32_t Ledger::copy_entries(ApplicationEntry* out, int32_t* numbers, int32_t max) const noexcept {
    int32_t n = 0;
    const ApplicationEntry* es = entries();
    for (int32_t i = 0; i <= max_applications_ && n < max; ++i) {
        if (!es[i].in_use) continue;
        if (i == kOtherEntry && !other_used_) continue;
        if (numbers) numbers[n] = i;
        out[n++] = es[i];
    }
    return n;
}

bool Ledger::consistent() const noexcept {
    int64_t total = 0, waiting = 0, enforced = 0, monitored = 0, reserved = 0, caps = 0;
    int32_t tracked = 0, budgeted = 0;
    const ApplicationEntry* es = entries();
    for (int32_t i = 0; i <= max_applications_; ++i) {
        const ApplicationEntry& e = es[i];
        if (!e.in_use) continue;
        if (e.connections < 0 || e.admission_waiting < 0) return false;
        total += e.connections;
        waiting += e.admission_waiting;
        if (i != kOtherEntry) {
            ++tracked;
            if (find(e.name) != i) return false;
        }
        if (e.has_budget) {
            ++budgeted;
            reserved += e.budget.reserved_connections;
            if (e.budget.capped()) caps += e.budget.max_connections;
            if (e.budget.mode == BudgetMode::kMonitor)
                monitored += unused_of(e);
            else
                enforced += unused_of(e);
        }
    }
    return total == counted_total_ && waiting == waiting_total_ && tracked == tracked_ &&
           enforced == reserved_unused_enforced_ && monitored == reserved_unused_monitored_ &&
           tracked + free_top_ == max_applications_ && budgeted == budgeted_ &&
           reserved == reserved_total_ && caps == budget_total_;
}

}  // namespace pgpool_stats::core

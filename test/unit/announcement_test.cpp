// The payload of NOTIFY pgpool_stats_budget: every column of a set row, the
// drop's name, JSON escaping, and the 8000-byte limit of NOTIFY. The real
// LISTEN is in TAP 034.
#include <gtest/gtest.h>

#include <cstring>

#include <string>

#include "core/announcement.hpp"

using namespace pgpool_stats::core;

namespace {

NamedBudget row(const char* name) {
    NamedBudget r{};
    copy_name(r.application_name, name);
    r.budget = unlimited_budget();
    return r;
}

std::string payload(const Announcement& a) {
    const size_t need = write_announcement(a, nullptr, 0);
    std::string out(need + 1, '\0');
    EXPECT_EQ(write_announcement(a, out.data(), out.size()), need);
    out.resize(need);
    return out;
}

}  // namespace

TEST(Announcement, SetCarriesEveryColumn) {
    NamedBudget r = row("checkout");
    r.budget.max_connections = 12;
    r.budget.reserved_connections = 2;
    r.budget.mode = BudgetMode::kMonitor;
    r.budget.admission_timeout_ms = 1500;
    r.budget.idle_in_transaction_timeout_ms = 30000;
    r.budget.idle_session_timeout_ms = -1;
    r.budget.allowed_role_count = 2;
    copy_name(r.budget.allowed_roles[0], "shop");
    copy_name(r.budget.allowed_roles[1], "ops");
    EXPECT_EQ(payload({AnnouncementAction::kSet, 3, &r, "team \"shop\""}),
              "{\"action\": \"set\", \"application_name\": \"checkout\", \"sequence\": 3, "
              "\"max_connections\": 12, \"reserved_connections\": 2, \"mode\": \"monitor\", "
              "\"admission_timeout\": 1500, \"idle_in_transaction_timeout\": 30000, "
              "\"idle_session_timeout\": null, \"allowed_roles\": [\"shop\", \"ops\"], "
              "\"comment\": \"team \\\"shop\\\"\", \"truncated\": false}");
}

TEST(Announcement, NullsAreNull) {
    NamedBudget r = row("batch");
    EXPECT_EQ(payload({AnnouncementAction::kSet, 1, &r, nullptr}),
              "{\"action\": \"set\", \"application_name\": \"batch\", \"sequence\": 1, "
              "\"max_connections\": null, \"reserved_connections\": 0, \"mode\": \"enforce\", "
              "\"admission_timeout\": 0, \"idle_in_transaction_timeout\": null, "
              "\"idle_session_timeout\": null, \"allowed_roles\": null, \"comment\": null, "
              "\"truncated\": false}");
}

TEST(Announcement, DropCarriesTheName) {
    NamedBudget r = row("reports");
    EXPECT_EQ(payload({AnnouncementAction::kDrop, 2, &r, "ignored"}),
              "{\"action\": \"drop\", \"application_name\": \"reports\", \"sequence\": 2}");
}

TEST(Announcement, EscapesWhatJsonCannotCarry) {
    NamedBudget r = row("a\\b\"c");
    r.budget.allowed_role_count = 1;
    copy_name(r.budget.allowed_roles[0], "tab\there");
    const std::string p = payload({AnnouncementAction::kSet, 1, &r, "line\nnext \x7f caf\xc3\xa9"});
    EXPECT_NE(p.find("\"application_name\": \"a\\\\b\\\"c\""), std::string::npos) << p;
    EXPECT_NE(p.find("[\"tab\\u0009here\"]"), std::string::npos) << p;
    EXPECT_NE(p.find("\"comment\": \"line\\u000anext \\u007f caf\xc3\xa9\""), std::string::npos)
        << p;
}

TEST(Announcement, AnOversizedCommentIsLeftOut) {
    NamedBudget r = row("checkout");
    r.budget.max_connections = 40;
    r.budget.allowed_role_count = 1;
    copy_name(r.budget.allowed_roles[0], "shop");
    const std::string comment(kAnnouncementMaxBytes, 'x');
    const std::string p = payload({AnnouncementAction::kSet, 1, &r, comment.c_str()});
    EXPECT_LE(p.size(), kAnnouncementMaxBytes);
    EXPECT_EQ(p.find("\"comment\""), std::string::npos) << p;
    EXPECT_NE(p.find("\"allowed_roles\": [\"shop\"]"), std::string::npos) << p;
    EXPECT_NE(p.find("\"max_connections\": 40"), std::string::npos) << p;
    EXPECT_NE(p.find("\"truncated\": true"), std::string::npos) << p;
}

TEST(Announcement, ACommentThatJustFitsIsKept) {
    NamedBudget r = row("checkout");
    const size_t bare = payload({AnnouncementAction::kSet, 1, &r, ""}).size();
    const std::string fits(kAnnouncementMaxBytes - bare, 'x');
    const std::string p = payload({AnnouncementAction::kSet, 1, &r, fits.c_str()});
    EXPECT_EQ(p.size(), kAnnouncementMaxBytes);
    EXPECT_NE(p.find("\"truncated\": false"), std::string::npos);
    const std::string one_more(kAnnouncementMaxBytes - bare + 1, 'x');
    EXPECT_NE(
        payload({AnnouncementAction::kSet, 1, &r, one_more.c_str()}).find("\"truncated\": true"),
        std::string::npos);
}

TEST(Announcement, TheLargestRowsFitTheLimit) {
    // 16 roles of 63 control bytes, each escaped to 6 bytes, and a name the
    // same: within NOTIFY's limit, so only a comment is ever left out.
    NamedBudget r{};
    std::memset(r.application_name, '\x01', kNameBytes - 1);
    r.budget = unlimited_budget();
    r.budget.max_connections = 2147483647;
    r.budget.reserved_connections = 2147483647;
    r.budget.admission_timeout_ms = 600000;
    r.budget.idle_in_transaction_timeout_ms = 31536000000;
    r.budget.idle_session_timeout_ms = 31536000000;
    r.budget.allowed_role_count = kMaxAllowedRoles;
    for (auto& role : r.budget.allowed_roles) std::memset(role, '\x02', kNameBytes - 1);
    const std::string p = payload({AnnouncementAction::kSet, INT64_MAX, &r, nullptr});
    EXPECT_LE(p.size(), kAnnouncementMaxBytes);
    EXPECT_NE(p.find("\"truncated\": false"), std::string::npos);
    const std::string comment(100000, '\x03');
    const std::string cut = payload({AnnouncementAction::kSet, INT64_MAX, &r, comment.c_str()});
    EXPECT_LE(cut.size(), kAnnouncementMaxBytes);
    EXPECT_NE(cut.find("\"allowed_roles\": [\""), std::string::npos);
    EXPECT_NE(cut.find("\"truncated\": true"), std::string::npos);
}

TEST(Announcement, CutLikeSnprintf) {
    NamedBudget r = row("checkout");
    const Announcement a{AnnouncementAction::kDrop, 1, &r, nullptr};
    const std::string whole = payload(a);
    char small[10];
    EXPECT_EQ(write_announcement(a, small, sizeof small), whole.size());
    EXPECT_EQ(std::string(small), whole.substr(0, sizeof small - 1));
}

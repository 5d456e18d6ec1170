// The alert outbox: rows written with the block that raised them, the delivery state machine,
// and retraction (never silent removal) when their block is rolled back.
#include <gtest/gtest.h>

#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

// One alert per expired window and per mismatch.
class ExpiryAndMismatchRules final : public AlertRules {
 public:
  std::vector<AlertDraft> Evaluate(const BlockEffects& effects) const override {
    std::vector<AlertDraft> out;
    for (const HistoryEntry& e : effects.history) {
      if (e.kind() == HistoryKind::kExpired || e.kind() == HistoryKind::kVerdictMismatch) {
        out.push_back({std::string(HistoryKindName(e.kind())), e.identity_hash, 2,
                       "{\"identity\":\"" + e.identity_hash.ToHex() + "\",\"entry\":" +
                           std::to_string(e.seq) + "}"});
      }
    }
    return out;
  }
};

class Outbox : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(OptionsAt(dir_.path())); }

  ApplyResult ApplyNext(std::uint64_t seconds, std::vector<AppliedSubmission> subs = {},
                        std::uint32_t fork = 0) {
    auto r = store_->ApplyBlock(chain_.Next(seconds, std::move(subs), fork), &rules_);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : ApplyResult{};
  }
  std::vector<AlertRow> Pending() {
    auto r = store_->Read().PendingAlerts(100);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<AlertRow>{};
  }
  AlertRow Row(std::uint64_t id) { return store_->Read().GetAlert(id).value(); }

  TempDir dir_;
  Chain chain_;
  ExpiryAndMismatchRules rules_;
  std::unique_ptr<Store> store_;
};

TEST_F(Outbox, RulesRaiseRowsTogetherWithTheBlockThatCausedThem) {
  ApplyNext(12, {Sub(Attest(1))});
  const ApplyResult r = ApplyNext(31 * kDay);
  ASSERT_EQ(r.alert_ids.size(), 1u);
  const std::vector<AlertRow> pending = Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].rule, "expired");
  EXPECT_EQ(pending[0].identity_hash, HashFor(1));
  EXPECT_EQ(pending[0].state, AlertState::kPending);
  EXPECT_EQ(pending[0].block_number, 2u);
  EXPECT_EQ(pending[0].idempotency_key.size(), 64u);
  EXPECT_EQ(pending[0].body, "{\"identity\":\"" + HashFor(1).ToHex() + "\",\"entry\":2}")
      << "rules see the entries numbered as stored";
}

TEST_F(Outbox, TheIdempotencyKeyIsAFunctionOfTheBlockAndTheAlert) {
  ApplyNext(12, {Sub(Attest(1), Failed("x", "y"))});
  TempDir other_dir;
  auto other = OpenOrDie(OptionsAt(other_dir.path()));
  Chain same;
  ASSERT_TRUE(other->ApplyBlock(same.Next(12, {Sub(Attest(1), Failed("x", "y"))}), &rules_).ok());
  EXPECT_EQ(Pending()[0].idempotency_key, other->Read().PendingAlerts(10)->at(0).idempotency_key);
}

TEST_F(Outbox, DeliveryFailuresAreCountedAndADeliveredRowLeavesThePendingList) {
  ApplyNext(12, {Sub(Attest(1), Failed("x", "y"))});
  const std::uint64_t id = Pending().at(0).id;
  ASSERT_TRUE(store_->RecordAlertFailure(id, 100, "HTTP 503").ok());
  ASSERT_TRUE(store_->RecordAlertFailure(id, 200, "timeout").ok());
  EXPECT_EQ(Row(id).attempts, 2u);
  EXPECT_EQ(Row(id).last_error, "timeout");
  EXPECT_EQ(Pending().size(), 1u) << "still due";
  ASSERT_TRUE(store_->MarkAlertDelivered(id, 300).ok());
  EXPECT_EQ(Row(id).state, AlertState::kDelivered);
  EXPECT_EQ(Row(id).attempts, 3u);
  EXPECT_TRUE(Pending().empty());
}

TEST_F(Outbox, ARowCanBeDeadLettered) {
  ApplyNext(12, {Sub(Attest(1), Failed("x", "y"))});
  const std::uint64_t id = Pending().at(0).id;
  ASSERT_TRUE(store_->MarkAlertDeadLettered(id, 100, "gave up after 10 attempts").ok());
  EXPECT_EQ(Row(id).state, AlertState::kDeadLettered);
  EXPECT_TRUE(Pending().empty());
}

TEST_F(Outbox, IllegalTransitionsAndUnknownRowsAreRefused) {
  ApplyNext(12, {Sub(Attest(1), Failed("x", "y"))});
  const std::uint64_t id = Pending().at(0).id;
  ASSERT_TRUE(store_->MarkAlertDelivered(id, 1).ok());
  const Status again = store_->MarkAlertDelivered(id, 2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kPrecondition);
  EXPECT_EQ(store_->MarkAlertDeadLettered(id, 2, "x").error().code, ErrorCode::kPrecondition);
  EXPECT_EQ(store_->MarkAlertDelivered(999, 2).error().code, ErrorCode::kNotFound);
}

TEST_F(Outbox, RollingBackABlockRetractsItsAlertsInsteadOfDroppingThem) {
  ApplyNext(12, {Sub(Attest(1)), Sub(Attest(2))});
  const ApplyResult orphan =
      ApplyNext(12, {Sub(Attest(3), Failed("a", "b")), Sub(Attest(4), Failed("c", "d"))});
  ASSERT_EQ(orphan.alert_ids.size(), 2u);
  const std::uint64_t delivered = orphan.alert_ids[0];
  const std::uint64_t undelivered = orphan.alert_ids[1];
  ASSERT_TRUE(store_->MarkAlertDelivered(delivered, 50).ok());

  ASSERT_TRUE(store_->RollbackTo(1).ok());
  EXPECT_EQ(Row(undelivered).state, AlertState::kRetracted) << "never sent: nothing to retract";
  EXPECT_EQ(Row(delivered).state, AlertState::kRetractionPending);
  const std::vector<AlertRow> pending = Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, delivered);
  ASSERT_TRUE(store_->MarkAlertDelivered(delivered, 60).ok());
  EXPECT_EQ(Row(delivered).state, AlertState::kRetractionDelivered);
  EXPECT_TRUE(Pending().empty());
}

TEST_F(Outbox, TickAlertsAttachToTheCursorBlockAndAreRetractedWithIt) {
  EXPECT_EQ(store_->AppendAlerts({{"expiring", HashFor(1), 1, "{}"}}).error().code,
            ErrorCode::kPrecondition);
  ApplyNext(12, {Sub(Attest(1))});
  ApplyNext(12);
  auto ids = store_->AppendAlerts({{"expiring", HashFor(1), 1, "{\"in\":86400}"}});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(Row(ids->at(0)).block_number, 2u);
  ASSERT_TRUE(store_->RollbackTo(1).ok());
  EXPECT_EQ(Row(ids->at(0)).state, AlertState::kRetracted);
}

TEST_F(Outbox, EveryRowIsListedInIdOrderAcrossPages) {
  std::vector<AppliedSubmission> subs;
  for (std::uint32_t i = 0; i < 5; ++i) subs.push_back(Sub(Attest(i), Failed("x", "y")));
  ApplyNext(12, std::move(subs));
  std::vector<std::uint64_t> ids;
  PageRequest page{"", 2};
  do {
    auto r = store_->Read().Alerts(page);
    ASSERT_TRUE(r.ok());
    for (const AlertRow& a : r->items) ids.push_back(a.id);
    page.cursor = r->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(store_->Read().PendingAlerts(10, 3)->size(), 2u) << "after id 3";
}

TEST_F(Outbox, RowsSurviveReopeningWithTheirState) {
  ApplyNext(12, {Sub(Attest(1), Failed("x", "y"))});
  const std::uint64_t id = Pending().at(0).id;
  ASSERT_TRUE(store_->RecordAlertFailure(id, 5, "refused").ok());
  store_.reset();
  store_ = OpenOrDie(OptionsAt(dir_.path()));
  EXPECT_EQ(Row(id).attempts, 1u);
  auto more = store_->AppendAlerts({{"note", HashFor(1), 0, "{}"}});
  ASSERT_TRUE(more.ok());
  EXPECT_GT(more->at(0), id) << "ids are never reused";
}

}  // namespace
}  // namespace cvmwatch::store

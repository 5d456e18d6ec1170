// The store against real RocksDB in temp dirs: block application, cursor rules, rollback,
// queries and pagination, the audit chain, and refusing foreign or damaged databases.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "cvmwatch/store/detail/serialize.h"
#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(OptionsAt(dir_.path())); }

  ApplyResult Apply(const InputBlock& block) {
    auto r = store_->ApplyBlock(block);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : ApplyResult{};
  }
  InputBlock ApplyNext(std::uint64_t seconds, std::vector<AppliedSubmission> subs = {},
                       std::uint32_t fork = 0) {
    InputBlock b = chain_.Next(seconds, std::move(subs), fork);
    Apply(b);
    return b;
  }
  IdentityState Get(const Hash32& h) {
    auto s = store_->Read().GetIdentity(h);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? *s : IdentityState{};
  }
  Hash32 StateDigest() {
    auto d = store_->Read().StateDigest();
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : Hash32{};
  }
  void Reopen() {
    store_.reset();
    store_ = OpenOrDie(OptionsAt(dir_.path()));
  }

  TempDir dir_;
  Chain chain_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AppliedBlockIsReadableThroughAView) {
  const auto reg = Attest(1, 2, 1);
  const InputBlock b = ApplyNext(12, {Sub(reg, Passed(Digest("m")))});
  const ReadView view = store_->Read();
  auto cursor = view.Cursor();
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ(**cursor, b.header);
  const IdentityState s = Get(reg.identity_hash);
  EXPECT_EQ(s.cloud_type, 2);
  EXPECT_EQ(s.measurement_hash, Digest("m"));
  auto events = view.EventsOfBlock(b.header.number);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].target_identity, reg.identity_hash);
  auto block = view.Block(b.header.number);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(*block, b.header);
}

TEST_F(StoreTest, BlocksWithoutEventsStillAdvanceTheCursor) {
  ApplyNext(12);
  const InputBlock last = ApplyNext(12);
  auto cursor = store_->Read().Cursor();
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  EXPECT_EQ((*cursor)->number, last.header.number);
}

TEST_F(StoreTest, ABlockThatDoesNotFollowTheCursorIsRefused) {
  ApplyNext(12);
  Chain other(5);
  auto gap = store_->ApplyBlock(other.Next(12));
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, ErrorCode::kPrecondition);
  InputBlock wrong_parent = chain_.Next(12);
  wrong_parent.header.parent_hash = Digest("elsewhere");
  auto fork = store_->ApplyBlock(wrong_parent);
  ASSERT_FALSE(fork.ok());
  EXPECT_NE(fork.error().message.find("roll back"), std::string::npos);
}

TEST_F(StoreTest, ReapplyingAnAppliedBlockIsANoOp) {
  const InputBlock b = ApplyNext(12, {Sub(Attest(1))});
  const Hash32 before = StateDigest();
  auto again = store_->ApplyBlock(b);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_applied);
  EXPECT_EQ(StateDigest(), before);
  InputBlock competitor = b;
  competitor.header.hash = Digest("other");
  auto refused = store_->ApplyBlock(competitor);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPrecondition);
}

TEST_F(StoreTest, RollbackRestoresTheExactEarlierState) {
  ApplyNext(12, {Sub(Attest(1)), Sub(Attest(2, 2, 2))});
  const InputBlock kept = ApplyNext(12, {Sub(Ttl(HashFor(1), kDay, kDay), std::nullopt)});
  const Hash32 at_kept = StateDigest();
  const StatusCounts counts_at_kept = *store_->Read().CountByStatus();
  ApplyNext(12, {Sub(Reattest(HashFor(1), 3))});
  ApplyNext(40 * kDay, {Sub(Attest(4))});
  ASSERT_NE(StateDigest(), at_kept);

  ASSERT_TRUE(store_->RollbackTo(kept.header.number).ok());
  EXPECT_EQ(StateDigest(), at_kept);
  EXPECT_EQ(*store_->Read().CountByStatus(), counts_at_kept);
  EXPECT_EQ(store_->Read().GetIdentity(HashFor(3)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->Read().Block(kept.header.number + 1).error().code, ErrorCode::kNotFound);
  Reopen();
  EXPECT_EQ(StateDigest(), at_kept) << "the rollback is durable";
}

TEST_F(StoreTest, RollingBackEverythingEmptiesTheStore) {
  TempDir empty_dir;
  const Hash32 empty = *OpenOrDie(OptionsAt(empty_dir.path()))->Read().StateDigest();
  const InputBlock first = ApplyNext(12, {Sub(Attest(1))});
  ApplyNext(12, {Sub(Attest(2))});
  ASSERT_TRUE(store_->RollbackTo(first.header.number - 1).ok());
  EXPECT_FALSE(store_->Read().Cursor()->has_value());
  EXPECT_EQ(StateDigest(), empty);
}

TEST_F(StoreTest, RollbackBeyondTheRetainedWindowIsRefusedAndChangesNothing) {
  store_.reset();
  StoreOptions o = OptionsAt(dir_.path());
  o.retained_blocks = 3;
  store_ = OpenOrDie(o);
  for (int i = 0; i < 6; ++i) ApplyNext(12, {Sub(Attest(static_cast<std::uint32_t>(i)))});
  const Hash32 before = StateDigest();
  const Status s = store_->RollbackTo(1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kPrecondition);
  EXPECT_NE(s.error().message.find("undo record"), std::string::npos);
  EXPECT_EQ(StateDigest(), before);
  EXPECT_TRUE(store_->RollbackTo(4).ok()) << "within the window";
}

TEST_F(StoreTest, TheStateSurvivesReopening) {
  ApplyNext(12, {Sub(Attest(1)), Sub(RegisterD(2, 0))});
  ApplyNext(12, {Sub(Reattest(HashFor(1), 5))});
  const Hash32 before = StateDigest();
  Reopen();
  EXPECT_EQ(StateDigest(), before);
  ApplyNext(12, {Sub(Attest(7))});  // the writer resumed at the right cursor and counters
  auto h = store_->Read().History(HashFor(7), Order::kAscending, {});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->items.size(), 1u);
  EXPECT_GT(h->items[0].seq, 3u);
}

// --- snapshots ---------------------------------------------------------------------------------

TEST_F(StoreTest, AViewKeepsSeeingItsSnapshotWhileTheWriterMovesOn) {
  const InputBlock first = ApplyNext(12, {Sub(Attest(1))});
  const ReadView old_view = store_->Read();
  ApplyNext(12, {Sub(Attest(2)), Sub(Reattest(HashFor(1), 3))});
  EXPECT_EQ((*old_view.Cursor())->number, first.header.number);
  EXPECT_EQ(old_view.GetIdentity(HashFor(1))->status, IdentityStatus::kFresh);
  EXPECT_EQ(old_view.GetIdentity(HashFor(2)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->Read().GetIdentity(HashFor(1))->status, IdentityStatus::kRotatedAway);
}

TEST_F(StoreTest, ReadersOnOtherThreadsAlwaysSeeOneConsistentState) {
  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    while (!done.load()) {
      const ReadView view = store_->Read();
      auto counts = view.CountByStatus();
      auto listed = view.ListIdentities({}, {"", 1000});
      if (!counts.ok() || !listed.ok()) {
        ++inconsistent;
        continue;
      }
      std::uint64_t total = 0;
      for (std::uint64_t c : *counts) total += c;
      if (total != listed->items.size()) ++inconsistent;
      ++reads;
    }
  };
  std::thread a(reader);
  std::thread b(reader);
  // Start writing once the readers are running (no sleeps: wait on their progress).
  while (reads.load() < 2 && inconsistent.load() == 0) std::this_thread::yield();
  for (std::uint32_t i = 0; i < 60; ++i) {
    ApplyNext(12, {Sub(Attest(i)), Sub(Reattest(HashFor(i / 2), i + 500))});
  }
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GE(reads.load(), 2);
}

// --- queries -----------------------------------------------------------------------------------

TEST_F(StoreTest, ListingIdentitiesPagesByKeyWithoutRepeatsOrGaps) {
  std::vector<AppliedSubmission> subs;
  for (std::uint32_t i = 0; i < 25; ++i) subs.push_back(Sub(Attest(i, 1 + i % 2, 1)));
  ApplyNext(12, std::move(subs));
  ASSERT_TRUE(store_->Flush().ok());
  ApplyNext(12, {Sub(Attest(200)), Sub(Attest(201))});  // some rows in SST files, some in memory
  std::set<Hash32> seen;
  PageRequest page{"", 7};
  int pages = 0;
  Hash32 previous;
  do {
    auto r = store_->Read().ListIdentities({}, page);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    for (const IdentityState& s : r->items) {
      EXPECT_TRUE(seen.insert(s.identity_hash).second);
      EXPECT_LT(previous, s.identity_hash) << "ascending by hash";
      previous = s.identity_hash;
    }
    page.cursor = r->next_cursor;
    ++pages;
    if (pages == 2) ApplyNext(12, {Sub(Attest(100))});  // a concurrent insert does not disturb
  } while (!page.cursor.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_GE(seen.size(), 27u);
}

TEST_F(StoreTest, ListingFiltersByStatusCloudAndTee) {
  ApplyNext(12, {Sub(Attest(1, 1, 1)), Sub(Attest(2, 2, 1)), Sub(Attest(3, 2, 2)),
                 Sub(Attest(4, 2, 2), Failed("snp.vcek", "revoked"))});
  auto by = [&](IdentityFilter f) {
    auto r = store_->Read().ListIdentities(f, {});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->items.size() : 0u;
  };
  EXPECT_EQ(by({IdentityStatus::kFresh, std::nullopt, std::nullopt}), 3u);
  EXPECT_EQ(by({IdentityStatus::kMismatch, std::nullopt, std::nullopt}), 1u);
  EXPECT_EQ(by({std::nullopt, std::uint8_t{2}, std::nullopt}), 3u);
  EXPECT_EQ(by({IdentityStatus::kFresh, std::uint8_t{2}, std::uint8_t{2}}), 1u);
  EXPECT_EQ(by({IdentityStatus::kRotatedAway, std::nullopt, std::nullopt}), 0u);
  auto counts = store_->Read().CountByStatus();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[static_cast<std::size_t>(IdentityStatus::kFresh)], 3u);
  EXPECT_EQ((*counts)[static_cast<std::size_t>(IdentityStatus::kMismatch)], 1u);
}

TEST_F(StoreTest, StatusPagesFollowTheStatusIndex) {
  std::vector<AppliedSubmission> subs;
  for (std::uint32_t i = 0; i < 12; ++i) subs.push_back(Sub(Attest(i)));
  ApplyNext(12, std::move(subs));
  ApplyNext(31 * kDay);  // every TEE window closes
  std::size_t total = 0;
  PageRequest page{"", 5};
  do {
    auto r = store_->Read().ListIdentities({IdentityStatus::kTeeExpired, {}, {}}, page);
    ASSERT_TRUE(r.ok());
    total += r->items.size();
    page.cursor = r->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(total, 12u);
}

TEST_F(StoreTest, ACursorTokenOfAnotherListingIsRefused) {
  std::vector<AppliedSubmission> subs;
  for (std::uint32_t i = 0; i < 3; ++i) subs.push_back(Sub(Attest(i)));
  ApplyNext(12, std::move(subs));
  auto r = store_->Read().ListIdentities({}, {"", 1});
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->next_cursor.empty());
  auto wrong = store_->Read().History(HashFor(0), Order::kAscending, {r->next_cursor, 1});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidLength);
  EXPECT_FALSE(store_->Read().ListIdentities({}, {"zz", 1}).ok());
}

TEST_F(StoreTest, HistoryPagesInBothDirections) {
  const auto reg = Attest(1);
  ApplyNext(12, {Sub(reg)});
  for (int i = 0; i < 6; ++i) {
    ApplyNext(12, {Sub(Reattest(reg.identity_hash, 1))});
    if (i == 2) {
      ASSERT_TRUE(store_->Flush().ok());  // half in SST files, half in the memtable
    }
  }
  ApplyNext(12, {Sub(Attest(2))});  // another identity's entries are not included
  auto collect = [&](Order order) {
    std::vector<std::uint64_t> seqs;
    PageRequest page{"", 3};
    do {
      auto r = store_->Read().History(reg.identity_hash, order, page);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      for (const HistoryEntry& e : r->items) seqs.push_back(e.seq);
      page.cursor = r->next_cursor;
    } while (!page.cursor.empty());
    return seqs;
  };
  const std::vector<std::uint64_t> up = collect(Order::kAscending);
  std::vector<std::uint64_t> down = collect(Order::kDescending);
  ASSERT_EQ(up.size(), 7u);
  EXPECT_TRUE(std::is_sorted(up.begin(), up.end()));
  std::reverse(down.begin(), down.end());
  EXPECT_EQ(up, down);
}

TEST_F(StoreTest, ExpiringListsWindowsClosingWithinTheHorizonWithoutEvents) {
  ApplyNext(12, {Sub(Attest(1))});
  const std::uint64_t closes = chain_.time() + kDefaultTeeTtl;
  ApplyNext(12, {Sub(Attest(2))});
  ApplyNext(28 * kDay);
  auto soon = store_->Read().Expiring(chain_.time(), 2 * kDay + 60);
  ASSERT_TRUE(soon.ok());
  ASSERT_EQ(soon->size(), 2u);
  EXPECT_EQ((*soon)[0].identity_hash, HashFor(1));
  EXPECT_EQ((*soon)[0].window, ExpiryWindow::kTee);
  EXPECT_EQ((*soon)[0].at, closes);
  auto both = store_->Read().Expiring(chain_.time(), 40 * kDay);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 4u) << "TEE and TPM windows of both identities";
  EXPECT_TRUE(std::is_sorted(both->begin(), both->end(),
                             [](const auto& a, const auto& b) { return a.at < b.at; }));
  ApplyNext(2 * kDay + 60);  // the clock tick past both closes
  EXPECT_EQ(Get(HashFor(1)).status, IdentityStatus::kTeeExpired);
  EXPECT_TRUE(store_->Read().Expiring(chain_.time(), kDay)->empty());
}

// --- audit chain -------------------------------------------------------------------------------

TEST_F(StoreTest, EveryHistoryEntryIsInAnAuditChainThatVerifiesOffline) {
  ApplyNext(12, {Sub(Attest(1)), Sub(Attest(2))});
  ApplyNext(12, {Sub(Reattest(HashFor(1), 3))});
  const ReadView view = store_->Read();
  auto head = view.AuditHeadNow();
  ASSERT_TRUE(head.ok());
  auto records = view.AuditRecords(1, 100);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), head->last_seq);
  EXPECT_EQ(records->size(), 4u) << "2 registrations + rotation recorded under both identities";
  EXPECT_TRUE(VerifyAuditChain(*records, 1, view.AuditGenesisHash(), head->last_hash).ok());

  // The export as bytes round-trips.
  for (const AuditRecord& r : *records) {
    auto back = DecodeAuditRecord(EncodeAuditRecord(r));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, r);
  }
  std::vector<AuditRecord> edited = *records;
  std::get<RegisteredDetail>(edited[1].entry->detail).tee_ttl = 1;
  const Status tampered = VerifyAuditChain(edited, 1, view.AuditGenesisHash(), head->last_hash);
  ASSERT_FALSE(tampered.ok());
  EXPECT_NE(tampered.error().message.find("record 3"), std::string::npos)
      << tampered.error().message;
  std::vector<AuditRecord> gap = *records;
  gap.erase(gap.begin() + 1);
  EXPECT_NE(VerifyAuditChain(gap, 1, view.AuditGenesisHash()).error().message.find("gap"),
            std::string::npos);
  std::vector<AuditRecord> cut(records->begin(), records->end() - 1);
  EXPECT_FALSE(VerifyAuditChain(cut, 1, view.AuditGenesisHash(), head->last_hash).ok());
  EXPECT_FALSE(VerifyAuditChain(*records, 1, AuditGenesis(1, TestRegistry())).ok())
      << "the genesis binds the chain id";
}

TEST_F(StoreTest, RollbacksExtendTheAuditChainInsteadOfRewritingIt) {
  const InputBlock first = ApplyNext(12, {Sub(Attest(1))});
  const InputBlock orphan = ApplyNext(12, {Sub(Attest(2))});
  auto before = store_->Read().AuditRecords(1, 100);
  ASSERT_TRUE(store_->RollbackTo(first.header.number).ok());
  chain_.ResetTo(first.header);
  ApplyNext(12, {Sub(Attest(3))}, /*fork=*/1);
  const ReadView view = store_->Read();
  auto after = view.AuditRecords(1, 100);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size() + 2);
  for (std::size_t i = 0; i < before->size(); ++i) EXPECT_EQ((*after)[i], (*before)[i]);
  EXPECT_EQ((*after)[2].kind, AuditKind::kRollback);
  EXPECT_EQ((*after)[2].block_hash, orphan.header.hash);
  EXPECT_TRUE(
      VerifyAuditChain(*after, 1, view.AuditGenesisHash(), view.AuditHeadNow()->last_hash).ok());
}

// --- refusing foreign and damaged databases ------------------------------------------------------

TEST(StoreOpen, AStoreMadeForAnotherChainOrRegistryIsRefused) {
  TempDir dir;
  { OpenOrDie(OptionsAt(dir.path())); }
  StoreOptions other_chain = OptionsAt(dir.path());
  other_chain.chain_id = 1;
  auto r = Store::Open(other_chain);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPrecondition);
  EXPECT_NE(r.error().message.find("made for chain 31337"), std::string::npos) << r.error().message;
  StoreOptions other_registry = OptionsAt(dir.path());
  other_registry.registry = Address::FromHex("0xE626f5503B455F775AA9845843B46033a26A635d").value();
  EXPECT_FALSE(Store::Open(other_registry).ok());
  StoreOptions more_contracts = OptionsAt(dir.path());
  more_contracts.watched_contracts.push_back(
      Address::FromHex("0x870B920d80Bd11BA32661348A00054F19C05a069").value());
  EXPECT_FALSE(Store::Open(more_contracts).ok());
  EXPECT_TRUE(Store::Open(OptionsAt(dir.path())).ok());
}

class WalSyncPolicies : public ::testing::TestWithParam<WalSync> {};

TEST_P(WalSyncPolicies, EveryPolicyKeepsAppliedBlocksAcrossReopening) {
  TempDir dir;
  StoreOptions o = OptionsAt(dir.path());
  o.wal_sync = GetParam();
  o.wal_sync_interval = std::chrono::milliseconds(0);
  Chain chain;
  {
    auto store = OpenOrDie(o);
    for (std::uint32_t i = 0; i < 5; ++i)
      ASSERT_TRUE(store->ApplyBlock(chain.Next(12, {Sub(Attest(i))})).ok());
  }
  auto reopened = OpenOrDie(o);
  EXPECT_EQ((*reopened->Read().Cursor())->number, 5u);
  EXPECT_TRUE(reopened->Read().GetIdentity(HashFor(4)).ok());
}

INSTANTIATE_TEST_SUITE_P(All, WalSyncPolicies,
                         ::testing::Values(WalSync::kEveryBatch, WalSync::kInterval,
                                           WalSync::kNever));

TEST(StoreOpen, ADirectoryWithOtherFilesIsNotTurnedIntoAStore) {
  TempDir dir;
  std::ofstream(dir.path() / "notes.txt") << "hello";
  auto r = Store::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("holds files but no database"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "CURRENT"));
}

TEST(StoreOpen, AMissingStoreIsNotFoundWhenCreationIsOff) {
  TempDir dir;
  StoreOptions o = OptionsAt(dir.path() / "absent");
  o.create_if_missing = false;
  auto r = Store::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST(StoreOpen, AnotherApplicationsRocksDbIsRefused) {
  TempDir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path().string(), &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "k", "v").ok());
    delete raw;
  }
  auto r = Store::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPrecondition);
  EXPECT_NE(r.error().message.find("not a cvmwatch store"), std::string::npos) << r.error().message;
}

TEST(StoreOpen, ADamagedManifestIsAClearErrorNotACrash) {
  TempDir dir;
  { OpenOrDie(OptionsAt(dir.path()))->ApplyBlock(Chain().Next(12, {Sub(Attest(1))})).value(); }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) {
      std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << "garbage, not a manifest";
    }
  }
  auto r = Store::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIo) << r.error().message;
  EXPECT_NE(r.error().message.find("store:"), std::string::npos) << r.error().message;
}

// Writes a raw row into one of the store's column families.
void PutRaw(const std::filesystem::path& path, const std::string& cf_name, const std::string& key,
            const std::string& value) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::Open(rocksdb::DBOptions(), path.string(), descriptors, &handles, &raw).ok());
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf_name) {
      ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[i], key, value).ok());
    }
  }
  for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
  delete raw;
}

TEST(StoreOpen, ACorruptIdentityRowIsReportedByNameOnRead) {
  TempDir dir;
  const auto reg = Attest(1);
  { OpenOrDie(OptionsAt(dir.path()))->ApplyBlock(Chain().Next(12, {Sub(reg)})).value(); }
  const std::string key(reinterpret_cast<const char*>(reg.identity_hash.data()), 32);
  PutRaw(dir.path(), "identities", key, std::string("\x01\x02\x03", 3));
  auto store = OpenOrDie(OptionsAt(dir.path()));
  auto s = store->Read().GetIdentity(reg.identity_hash);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidLength);
  EXPECT_NE(s.error().message.find("identities row " + reg.identity_hash.ToHex()),
            std::string::npos)
      << s.error().message;
  // The writer refuses to build on it too, rather than guessing.
  auto applied = store->ApplyBlock([&] {
    Chain c;
    c.Next(12);
    return c.Next(12, {Sub(Reattest(reg.identity_hash, 1))});
  }());
  EXPECT_FALSE(applied.ok());
}

TEST(StoreOpen, ACorruptMetaRowIsRefusedAtOpen) {
  TempDir dir;
  { OpenOrDie(OptionsAt(dir.path())); }
  PutRaw(dir.path(), "meta", "binding", std::string("\x01\xff", 2));
  auto r = Store::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidLength);
  EXPECT_NE(r.error().message.find("meta row binding"), std::string::npos) << r.error().message;
}

TEST(StoreOpen, ASchemaFromAnotherVersionIsRefused) {
  TempDir dir;
  { OpenOrDie(OptionsAt(dir.path())); }
  PutRaw(dir.path(), "meta", "schema", std::string("\x01\x09", 2));
  auto r = Store::Open(OptionsAt(dir.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("schema version 9"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace cvmwatch::store

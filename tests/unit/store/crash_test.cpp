// Crash safety: a writer killed with SIGKILL at an arbitrary instant leaves a store that, on
// reopen, holds exactly the blocks up to its cursor — none lost, none applied twice — and the
// writer can carry on from there.
//
// The test forks; the child re-executes this binary (a clean process: no inherited RocksDB
// threads) filtered to this test with CVMWATCH_STORE_CRASH_CHILD set, applies blocks and
// reports each applied block number through a pipe. The parent kills it once it has seen enough
// progress. No sleeps: the pipe is the only synchronisation, and the child never runs out of
// work before the kill (it waits on a second pipe after its last block).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cvmwatch/store/store.h"
#include "store/store_test_util.h"

extern char** environ;

namespace cvmwatch::store {
namespace {

using namespace testing;  // NOLINT: the store test builders

constexpr std::size_t kBlocks = 3000;
constexpr std::uint64_t kKillAfterBlock = 40;
constexpr std::uint64_t kChildFailed = ~std::uint64_t{0};
constexpr const char* kChildDirEnv = "CVMWATCH_STORE_CRASH_CHILD";
constexpr const char* kProgressFdEnv = "CVMWATCH_STORE_CRASH_PROGRESS_FD";
constexpr const char* kHoldFdEnv = "CVMWATCH_STORE_CRASH_HOLD_FD";

std::vector<InputBlock> CrashChain() {
  TrafficGenerator traffic(99);
  Chain chain;
  std::vector<InputBlock> blocks;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    const std::uint64_t gap = traffic.NextGap();
    blocks.push_back(chain.Next(gap, traffic.NextSubmissions()));
  }
  return blocks;
}

bool WriteAll(int fd, std::uint64_t value) {
  return ::write(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value);
}

// The child's whole life: apply blocks with WAL sync on, report each, then wait to be killed.
[[noreturn]] void RunChild(const char* dir) {
  const int progress = std::atoi(std::getenv(kProgressFdEnv));
  const int hold = std::atoi(std::getenv(kHoldFdEnv));
  auto store = Store::Open(OptionsAt(dir, /*sync=*/true));
  if (!store.ok()) {
    WriteAll(progress, kChildFailed);
    std::_Exit(1);
  }
  for (const InputBlock& b : CrashChain()) {
    if (!(*store)->ApplyBlock(b).ok() || !WriteAll(progress, b.header.number)) {
      WriteAll(progress, kChildFailed);
      std::_Exit(1);
    }
  }
  char byte;
  while (::read(hold, &byte, 1) != 0) {
  }
  std::_Exit(0);
}

TEST(CrashSafety, AWriterKilledMidStreamLosesNothingAndDuplicatesNothing) {
  if (const char* child_dir = std::getenv(kChildDirEnv)) RunChild(child_dir);

  TempDir dir;
  int progress[2];
  int hold[2];
  ASSERT_EQ(::pipe(progress), 0);
  ASSERT_EQ(::pipe(hold), 0);
  // Everything the child needs is prepared before fork(): between fork and exec only
  // async-signal-safe calls are allowed in a process that may have other threads.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kChildDirEnv) + "=" + dir.path().string());
  env_strings.push_back(std::string(kProgressFdEnv) + "=" + std::to_string(progress[1]));
  env_strings.push_back(std::string(kHoldFdEnv) + "=" + std::to_string(hold[0]));
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string program = "store_test";
  std::string filter =
      "--gtest_filter=CrashSafety.AWriterKilledMidStreamLosesNothingAndDuplicatesNothing";
  char* const argv[] = {program.data(), filter.data(), nullptr};

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(progress[0]);
    ::close(hold[1]);
    ::execve("/proc/self/exe", argv, envp.data());
    ::_exit(127);
  }
  ::close(progress[1]);
  ::close(hold[0]);

  std::uint64_t reported = 0;
  while (reported < kKillAfterBlock) {
    std::uint64_t n = 0;
    const ssize_t got = ::read(progress[0], &n, sizeof n);
    ASSERT_EQ(got, static_cast<ssize_t>(sizeof n)) << "the child ended before it was killed";
    ASSERT_NE(n, kChildFailed) << "the child could not apply its blocks";
    ASSERT_EQ(n, reported + 1) << "blocks are applied in order";
    reported = n;
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
  ::close(progress[0]);
  ::close(hold[1]);

  // Reopen: the cursor is at or past the last block the child reported applied.
  const std::vector<InputBlock> blocks = CrashChain();
  auto recovered = OpenOrDie(OptionsAt(dir.path()));
  ASSERT_NE(recovered, nullptr);
  auto cursor = recovered->Read().Cursor();
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  const std::uint64_t survived = (*cursor)->number;
  ASSERT_GE(survived, reported);
  ASSERT_LE(survived, kBlocks);
  ::testing::Test::RecordProperty("reported", std::to_string(reported));
  ::testing::Test::RecordProperty("survived", std::to_string(survived));
  EXPECT_EQ(**cursor, blocks[survived - 1].header);

  // Nothing lost, nothing twice: the same state as applying exactly blocks 1..survived.
  TempDir reference_dir;
  auto reference = OpenOrDie(OptionsAt(reference_dir.path()));
  for (std::size_t i = 0; i < survived; ++i) ASSERT_TRUE(reference->ApplyBlock(blocks[i]).ok());
  EXPECT_EQ(recovered->Read().StateDigest().value(), reference->Read().StateDigest().value());
  EXPECT_EQ(recovered->Read().AuditHeadNow().value(), reference->Read().AuditHeadNow().value());

  // A replay of the last block is recognised, and the writer continues where it stopped.
  auto replay = recovered->ApplyBlock(blocks[survived - 1]);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->already_applied);
  const std::size_t until = std::min<std::size_t>(survived + 20, kBlocks);
  for (std::size_t i = survived; i < until; ++i) {
    ASSERT_TRUE(recovered->ApplyBlock(blocks[i]).ok());
    ASSERT_TRUE(reference->ApplyBlock(blocks[i]).ok());
  }
  EXPECT_EQ(recovered->Read().StateDigest().value(), reference->Read().StateDigest().value());
}

}  // namespace
}  // namespace cvmwatch::store

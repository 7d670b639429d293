#include "core/idle_queue.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <vector>

namespace gourmet::core {
namespace {

// A real loop: entries expire through the queue's one uv_timer. Timeouts
// are a few milliseconds; the loop runs until the queue is empty (or a
// safety timer stops it), so nothing here waits on wall-clock guesses.
class IdleQueueTest : public ::testing::Test {
 protected:
  struct Waiter : IdleQueue::Entry {
    explicit Waiter(int n = 0) : id(n) {}
    int id;
  };

  void SetUp() override {
    uv_loop_init(&loop_);
    queue_.init(&loop_, [](IdleQueue::Entry* entry) {
      expired_.push_back(static_cast<Waiter*>(entry)->id);
    });
    expired_.clear();
  }

  void TearDown() override {
    queue_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until the queue has nothing left (its timer then stops).
  void runUntilEmpty() {
    uv_timer_t guard;
    uv_timer_init(&loop_, &guard);
    uv_timer_start(
        &guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 5000, 0);
    uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
    while (!queue_.empty() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

  uv_loop_t loop_{};
  IdleQueue queue_;
  static inline std::vector<int> expired_;
};

TEST_F(IdleQueueTest, EntriesExpireOldestFirst) {
  Waiter a(1), b(2), c(3);
  queue_.push(&a, Millis{5});
  queue_.push(&b, Millis{5});
  queue_.push(&c, Millis{5});
  runUntilEmpty();
  EXPECT_EQ(expired_, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(a.deadline_ms, 0u) << "expired entries are no longer queued";
}

TEST_F(IdleQueueTest, RemovedEntriesNeverExpire) {
  Waiter a(1), b(2), c(3);
  queue_.push(&a, Millis{5});
  queue_.push(&b, Millis{5});
  queue_.push(&c, Millis{5});
  queue_.remove(&b);  // the middle
  queue_.remove(&a);  // the head
  queue_.remove(&a);  // twice is harmless
  runUntilEmpty();
  EXPECT_EQ(expired_, (std::vector<int>{3}));
}

TEST_F(IdleQueueTest, PushingAgainMovesAnEntryToTheBack) {
  Waiter a(1), b(2);
  queue_.push(&a, Millis{5});
  queue_.push(&b, Millis{5});
  queue_.push(&a, Millis{10});  // a request came and went: a waits anew
  runUntilEmpty();
  EXPECT_EQ(expired_, (std::vector<int>{2, 1}));
}

TEST_F(IdleQueueTest, AnEntryDoesNotExpireBeforeItsTimeout) {
  Waiter a(1);
  uv_update_time(&loop_);
  const uint64_t pushed = uv_now(&loop_);
  queue_.push(&a, Millis{30});
  runUntilEmpty();
  ASSERT_EQ(expired_, (std::vector<int>{1}));
  EXPECT_GE(uv_now(&loop_) - pushed, 30u);
}

TEST_F(IdleQueueTest, EmptyQueueLetsTheLoopEnd) {
  Waiter a;
  queue_.push(&a, Millis{1000});
  queue_.remove(&a);
  EXPECT_TRUE(queue_.empty());
}

}  // namespace
}  // namespace gourmet::core

// The way back for snapshots: a reference released on a worker thread is
// dropped on the thread that runs the main loop.

#include "core/snapshot_publisher.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace gourmet::core {
namespace {

using namespace std::chrono_literals;

// A snapshot whose deleter records the thread that destroyed it.
std::shared_ptr<const Snapshot> recordingSnapshot(std::atomic<std::thread::id>& destroyed_on) {
  return std::shared_ptr<const Snapshot>(new Snapshot, [&destroyed_on](const Snapshot* s) {
    destroyed_on.store(std::this_thread::get_id());
    delete s;
  });
}

TEST(SnapshotPublisher, ReleasedSnapshotIsDestroyedOnTheLoopThread) {
  SnapshotPublisher publisher;
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  // A referenced handle to keep the loop running until the test stops it.
  uv_async_t stop;
  uv_async_init(&loop, &stop, [](uv_async_t* async) {
    uv_close(reinterpret_cast<uv_handle_t*>(async), nullptr);
  });
  publisher.attach(&loop);
  std::atomic<std::thread::id> destroyed_on{};
  std::atomic<std::thread::id> loop_thread_id{};
  std::thread loop_thread([&] {
    loop_thread_id.store(std::this_thread::get_id());
    uv_run(&loop, UV_RUN_DEFAULT);
  });

  std::thread worker([&] { publisher.release(recordingSnapshot(destroyed_on)); });
  worker.join();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (destroyed_on.load() == std::thread::id() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  uv_async_send(&stop);
  loop_thread.join();
  EXPECT_NE(destroyed_on.load(), std::thread::id()) << "never destroyed";
  EXPECT_EQ(destroyed_on.load(), loop_thread_id.load());
  EXPECT_EQ(publisher.releasedPending(), 0u);

  publisher.detach();
  uv_run(&loop, UV_RUN_DEFAULT);  // finishes closing the publisher's handle
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(SnapshotPublisher, WithoutALoopReleasedSnapshotsWaitForTheOwner) {
  std::atomic<std::thread::id> destroyed_on{};
  std::optional<SnapshotPublisher> publisher(std::in_place);
  std::thread worker([&] { publisher->release(recordingSnapshot(destroyed_on)); });
  worker.join();
  EXPECT_EQ(publisher->releasedPending(), 1u);
  EXPECT_EQ(destroyed_on.load(), std::thread::id());
  publisher.reset();  // the owner's thread drops what is left
  EXPECT_EQ(destroyed_on.load(), std::this_thread::get_id());
}

}  // namespace
}  // namespace gourmet::core

#include <gtest/gtest.h>

#include "sim/timeline.h"

namespace tessel {
namespace {

TEST(Rate, TimeForRoundsUp) {
  const Rate r = Rate::bytes_per_kilocycle(12800);  // 12.8 B/cycle
  EXPECT_EQ(r.time_for(0).count(), 0u);
  EXPECT_EQ(r.time_for(128).count(), 10u);
  EXPECT_EQ(r.time_for(129).count(), 11u);
}

TEST(Timeline, FirstComeFirstServed) {
  sim::Timeline t(Rate::bytes_per_cycle(8));
  EXPECT_EQ(t.serve(Cycles(0), Cycles(0), 80).count(), 10u);   // [0, 10)
  EXPECT_EQ(t.serve(Cycles(4), Cycles(4), 16).count(), 12u);   // waits until 10
  EXPECT_EQ(t.serve(Cycles(20), Cycles(20), 8).count(), 21u);  // idle gap
  EXPECT_EQ(t.busy_cycles().count(), 13u);
  EXPECT_EQ(t.bytes(), 104u);
}

TEST(Timeline, FutureBookingsDoNotBlockEarlierRequests) {
  sim::Timeline t(Rate::bytes_per_cycle(8));
  // A transfer books [100, 110) for data that arrives later.
  EXPECT_EQ(t.serve(Cycles(0), Cycles(100), 80).count(), 110u);
  // An access at 0 fits before it.
  EXPECT_EQ(t.serve(Cycles(0), Cycles(0), 40).count(), 5u);
  // One at 97 needs 5 cycles: the gap [97, 100) is too short, so after 110.
  EXPECT_EQ(t.serve(Cycles(1), Cycles(97), 40).count(), 115u);
  // One at 95 for 5 cycles fits exactly in [95, 100).
  EXPECT_EQ(t.serve(Cycles(2), Cycles(95), 40).count(), 100u);
  // Later, the calendar forgets what ended; a request at 200 is not delayed.
  EXPECT_EQ(t.serve(Cycles(200), Cycles(200), 8).count(), 201u);
}

}  // namespace
}  // namespace tessel

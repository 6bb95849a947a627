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
  EXPECT_EQ(t.serve(Cycles(0), 80).count(), 10u);  // [0, 10)
  EXPECT_EQ(t.serve(Cycles(4), 16).count(), 12u);  // waits until 10
  EXPECT_EQ(t.serve(Cycles(20), 8).count(), 21u);  // idle gap
  EXPECT_EQ(t.busy_cycles().count(), 13u);
  EXPECT_EQ(t.bytes(), 104u);
}

}  // namespace
}  // namespace tessel

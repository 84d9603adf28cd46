package weir.loaders.datasync;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EventIdSetTest {
  @Test
  void remembersEveryIdAcrossGrowthAndRefusesRepeats() {
    EventIdSet set = new EventIdSet();
    for (int i = 0; i < 100_000; i++) assertThat(set.add("event-" + i)).isTrue();
    for (int i = 0; i < 100_000; i += 7) assertThat(set.add("event-" + i)).isFalse();
    assertThat(set.add("event-100000")).isTrue();
    assertThat(set.size()).isEqualTo(100_001);
  }
}

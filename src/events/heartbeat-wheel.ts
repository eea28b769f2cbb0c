/**
 * Heartbeats for every open stream from one timer. A timer per stream costs memory and a wake-up
 * each; instead streams sit in the slots of a wheel that turns one slot per `periodMs / slots`,
 * so each stream is visited once per period, and the visits of 10,000 streams are spread over
 * the period instead of landing at once. A stream joins the slot visited last, so its first
 * heartbeat comes one period (less at most one tick) after it opened.
 */

/** What the wheel keeps on each stream: the slot it is in (-1 when in none). */
export interface WheelEntry {
  wheelSlot: number;
}

export interface HeartbeatWheel<T extends WheelEntry> {
  add(entry: T): void;
  remove(entry: T): void;
  readonly size: number;
  close(): void;
}

/** Slots per wheel, and the shortest tick: short periods (tests) get fewer slots. */
const MAX_SLOTS = 16;
const MIN_TICK_MS = 25;

export function createHeartbeatWheel<T extends WheelEntry>(
  periodMs: number,
  beat: (entry: T) => void,
): HeartbeatWheel<T> {
  const slotCount = Math.max(1, Math.min(MAX_SLOTS, Math.floor(periodMs / MIN_TICK_MS)));
  const slots = Array.from({ length: slotCount }, () => new Set<T>());
  let current = 0;
  let size = 0;
  const timer = setInterval(() => {
    current = (current + 1) % slotCount;
    // A beat may close its stream, which removes it from this Set: deleting while iterating
    // a Set is safe and never skips the others.
    for (const entry of slots[current] as Set<T>) beat(entry);
  }, periodMs / slotCount);
  // Open sockets keep the process alive, not this timer.
  timer.unref();
  return {
    add(entry) {
      if (entry.wheelSlot !== -1) return;
      entry.wheelSlot = current;
      (slots[current] as Set<T>).add(entry);
      size++;
    },
    remove(entry) {
      if (entry.wheelSlot === -1) return;
      slots[entry.wheelSlot]?.delete(entry);
      entry.wheelSlot = -1;
      size--;
    },
    get size() {
      return size;
    },
    close() {
      clearInterval(timer);
      for (const slot of slots) for (const entry of slot) entry.wheelSlot = -1;
      for (const slot of slots) slot.clear();
      size = 0;
    },
  };
}

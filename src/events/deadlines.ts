/**
 * One timer for the expiry of every open stream: a binary min-heap of deadlines with a single
 * `setTimeout` armed for the earliest. Adding and removing cost O(log n); each entry keeps its
 * own position, so a stream that closes early leaves at once (no tombstones held until expiry).
 */

/** What the queue keeps on each stream: when it is due, and where it sits (-1 when absent). */
export interface DeadlineEntry {
  readonly deadlineMs: number;
  deadlineIndex: number;
}

export interface DeadlineQueue<T extends DeadlineEntry> {
  add(entry: T): void;
  remove(entry: T): void;
  readonly size: number;
  close(): void;
}

/** setTimeout cannot wait longer; later deadlines re-arm until their time comes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createDeadlineQueue<T extends DeadlineEntry>(
  onDue: (entry: T) => void,
  now: () => number = Date.now,
): DeadlineQueue<T> {
  const heap: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Number.POSITIVE_INFINITY;

  const place = (entry: T, index: number) => {
    heap[index] = entry;
    entry.deadlineIndex = index;
  };
  const up = (index: number) => {
    const entry = heap[index] as T;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((heap[parent] as T).deadlineMs <= entry.deadlineMs) break;
      place(heap[parent] as T, index);
      index = parent;
    }
    place(entry, index);
  };
  const down = (index: number) => {
    const entry = heap[index] as T;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= heap.length) break;
      const right = child + 1;
      if (right < heap.length && (heap[right] as T).deadlineMs < (heap[child] as T).deadlineMs) child = right;
      if ((heap[child] as T).deadlineMs >= entry.deadlineMs) break;
      place(heap[child] as T, index);
      index = child;
    }
    place(entry, index);
  };
  const removeAt = (index: number) => {
    const removed = heap[index] as T;
    const last = heap.pop() as T;
    if (last !== removed) {
      place(last, index);
      up(index);
      down(last.deadlineIndex);
    }
    removed.deadlineIndex = -1;
  };

  const fire = () => {
    timer = undefined;
    armedFor = Number.POSITIVE_INFINITY;
    const time = now();
    while (heap.length > 0 && (heap[0] as T).deadlineMs <= time) {
      const due = heap[0] as T;
      removeAt(0);
      onDue(due);
    }
    arm();
  };
  const arm = () => {
    const first = heap[0];
    if (first === undefined || first.deadlineMs >= armedFor) return;
    clearTimeout(timer);
    armedFor = first.deadlineMs;
    timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, first.deadlineMs - now())));
    // Open sockets keep the process alive, not this timer.
    timer.unref();
  };

  return {
    add(entry) {
      if (entry.deadlineIndex !== -1) return;
      heap.push(entry);
      up(heap.length - 1);
      arm();
    },
    remove(entry) {
      if (entry.deadlineIndex === -1) return;
      removeAt(entry.deadlineIndex);
      // The timer stays armed for a deadline that may have left: it then fires early, finds
      // nothing due and re-arms for the next one. Cheaper than re-arming on every removal.
    },
    get size() {
      return heap.length;
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
      armedFor = Number.POSITIVE_INFINITY;
      for (const entry of heap) entry.deadlineIndex = -1;
      heap.length = 0;
    },
  };
}

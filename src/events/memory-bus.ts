import type { BusMessage, EventBus } from './types.ts';

/** Single-instance bus: delivers synchronously to this process's subscribers. */
export function createMemoryBus(): EventBus {
  const handlers = new Set<(message: BusMessage) => void>();
  return {
    async publish(message) {
      for (const handler of handlers) handler(message);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      handlers.clear();
    },
  };
}

// Test helpers for pub/sub (pubsub.ts).
import type { TypedEventTarget } from '@graphql-yoga/typed-event-target';

/** An event target that counts its listeners per topic (`listeners.get(topic)`). */
export function countingTarget() {
  const inner = new EventTarget();
  const listeners = new Map<string, number>();
  const target = {
    addEventListener(topic: string, listener: EventListener) {
      listeners.set(topic, (listeners.get(topic) ?? 0) + 1);
      inner.addEventListener(topic, listener);
    },
    removeEventListener(topic: string, listener: EventListener) {
      listeners.set(topic, (listeners.get(topic) ?? 0) - 1);
      inner.removeEventListener(topic, listener);
    },
    dispatchEvent: (event: Event) => inner.dispatchEvent(event),
  };
  return { target: target as unknown as TypedEventTarget<CustomEvent>, listeners };
}

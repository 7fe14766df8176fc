import type { EventEmitter } from 'node:events';
import type { ChangeEvent } from './types.ts';

/**
 * Subscribes a store change listener to the store's 'change' events. A failing listener must not fail the mutation
 * that already committed, nor starve the other listeners: it is caught and reported as a process warning.
 */
export function subscribeSafely(events: EventEmitter, listener: (event: ChangeEvent) => void): () => void {
  const safe = (event: ChangeEvent): void => {
    try {
      listener(event);
    } catch (err) {
      process.emitWarning(`store change listener threw: ${String(err)}`);
    }
  };
  events.on('change', safe);
  return () => events.off('change', safe);
}

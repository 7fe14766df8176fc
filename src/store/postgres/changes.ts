/**
 * Change events across a cluster, through PostgreSQL LISTEN/NOTIFY.
 *
 * A mutation that changes something runs `SELECT pg_notify(<channel>, <ChangeEvent JSON>)` inside its transaction,
 * so the notification leaves on COMMIT and never for a rollback. Every node keeps one extra connection that LISTENs
 * on the channel and hands each payload to its `onChange` listeners: a change made through any node reaches every
 * node. A node gets its own changes too, straight after its COMMIT (so the caller sees the event before the
 * mutation's promise resolves, as with SQLite); PostgreSQL also echoes them to the node's own LISTEN, and that echo,
 * recognised by (sending backend pid, payload), is dropped: each listener sees each change once.
 *
 * The channel is per schema (`drawbridge_changes`, or `drawbridge_changes.<schema>` outside `public`), so
 * deployments sharing one database in separate schemas do not hear each other. The listening connection reconnects
 * with backoff; changes committed while it is down are not replayed (a node that must not miss any reloads on
 * reconnect — not done yet). LISTEN needs a direct connection or session pooling, not a transaction pooler.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { ClientConfig, Notification, PoolClient } from 'pg';
import type { ChangeEvent } from '../types.ts';
import { subscribeSafely } from '../change-listeners.ts';

export interface ChangeBus {
  readonly channel: string;
  /** NOTIFYs `events` from inside the caller's open transaction; `cancel()` if that transaction does not commit. */
  publish(client: PoolClient, events: ChangeEvent[]): Promise<{ cancel(): void }>;
  /** Hands this node's committed changes to its listeners. */
  deliver(events: ChangeEvent[]): void;
  /** Announces changes already committed (outside any transaction) to every node, this one included. */
  announce(pool: pg.Pool, events: ChangeEvent[]): Promise<void>;
  subscribe(listener: (event: ChangeEvent) => void): () => void;
  close(): Promise<void>;
}

const MAX_CHANNEL_BYTES = 63; // NAMEDATALEN - 1
const RETRY_MS = { min: 500, max: 30_000 } as const;
const KINDS = new Set([
  'tenant',
  'group',
  'connector',
  'app',
  'user',
  'user-group',
  'policy',
  'location',
  'certificate',
]);
const OPS = new Set(['created', 'updated', 'deleted']);

export function channelFor(schema: string): string {
  if (schema === 'public') return 'drawbridge_changes';
  const name = `drawbridge_changes.${schema}`;
  return Buffer.byteLength(name) <= MAX_CHANNEL_BYTES
    ? name
    : `drawbridge_changes.${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** A payload from the wire, checked field by field (anyone who can connect can NOTIFY). */
function parseEvent(payload: string | undefined): ChangeEvent | null {
  try {
    const v = JSON.parse(payload ?? '') as Record<string, unknown>;
    if (
      !KINDS.has(v.kind as string) ||
      !OPS.has(v.op as string) ||
      typeof v.tenantId !== 'string' ||
      typeof v.id !== 'string'
    )
      return null;
    return { kind: v.kind as ChangeEvent['kind'], tenantId: v.tenantId, id: v.id, op: v.op as ChangeEvent['op'] };
  } catch {
    return null;
  }
}

/** Connects the listening connection (throws if it cannot) and returns the bus. */
export async function openChangeBus(config: ClientConfig, channel: string): Promise<ChangeBus> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  /** `<backend pid> <payload>` → how many of our own notifications from that connection are still to echo back. */
  const echoes = new Map<string, number>();
  let listener: pg.Client | null = null;
  let closed = false;
  let retryMs: number = RETRY_MS.min;
  let timer: NodeJS.Timeout | undefined;

  function onNotification(msg: Notification): void {
    if (msg.channel !== channel) return;
    const key = `${msg.processId} ${msg.payload ?? ''}`;
    const pending = echoes.get(key);
    if (pending !== undefined) {
      if (pending > 1) echoes.set(key, pending - 1);
      else echoes.delete(key);
      return;
    }
    const event = parseEvent(msg.payload);
    if (event) events.emit('change', event);
    else process.emitWarning(`store: ignored a malformed change notification on ${channel}`);
  }

  async function connect(): Promise<void> {
    const client = new pg.Client(config);
    client.on('notification', onNotification);
    client.on('error', (err) => lost(client, err));
    client.on('end', () => lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (closed) {
      await client.end().catch(() => {}); // closed while reconnecting
      return;
    }
    listener = client;
    retryMs = RETRY_MS.min;
  }

  function lost(client: pg.Client, err?: Error): void {
    if (client !== listener || closed) return;
    listener = null;
    echoes.clear(); // what was in flight on the old connection will never arrive
    client.end().catch(() => {});
    process.emitWarning(
      `store: lost the PostgreSQL change listener (${err?.message ?? 'connection ended'}); reconnecting`,
    );
    retry();
  }

  function retry(): void {
    timer = setTimeout(() => {
      connect().catch(() => {
        retryMs = Math.min(retryMs * 2, RETRY_MS.max);
        if (!closed) retry();
      });
    }, retryMs);
    timer.unref();
  }

  await connect();

  const bus: ChangeBus = {
    channel,
    async publish(client, list) {
      const sent: string[] = [];
      for (const event of list) {
        const payload = JSON.stringify(event);
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_notify($1, $2)', [
          channel,
          payload,
        ]);
        const key = `${rows[0].pid} ${payload}`;
        echoes.set(key, (echoes.get(key) ?? 0) + 1);
        sent.push(key);
      }
      return {
        cancel() {
          for (const key of sent) {
            const pending = echoes.get(key) ?? 0;
            if (pending > 1) echoes.set(key, pending - 1);
            else echoes.delete(key);
          }
        },
      };
    },
    deliver(list) {
      for (const event of list) events.emit('change', event);
    },
    async announce(pool, list) {
      // In a transaction of its own, so the echo is recorded before COMMIT lets the notification leave.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const published = await bus.publish(client, list);
        try {
          await client.query('COMMIT');
        } catch (err) {
          published.cancel();
          throw err;
        }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
      bus.deliver(list);
    },
    subscribe(listener) {
      return subscribeSafely(events, listener);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      events.removeAllListeners();
      const client = listener;
      listener = null;
      await client?.end().catch(() => {});
    },
  };
  return bus;
}

/**
 * The node registry in Redis (`sessions: { kind: redis }`): each node is `<prefix>edge:<id>`, its last heartbeat as
 * JSON with a Redis expiry of the heartbeat's TTL, so a node that stops beating vanishes without anyone cleaning up;
 * `<prefix>edges` is the set of ids to look in (members whose key has expired are dropped when the list is read).
 * No SCAN over the keyspace, which also holds every session.
 */
import { Redis } from 'ioredis';
import type { EdgeNode, Store } from '../../store/types.ts';

export type EdgeNodes = Store['edgeNodes'] & { close(): Promise<void> };

export function createRedisEdgeNodes(options: { url: string; keyPrefix?: string }): EdgeNodes {
  const prefix = options.keyPrefix ?? 'drawbridge:';
  const redis = new Redis(options.url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', () => {
    /* reported by the failing command; ioredis reconnects by itself */
  });
  const setKey = `${prefix}edges`;
  const nodeKey = (id: string): string => `${prefix}edge:${id}`;
  return {
    async heartbeat(node, ttlMs) {
      const record: EdgeNode = { ...node, lastSeenAt: new Date().toISOString() };
      await redis
        .multi()
        .set(nodeKey(node.id), JSON.stringify(record), 'PX', Math.max(1, Math.ceil(ttlMs)))
        .sadd(setKey, node.id)
        .exec();
    },
    async remove(id) {
      await redis.multi().del(nodeKey(id)).srem(setKey, id).exec();
    },
    async list() {
      const ids = (await redis.smembers(setKey)).sort();
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map(nodeKey));
      const gone = ids.filter((_, i) => raws[i] === null);
      if (gone.length > 0) await redis.srem(setKey, ...gone);
      return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as EdgeNode);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

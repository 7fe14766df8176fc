import type { FastifyInstance } from 'fastify';
import type { EdgeNode } from '../../../store/types.ts';
import type { AdminRoutePlugin } from '../types.ts';
import { listOf } from '../schemas.ts';

/** What the route reads: the node registry (edge/cluster/registry.ts), passed in so the API imports none of it. */
export interface EdgeNodeSource {
  readonly id: string;
  list(): Promise<EdgeNode[]>;
}

/** `GET /api/v1/edges`: every live edge node of the deployment, from any node. */
export function edgeRoutes(nodes: EdgeNodeSource): AdminRoutePlugin {
  return (app: FastifyInstance) => {
    app.get(
      '/edges',
      {
        schema: {
          tags: ['edge nodes'],
          summary:
            'Live edge nodes: id, advertised URL, version, start time, last heartbeat, tunnels per connector and in-flight requests. A node that stops heart-beating leaves the list within about 3 s.',
          response: { 200: listOf('EdgeNode') },
        },
      },
      async () => ({ items: (await nodes.list()).map((n) => ({ ...n, self: n.id === nodes.id })) }),
    );
  };
}

import { table } from './admin.ts';

/** What GET …/group-health returns for one group (the fields the CLI shows). */
export interface GroupHealthView {
  name: string;
  id: string;
  healthyConnectors: number;
  atRisk: boolean;
  warnings: string[];
  inFlight: number;
  connectors: {
    name: string;
    id: string;
    state: string;
    version: string | null;
    address: string | null;
    healthyTunnels: number;
    rttMs: number | null;
    inFlight: number;
    tunnels: {
      id: string;
      state: string;
      rttMs: number | null;
      inFlight: number;
      ejectReason: string | null;
      /** The connector process holding it under `connector run --workers N`. */
      worker?: number | null;
      pid?: number | null;
    }[];
    backends: { appId: string; reachable: boolean; error: string | null }[];
  }[];
  apps: { name: string }[];
}

const ms = (v: number | null): string => (v === null ? '-' : `${v.toFixed(1)} ms`);

/** `drawbridge admin groups health`: one block per group, flagged when fewer than two connectors are healthy. */
export function renderGroupHealth(groups: GroupHealthView[]): string {
  return groups
    .map((g) => {
      const flag = g.atRisk ? '  ⚠ AT RISK' : '  ok';
      const head = `GROUP ${g.name} (${g.id})  ${g.healthyConnectors} healthy connector${g.healthyConnectors === 1 ? '' : 's'}, ${g.inFlight} in flight, apps: ${g.apps.map((a) => a.name).join(', ') || '-'}${flag}\n`;
      const warnings = g.warnings.map((w) => `  ! ${w}\n`).join('');
      const rows = g.connectors.flatMap((c) => [
        [
          c.name,
          c.id,
          c.state,
          `${c.healthyTunnels}/${c.tunnels.length}`,
          ms(c.rttMs),
          c.inFlight,
          c.version,
          c.address,
          c.backends
            .filter((b) => !b.reachable)
            .map((b) => `${b.appId}: ${b.error ?? 'unreachable'}`)
            .join('; ') || 'ok',
        ],
        ...c.tunnels.map((t) => [
          '',
          `  ${t.id}${t.worker ? ` (worker ${t.worker}, pid ${t.pid})` : ''}`,
          t.state + (t.ejectReason ? ` (${t.ejectReason})` : ''),
          '',
          ms(t.rttMs),
          t.inFlight,
          '',
          '',
          '',
        ]),
      ]);
      const body =
        g.connectors.length === 0
          ? '  (no connectors)\n'
          : table(
              ['CONNECTOR', 'ID', 'STATE', 'TUNNELS', 'RTT', 'IN FLIGHT', 'VERSION', 'ADDRESS', 'BACKENDS'],
              rows,
            ).replace(/^/gm, '  ');
      return head + warnings + body;
    })
    .join('\n');
}

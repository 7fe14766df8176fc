/**
 * Apps of kind `rdp` (issue 13): the internal URL is `rdp://host:port`, the one RDP host the app allows. The edge's
 * RD Gateway (edge/rdg/) terminates the gateway protocol and opens a tunnel stream marked with RDP_TARGET_HEADER; the
 * connector dials that host:port (only the app's own) and the stream carries the RDP bytes both ways.
 */

/** `host:port` the edge asks the connector to dial; the connector checks it against the app's internal URL. */
export const RDP_TARGET_HEADER = 'x-drawbridge-rdp-target';
export const RDP_DEFAULT_PORT = 3389;

export interface RdpTarget {
  host: string;
  port: number;
}

/** The RDP host of an `rdp://` internal URL; null for any other app. */
export function rdpTarget(internalUrl: string): RdpTarget | null {
  if (!internalUrl.startsWith('rdp://')) return null;
  let url: URL;
  try {
    url = new URL(internalUrl);
  } catch {
    return null;
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, '').toLowerCase(),
    port: url.port ? Number(url.port) : RDP_DEFAULT_PORT,
  };
}

export function formatTarget(target: RdpTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

/** True when a client's requested resource is exactly the app's target (host compared without case). */
export function sameTarget(a: RdpTarget, b: RdpTarget): boolean {
  return (
    a.port === b.port && a.host.replace(/^\[|\]$/g, '').toLowerCase() === b.host.replace(/^\[|\]$/g, '').toLowerCase()
  );
}

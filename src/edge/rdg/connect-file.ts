import { formatTarget, type RdpTarget } from '../../tunnel/rdp.ts';

/** On an rdp app's host: the signed-in user's connection file (the portal's "Connect"). */
export const CONNECT_FILE_PATH = '/.drawbridge/rdp/connect.rdp';

/**
 * A Remote Desktop connection file (.rdp): the target, our gateway, and the gateway access token mstsc presents as
 * the PAA cookie (`gatewayaccesstoken`). Values are single lines; anything that could start a new line is removed.
 */
export function connectFile(o: { gatewayHost: string; target: RdpTarget; token: string; username?: string }): string {
  const clean = (s: string) => s.replace(/[\r\n]/g, '');
  const lines = [
    `full address:s:${clean(formatTarget(o.target))}`,
    `gatewayhostname:s:${clean(o.gatewayHost)}`,
    'gatewayusagemethod:i:1', // always through the gateway
    'gatewayprofileusagemethod:i:1', // use these gateway settings, not the user's defaults
    'gatewaycredentialssource:i:5', // the access token, not a gateway password
    `gatewayaccesstoken:s:${clean(o.token)}`,
    'promptcredentialonce:i:0',
  ];
  if (o.username) lines.push(`username:s:${clean(o.username)}`);
  return `${lines.join('\r\n')}\r\n`;
}

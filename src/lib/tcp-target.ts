/**
 * TCP apps (issue 13): an app whose internal URL is `tcp://host:port` publishes a raw TCP service (SSH, a database)
 * instead of a web app. Edge and connector both read the kind from the URL, so it needs no column of its own.
 */
export interface TcpTarget {
  host: string;
  port: number;
}

export const TCP_SCHEME = 'tcp:';

export function isTcpUrl(internalUrl: string): boolean {
  return internalUrl.toLowerCase().startsWith('tcp://');
}

/** The host and port of a `tcp://host:port` URL (brackets of an IPv6 literal removed), or null for any other URL. */
export function tcpTargetOf(internalUrl: string): TcpTarget | null {
  if (!isTcpUrl(internalUrl)) return null;
  let url: URL;
  try {
    url = new URL(internalUrl);
  } catch {
    return null;
  }
  const port = Number(url.port);
  if (!url.hostname || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * On a TCP app's host, the command line's browser sign-in (`drawbridge access login`; edge/signin/cli-login.ts).
 * Outside `/.drawbridge/`, which pre-authentication never returns to after a sign-in.
 */
export const CLI_LOGIN_PATH = '/.drawbridge-cli/login';
/** The device-code sign-in (`drawbridge access login --device`): start, poll, and the page where the person approves. */
export const CLI_DEVICE_PATH = '/.drawbridge-cli/device';
export const CLI_DEVICE_TOKEN_PATH = '/.drawbridge-cli/device/token';
export const CLI_DEVICE_VERIFY_PATH = '/.drawbridge-cli/device/verify';

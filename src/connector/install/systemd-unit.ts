import path from 'node:path';

export interface UnitOptions {
  /** The registered connector's state dir (absolute). */
  stateDir: string;
  /** The command that runs `drawbridge`: [node, script] from a checkout, or [binary] for a single executable. */
  command: string[];
  /** Extra `connector run` arguments (--tunnels, --workers, --metrics-port, --kerberos-config …). */
  runArgs: string[];
  /** System user the service runs as (it must own the state dir); null: root. */
  user: string | null;
  drainSeconds: number;
}

/**
 * A systemd service for `drawbridge connector run`: restarted when it fails, SIGTERM drains (in-flight requests finish
 * within --drain-seconds, so systemd waits that long plus a margin before SIGKILL; with --workers the primary has
 * every worker drain), and sandboxed: read-only system,
 * no home, private /tmp, writes only to the state dir (renewed certificates, last config).
 */
export function renderConnectorUnit(o: UnitOptions): string {
  const exec = [
    ...o.command,
    'connector',
    'run',
    '--state-dir',
    o.stateDir,
    '--drain-seconds',
    String(o.drainSeconds),
    ...o.runArgs,
  ]
    .map(quote)
    .join(' ');
  const lines = [
    '# Written by `drawbridge connector install`; run it again to change the options.',
    '[Unit]',
    'Description=Drawbridge connector (outbound tunnels to the edge)',
    'Documentation=https://github.com/drawbridge/drawbridge',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    ...(o.user ? [`User=${o.user}`] : []),
    'Restart=on-failure',
    'RestartSec=2s',
    'KillSignal=SIGTERM',
    // SIGTERM to the main process only: with --workers, the primary has every worker drain (SIGKILL still reaches
    // them all after TimeoutStopSec).
    'KillMode=mixed',
    `TimeoutStopSec=${o.drainSeconds + 10}s`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    `ReadWritePaths=${quote(o.stateDir)}`,
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

/** systemd's quoting for ExecStart words and paths: double quotes when needed, with \ and " escaped, % doubled. */
function quote(word: string): string {
  const escaped = word.replaceAll('%', '%%');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
    ? escaped
    : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The command that runs this very CLI again: the single executable alone, or Node and the entry script. */
export function selfCommand(isSea: boolean, execPath: string, script: string | undefined): string[] {
  return isSea || !script ? [execPath] : [execPath, path.resolve(script)];
}

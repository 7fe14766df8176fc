import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; `part` names the process role (edge, connector, dev). */
export function createLogger(part: string, level = process.env.DRAWBRIDGE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { part, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Field names shared by every log line, so logs can be joined across edge and connector. */
export const LogField = {
  correlationId: 'correlationId',
  tenantId: 'tenantId',
  appId: 'appId',
  connectorId: 'connectorId',
  code: 'code',
} as const;

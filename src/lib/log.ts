import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; `part` names the process role (edge, connector, dev). */
export function createLogger(part: string, level = process.env.DRAWBRIDGE_LOG_LEVEL ?? 'info'): Logger {
  const family = new Set<WeakRef<Logger>>();
  const logger = pino({
    level,
    base: { part, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every descendant is remembered (weakly), so setLogLevel reaches the components' child loggers too.
    onChild: (child) => {
      family.add(new WeakRef(child));
      if (family.size % 256 === 0) for (const ref of family) if (!ref.deref()) family.delete(ref);
    },
  });
  families.set(logger, family);
  return logger;
}

const families = new WeakMap<Logger, Set<WeakRef<Logger>>>();

/** Changes the level of a logger made by createLogger and of all its child loggers (a configuration reload). */
export function setLogLevel(logger: Logger, level: string): void {
  logger.level = level;
  for (const ref of families.get(logger) ?? []) {
    const child = ref.deref();
    if (child) child.level = level;
  }
}

/** Field names shared by every log line, so logs can be joined across edge and connector. */
export const LogField = {
  correlationId: 'correlationId',
  tenantId: 'tenantId',
  appId: 'appId',
  connectorId: 'connectorId',
  code: 'code',
} as const;

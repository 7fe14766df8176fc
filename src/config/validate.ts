import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';

/**
 * Applies defaults, then validates; every problem is listed with its path so a config error names the field to fix.
 */
export function validateConfig<T extends TSchema>(schema: T, input: unknown, source: string): Static<T> {
  const withDefaults = Value.Default(schema, structuredClone(input ?? {}));
  const errors = [...Value.Errors(schema, withDefaults)];
  if (errors.length > 0) {
    const lines = errors
      .slice(0, 10)
      .map(
        (e) =>
          `  ${e.path || '/'}: ${e.message}${e.value !== undefined && typeof e.value !== 'object' ? ` (got ${JSON.stringify(e.value)})` : ''}`,
      );
    throw new DrawbridgeError('DB-CONFIG-INVALID', `${source}:\n${lines.join('\n')}`);
  }
  return withDefaults as Static<T>;
}

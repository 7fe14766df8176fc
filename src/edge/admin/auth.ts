import { createHash, timingSafeEqual } from 'node:crypto';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Returns a checker for `Authorization: Bearer <token>`. Both sides are hashed first so the comparison takes the
 * same time whatever the length or content of the presented token.
 */
export function bearerCheck(token: string): (authorization: string | undefined) => void {
  if (!token) throw new DrawbridgeError('DB-CONFIG-INVALID', 'admin.token: the admin API needs a token');
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]), expected)) {
      throw new DrawbridgeError('DB-ADMIN-UNAUTHORIZED', authorization ? 'the bearer token is wrong' : 'no Authorization: Bearer header');
    }
  };
}

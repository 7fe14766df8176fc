import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { APP_COOKIE, cookieName, parseCookies, stripOurCookies } from './cookies.ts';

describe('cookie names: one rule for reading and for stripping', () => {
  it('names a pair by the text before "=", after the separator\'s whitespace; whitespace inside or before "=" is no name', () => {
    assert.equal(cookieName('a=1'), 'a');
    assert.equal(cookieName('  a=1'), 'a');
    assert.equal(cookieName('\ta=b=c'), 'a');
    assert.equal(cookieName('a'), 'a', 'a pair without "=" is named by its text, as lenient backends read it');
    assert.equal(cookieName('=v'), '');
    for (const bad of ['a =1', 'a\t=1', 'a b=1', 'a\u0000=1', `${APP_COOKIE} =x`, 'a '])
      assert.equal(cookieName(bad), null, JSON.stringify(bad));
  });

  it('a pair the rule cannot name is never read and never forwarded; ours go whatever their spacing', () => {
    const header = `theme=dark; ${APP_COOKIE} =forged;  ${APP_COOKIE}=real; lang=en;flag`;
    assert.deepEqual(
      [...parseCookies(header)],
      [
        ['theme', 'dark'],
        [APP_COOKIE, 'real'],
        ['lang', 'en'],
      ],
    );
    assert.equal(stripOurCookies(header), 'theme=dark; lang=en; flag');
    assert.equal(parseCookies(`${APP_COOKIE} =forged`).get(APP_COOKIE), undefined);
    assert.equal(stripOurCookies(`${APP_COOKIE} =forged`), undefined);
    assert.equal(stripOurCookies(`${APP_COOKIE}`), undefined, 'a bare name of ours goes too');
    assert.equal(stripOurCookies('a=1; =2'), 'a=1; =2', 'what is not ours and well formed stays as it was');
  });
});

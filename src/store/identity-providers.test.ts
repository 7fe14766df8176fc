/** Home realm discovery: which provider a typed sign-in name goes to. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkProvider, loginDomain, providerForLogin } from './identity-providers.ts';

const contoso = { id: 'contoso', domains: ['contoso.example'] };
const fabrikam = { id: 'fabrikam', domains: ['fabrikam.example', 'fabrikam.test'] };
const providers = [contoso, fabrikam];

describe('home realm discovery', () => {
  it('sends a name to the provider that owns its e-mail domain', () => {
    assert.equal(providerForLogin(providers, 'alice@contoso.example'), contoso);
    assert.equal(providerForLogin(providers, 'bob@fabrikam.example'), fabrikam);
    assert.equal(providerForLogin(providers, 'carol@fabrikam.test'), fabrikam);
  });

  it('ignores case, surrounding spaces and a trailing dot', () => {
    assert.equal(providerForLogin(providers, '  Alice@CONTOSO.Example. '), contoso);
  });

  it('leaves the local directory (password) any other name: another domain, a subdomain, a parent, no domain', () => {
    assert.equal(providerForLogin(providers, 'dave@example.org'), null);
    assert.equal(providerForLogin(providers, 'eve@eu.contoso.example'), null);
    assert.equal(providerForLogin(providers, 'eve@example'), null);
    assert.equal(providerForLogin(providers, 'alice'), null);
    assert.equal(providerForLogin(providers, 'alice@'), null);
    assert.equal(providerForLogin(providers, '@contoso.example'), null);
    assert.equal(providerForLogin([], 'alice@contoso.example'), null);
  });

  it('takes the domain after the last @', () => {
    assert.equal(loginDomain('"a@b"@contoso.example'), 'contoso.example');
    assert.equal(providerForLogin(providers, 'alice@fabrikam.example@contoso.example'), contoso);
  });

  it('refuses to give one domain to two providers of a tenant', () => {
    const existing = checkProvider(
      { id: 'contoso', issuer: 'https://idp.contoso.example', clientId: 'c', domains: ['contoso.example'] },
      [],
    );
    assert.throws(
      () =>
        checkProvider(
          { id: 'other', issuer: 'https://idp.other.example', clientId: 'c', domains: ['CONTOSO.example'] },
          [existing],
        ),
      /already belongs to provider contoso/,
    );
    assert.deepEqual(
      checkProvider(
        { id: 'contoso', issuer: 'https://idp.contoso.example', clientId: 'c', domains: ['contoso.example'] },
        [existing],
      ).domains,
      ['contoso.example'],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, readOid } from './asn1/der.ts';
import { KrbTokId, Oids, unwrapGssToken, unwrapKrb5Token, wrapKrb5Token } from './gss-token.ts';
import {
  apRepFromNegotiateReply,
  classifyWwwAuthenticate,
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeNegTokenResp,
  isNtlmToken,
  NegState,
  negotiateHeaderValue,
  negotiateToken,
  parseWwwAuthenticate,
  spnegoInitToken,
  STANDARD_MECH_TYPES,
} from './spnego.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fakeApReq = new Uint8Array([0x6e, 0x03, 0x02, 0x01, 0x05]);
const fakeApRep = new Uint8Array([0x6f, 0x03, 0x02, 0x01, 0x05]);

describe('GSS framing (RFC 4121 4.1)', () => {
  it('frames a krb5 AP-REQ with the mech OID and TOK_ID 01 00', () => {
    const t = wrapKrb5Token(KrbTokId.AP_REQ, fakeApReq);
    assert.equal(hex(t), '601206092a864886f7120102020100' + hex(fakeApReq));
    assert.deepEqual(unwrapKrb5Token(t), { mech: Oids.KRB5, tokId: 0x0100, message: fakeApReq });
  });
  it('handles long-form lengths', () => {
    const big = new Uint8Array(300).fill(1);
    const t = wrapKrb5Token(KrbTokId.AP_REQ, big, Oids.MS_KRB5);
    assert.equal(t[1], 0x82);
    const u = unwrapGssToken(t);
    assert.equal(u.mech, Oids.MS_KRB5);
    assert.equal(u.inner.length, 302);
  });
  it('rejects garbage', () => {
    assert.throws(() => unwrapGssToken(new Uint8Array([0x61, 0])), { code: 'KRB-DECODE' });
    assert.throws(() => unwrapGssToken(new Uint8Array([0x60, 5, 6])), { code: 'KRB-DECODE' });
  });
});

describe('SPNEGO (RFC 4178)', () => {
  it('builds a NegTokenInit with both Kerberos OIDs, Windows order by default', () => {
    const token = spnegoInitToken(fakeApReq);
    assert.equal(unwrapGssToken(token).mech, Oids.SPNEGO);
    const init = decodeNegTokenInit(token);
    assert.deepEqual(init.mechTypes, [Oids.MS_KRB5, Oids.KRB5]);
    assert.deepEqual(unwrapKrb5Token(init.mechToken!).message, fakeApReq);
    assert.deepEqual(decodeNegTokenInit(spnegoInitToken(fakeApReq, STANDARD_MECH_TYPES)).mechTypes, [
      Oids.KRB5,
      Oids.MS_KRB5,
    ]);
    assert.match(negotiateHeaderValue(token), /^Negotiate Y[A-Za-z0-9+/=]+$/);
  });

  it('parses a NegTokenResp and extracts the AP-REP', () => {
    const resp = encodeNegTokenResp({
      negState: NegState.ACCEPT_COMPLETED,
      supportedMech: Oids.MS_KRB5,
      responseToken: wrapKrb5Token(KrbTokId.AP_REP, fakeApRep),
    });
    assert.equal(resp[0], 0xa1);
    const back = decodeNegTokenResp(resp);
    assert.equal(back.negState, 0);
    assert.equal(back.supportedMech, Oids.MS_KRB5);
    assert.deepEqual(apRepFromNegotiateReply(resp), fakeApRep);
    // A bare krb5 token (no SPNEGO) is accepted too.
    assert.deepEqual(apRepFromNegotiateReply(wrapKrb5Token(KrbTokId.AP_REP, fakeApRep)), fakeApRep);
  });

  it('parses the NegTokenResp Apache mod_auth_gssapi sent in the lab', () => {
    // Captured prefix "Negotiate oYG3MIG0oAMKAQChCwYJKoZIgvcSAQIC...": accept-completed, and the
    // MS krb5 OID echoed back because we listed it first, as Windows does.
    const head = new Uint8Array(Buffer.from('oYG3MIG0oAMKAQChCwYJKoZIgvcSAQIC', 'base64'));
    assert.equal(hex(head), 'a181b73081b4a0030a0100a10b06092a864882f712010202');
    assert.equal(readOid(parse(head.subarray(13))), Oids.MS_KRB5);
  });

  it('reports reject and KRB-ERROR tokens', () => {
    assert.throws(() => apRepFromNegotiateReply(encodeNegTokenResp({ negState: NegState.REJECT })), {
      code: 'KRB-SPNEGO-REJECTED',
    });
    assert.throws(() => apRepFromNegotiateReply(wrapKrb5Token(KrbTokId.KRB_ERROR, new Uint8Array([0x7e, 0]))), {
      code: 'KRB-SPNEGO-REJECTED',
    });
    assert.throws(() => apRepFromNegotiateReply(encodeNegTokenResp({ negState: NegState.ACCEPT_COMPLETED })), {
      code: 'KRB-MUTUAL-AUTH-FAILED',
    });
  });
});

describe('NTLM recognition', () => {
  const ntlmType2 = new Uint8Array([...new TextEncoder().encode('NTLMSSP\0'), 2, 0, 0, 0]);
  it('spots NTLMSSP tokens, raw or inside SPNEGO', () => {
    assert.ok(isNtlmToken(ntlmType2));
    assert.ok(!isNtlmToken(fakeApRep));
    assert.throws(() => apRepFromNegotiateReply(ntlmType2), { code: 'KRB-NTLM-ONLY' });
    assert.throws(
      () =>
        apRepFromNegotiateReply(
          encodeNegTokenResp({ negState: 1, supportedMech: Oids.NTLMSSP, responseToken: ntlmType2 }),
        ),
      { code: 'KRB-NTLM-ONLY' },
    );
  });
  it('classifies WWW-Authenticate challenges', () => {
    assert.deepEqual(classifyWwwAuthenticate('NTLM'), { negotiate: false, ntlm: true, ntlmOnly: true });
    assert.deepEqual(classifyWwwAuthenticate(['Negotiate', 'NTLM']), { negotiate: true, ntlm: true, ntlmOnly: false });
    assert.deepEqual(classifyWwwAuthenticate('Negotiate, NTLM, Basic realm="corp"'), {
      negotiate: true,
      ntlm: true,
      ntlmOnly: false,
    });
    assert.deepEqual(classifyWwwAuthenticate(undefined), { negotiate: false, ntlm: false, ntlmOnly: false });
    assert.deepEqual(parseWwwAuthenticate('Basic realm="x", Negotiate abc+/=='), [
      { scheme: 'Basic' },
      { scheme: 'Negotiate', token: 'abc+/==' },
    ]);
    assert.deepEqual(negotiateToken('Negotiate AQID'), new Uint8Array([1, 2, 3]));
    assert.equal(negotiateToken('Negotiate'), undefined);
  });
});

// DER round trips of every message, plus a few hand-checked encodings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, parse } from '../asn1/der.ts';
import {
  decodePrincipalName,
  encodePrincipalName,
  formatPrincipal,
  NameType,
  parsePrincipal,
} from '../asn1/principal.ts';
import { decodeEncTicketPart, decodeTicket, encodeEncTicketPart, makeTicket } from '../asn1/ticket.ts';
import { aes256CtsHmacSha196 } from '../crypto/aes-sha1.ts';
import { hmacMd5Checksum } from '../crypto/hmac-md5.ts';
import { decodeApRep, decodeEncApRepPart, encodeApRep, encodeEncApRepPart } from './ap-rep.ts';
import { decodeApReq, decodeAuthenticator, encodeApReq, encodeAuthenticator } from './ap-req.ts';
import { ApOptions, KdcOptions, MsgType, PacOptions, PaType, TicketFlags, ticketFlagNames } from './constants.ts';
import { decodeEtypeInfo2, encodeEtypeInfo2 } from './etype-info2.ts';
import { decodeEncKdcRepPart, decodeKdcRep, encodeEncKdcRepPart, encodeKdcRep } from './kdc-rep.ts';
import { decodeKdcReq, encodeKdcReq, encodeKdcReqBody } from './kdc-req.ts';
import { decodeKrbError, decodeMethodData, encodeKrbError, extractNtStatus } from './krb-error.ts';
import { decodePaEncTsEnc, encodePaEncTsEnc } from './pa-enc-timestamp.ts';
import { decodePaForUser, encodePaForUser, makePaForUser, paForUserChecksumInput } from './pa-for-user.ts';
import { decodePaPacOptions, encodePaPacOptions } from './pa-pac-options.ts';
import { decodePaPacRequest, encodePaPacRequest } from './pa-pac-request.ts';
import { decodePaS4uX509User, makePaS4uX509User } from './pa-s4u-x509-user.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const t0 = new Date('2025-01-02T03:04:05Z');
const t1 = new Date('2025-01-02T13:04:05Z');
const alice = { nameType: NameType.PRINCIPAL, components: ['alice'] };
const krbtgt = { nameType: NameType.SRV_INST, components: ['krbtgt', 'CORP.TEST'] };
const ticket = makeTicket({
  realm: 'CORP.TEST',
  sname: krbtgt,
  encPart: { etype: 18, kvno: 2, cipher: new Uint8Array(40).fill(7) },
});

describe('principal names', () => {
  it('encodes PrincipalName as RFC 4120 DER', () => {
    assert.equal(hex(encode(encodePrincipalName(alice))), '3010a003020101a10930071b05616c696365');
  });
  it('parses and formats the text form', () => {
    const p = parsePrincipal('HTTP/app.corp.test@CORP.TEST');
    assert.deepEqual(p, {
      name: { nameType: NameType.SRV_INST, components: ['HTTP', 'app.corp.test'] },
      realm: 'CORP.TEST',
    });
    assert.equal(formatPrincipal(p.name, p.realm), 'HTTP/app.corp.test@CORP.TEST');
    assert.deepEqual(parsePrincipal('alice', 'CORP.TEST').name, alice);
    assert.equal(parsePrincipal('a\\@b@R').name.components[0], 'a@b');
    assert.throws(() => parsePrincipal('alice'), { code: 'KRB-INVALID-ARGUMENT' });
    assert.throws(() => parsePrincipal('HTTP/@R'), { code: 'KRB-INVALID-ARGUMENT' });
  });
  it('round-trips non-ASCII names as UTF-8', () => {
    const p = { nameType: 1, components: ['jürgen'] };
    assert.deepEqual(decodePrincipalName(parse(encode(encodePrincipalName(p)))), p);
  });
});

describe('message round trips', () => {
  it('Ticket keeps its bytes', () => {
    const t = decodeTicket(ticket.raw);
    assert.equal(t.realm, 'CORP.TEST');
    assert.deepEqual(t.sname, krbtgt);
    assert.equal(t.encPart.kvno, 2);
    assert.deepEqual(t.raw, ticket.raw);
  });

  it('EncTicketPart', () => {
    const p = {
      flags: TicketFlags.FORWARDABLE | TicketFlags.INITIAL,
      key: { keytype: 18, keyvalue: new Uint8Array(32).fill(1) },
      crealm: 'CORP.TEST',
      cname: alice,
      transited: { trType: 1, contents: new Uint8Array(0) },
      authtime: t0,
      starttime: t0,
      endtime: t1,
      authorizationData: [{ adType: 1, adData: new Uint8Array([1, 2, 3]) }],
    };
    assert.deepEqual(decodeEncTicketPart(encodeEncTicketPart(p)), p);
  });

  it('AS-REQ and TGS-REQ with additional tickets', () => {
    const body = {
      kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.CNAME_IN_ADDL_TKT | KdcOptions.CANONICALIZE,
      cname: alice,
      realm: 'CORP.TEST',
      sname: krbtgt,
      till: t1,
      rtime: t1,
      nonce: 0xfedcba98,
      etypes: [18, 17, -128],
      additionalTickets: [ticket],
    };
    const bodyRaw = encodeKdcReqBody(body);
    for (const msgType of [MsgType.AS_REQ, MsgType.TGS_REQ] as const) {
      const padata = [{ type: PaType.PAC_REQUEST, value: encodePaPacRequest(true) }];
      const req = decodeKdcReq(encodeKdcReq(msgType, padata, bodyRaw));
      assert.equal(req.msgType, msgType);
      assert.deepEqual(req.bodyRaw, bodyRaw);
      assert.deepEqual(req.padata, padata);
      assert.equal(req.body.nonce, 0xfedcba98);
      assert.deepEqual(req.body.etypes, [18, 17, -128]);
      assert.equal(req.body.kdcOptions, body.kdcOptions);
      assert.deepEqual(req.body.additionalTickets?.[0].raw, ticket.raw);
      assert.deepEqual(req.body.till, t1);
    }
  });

  it('AS-REP / TGS-REP and EncKDCRepPart', () => {
    for (const msgType of [MsgType.AS_REP, MsgType.TGS_REP] as const) {
      const rep = {
        msgType,
        padata: [{ type: 19, value: new Uint8Array([1]) }],
        crealm: 'CORP.TEST',
        cname: alice,
        ticket,
        encPart: { etype: 18, cipher: new Uint8Array([9, 9]) },
      };
      const back = decodeKdcRep(encodeKdcRep(rep));
      assert.deepEqual({ ...back, ticket: back.ticket.raw }, { ...rep, ticket: ticket.raw });
    }
    const enc = {
      key: { keytype: 18, keyvalue: new Uint8Array(32).fill(3) },
      lastReq: [{ lrType: 0, lrValue: t0 }],
      nonce: 0x80000001,
      flags: TicketFlags.FORWARDABLE | TicketFlags.RENEWABLE,
      authtime: t0,
      starttime: t0,
      endtime: t1,
      renewTill: t1,
      srealm: 'CORP.TEST',
      sname: krbtgt,
    };
    assert.deepEqual(decodeEncKdcRepPart(encodeEncKdcRepPart(enc, 25)), enc);
    assert.deepEqual(decodeEncKdcRepPart(encodeEncKdcRepPart(enc, 26)), enc);
    assert.deepEqual(ticketFlagNames(enc.flags), ['forwardable', 'renewable']);
  });

  it('AP-REQ, Authenticator, AP-REP, EncAPRepPart', () => {
    const ap = {
      apOptions: ApOptions.MUTUAL_REQUIRED,
      ticket,
      authenticator: { etype: 18, cipher: new Uint8Array([1, 2, 3]) },
    };
    const back = decodeApReq(encodeApReq(ap));
    assert.equal(back.apOptions, ApOptions.MUTUAL_REQUIRED);
    assert.deepEqual(back.ticket.raw, ticket.raw);
    assert.deepEqual(back.authenticator, ap.authenticator);
    const auth = {
      crealm: 'CORP.TEST',
      cname: alice,
      cksum: { cksumtype: 0x8003, checksum: new Uint8Array(24) },
      cusec: 123456,
      ctime: t0,
      subkey: { keytype: 18, keyvalue: new Uint8Array(32).fill(5) },
      seqNumber: 0xffffffff,
    };
    assert.deepEqual(decodeAuthenticator(encodeAuthenticator(auth)), auth);
    const rep = { encPart: { etype: 18, cipher: new Uint8Array([4, 5]) } };
    assert.deepEqual(decodeApRep(encodeApRep(rep)), rep);
    const part = { ctime: t0, cusec: 999999, subkey: auth.subkey, seqNumber: 42 };
    assert.deepEqual(decodeEncApRepPart(encodeEncApRepPart(part)), part);
  });

  it('KRB-ERROR with METHOD-DATA e-data', () => {
    const eData = encode(
      parse(
        (() => {
          // METHOD-DATA with ETYPE-INFO2 and an empty PA-ENC-TIMESTAMP, as a KDC sends with PREAUTH_REQUIRED.
          const info = encodeEtypeInfo2([{ etype: 18, salt: 'CORP.TESTalice' }, { etype: 17 }]);
          return encodeKdcRepPadata([
            { type: PaType.ETYPE_INFO2, value: info },
            { type: PaType.ENC_TIMESTAMP, value: new Uint8Array(0) },
          ]);
        })(),
      ),
    );
    const err = {
      stime: t0,
      susec: 5,
      errorCode: 25,
      crealm: 'CORP.TEST',
      cname: alice,
      realm: 'CORP.TEST',
      sname: krbtgt,
      eText: 'Need to use PA-ENC-TIMESTAMP',
      eData,
    };
    const back = decodeKrbError(encodeKrbError(err));
    assert.deepEqual(back, err);
    const md = decodeMethodData(back.eData);
    assert.equal(md?.length, 2);
    assert.deepEqual(decodeEtypeInfo2(md![0].value), [{ etype: 18, salt: 'CORP.TESTalice' }, { etype: 17 }]);
  });

  it('KRB-ERROR e-data NTSTATUS (Windows KERB-ERROR-DATA)', () => {
    const st = new Uint8Array(12);
    new DataView(st.buffer).setUint32(0, 0xc0000072, true);
    const eData = encodeKdcRepPadata([{ type: PaType.PW_SALT, value: st }]);
    assert.equal(extractNtStatus(eData), 0xc0000072);
    assert.equal(extractNtStatus(undefined), undefined);
  });

  it('PA-ENC-TS-ENC, PA-PAC-OPTIONS, PA-PAC-REQUEST', () => {
    assert.deepEqual(decodePaEncTsEnc(encodePaEncTsEnc({ patimestamp: t0, pausec: 1234 })), {
      patimestamp: t0,
      pausec: 1234,
    });
    assert.equal(
      decodePaPacOptions(encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION)),
      PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION,
    );
    assert.equal(hex(encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION)), '3009a00703050010000000');
    assert.equal(decodePaPacRequest(encodePaPacRequest(true)), true);
    assert.equal(hex(encodePaPacRequest(true)), '3005a0030101ff');
  });

  it('PA-FOR-USER with its HMAC-MD5 checksum', () => {
    const key = new Uint8Array(32).fill(0x11);
    const pa = makePaForUser(key, alice, 'CORP.TEST');
    const back = decodePaForUser(encodePaForUser(pa));
    assert.deepEqual(back, pa);
    assert.equal(back.cksum.cksumtype, -138);
    assert.equal(back.authPackage, 'Kerberos');
    // name-type 1 little-endian, "alice", "CORP.TEST", "Kerberos"
    assert.equal(
      hex(paForUserChecksumInput(alice, 'CORP.TEST', 'Kerberos')),
      '01000000' + hex(new TextEncoder().encode('aliceCORP.TESTKerberos')),
    );
    assert.deepEqual(
      back.cksum.checksum,
      hmacMd5Checksum(key, 17, paForUserChecksumInput(alice, 'CORP.TEST', 'Kerberos')),
    );
  });

  it('PA-S4U-X509-USER checksum covers the user-id bytes', () => {
    const key = aes256CtsHmacSha196.randomKey();
    const { pa, bytes } = makePaS4uX509User(aes256CtsHmacSha196, key, {
      nonce: 12345,
      cname: alice,
      crealm: 'CORP.TEST',
      options: 0x20000000,
    });
    const back = decodePaS4uX509User(bytes);
    assert.deepEqual(back, pa);
    assert.equal(back.checksum.cksumtype, 16);
  });
});

// Helper: METHOD-DATA bytes (SEQUENCE OF PA-DATA).
import { sequenceOf } from '../asn1/der.ts';
import { encodePaData } from '../asn1/types.ts';
function encodeKdcRepPadata(list: { type: number; value: Uint8Array }[]): Uint8Array {
  return encode(sequenceOf(list.map(encodePaData)));
}

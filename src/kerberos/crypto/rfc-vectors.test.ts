// Published test vectors: RFC 3961 appendix A.1 (n-fold), RFC 3962 appendix B
// (string-to-key and CBC-CTS), RFC 8009 appendix A (all of it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ctsDecrypt, ctsEncrypt } from './aes-cts.ts';
import { aes128CtsHmacSha196, aes256CtsHmacSha196, dk } from './aes-sha1.ts';
import { aes128CtsHmacSha256128, aes256CtsHmacSha384192 } from './aes-sha2.ts';
import { KeyKind, usageConstant } from './key-usage.ts';
import { nfold } from './nfold.ts';

const h = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new TextEncoder().encode(s);

describe('RFC 3961 A.1 n-fold', () => {
  const cases: [string, number, string][] = [
    ['012345', 64, 'be072631276b1955'],
    ['password', 56, '78a07b6caf85fa'],
    ['Rough Consensus, and Running Code', 64, 'bb6ed30870b7f0e0'],
    ['password', 168, '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    ['MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 192, 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    ['Q', 168, '518a54a215a8452a518a54a215a8452a518a54a215'],
    ['ba', 168, 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
    ['kerberos', 64, '6b65726265726f73'],
    ['kerberos', 128, '6b65726265726f737b9b5b2b93132b93'],
    ['kerberos', 168, '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
    ['kerberos', 256, '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
  ];
  for (const [input, bits, expected] of cases) {
    it(`${bits}-fold("${input}")`, () => assert.equal(hex(nfold(ascii(input), bits / 8)), expected));
  }
});

describe('RFC 3962 B string-to-key', () => {
  const gClef = new Uint8Array([0xf0, 0x9d, 0x84, 0x9e]);
  const cases: {
    name: string;
    password: string | Uint8Array;
    salt: string | Uint8Array;
    iter: number;
    k128: string;
    k256: string;
  }[] = [
    {
      name: 'iteration 1',
      password: 'password',
      salt: 'ATHENA.MIT.EDUraeburn',
      iter: 1,
      k128: '42263c6e89f4fc28b8df68ee09799f15',
      k256: 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
    },
    {
      name: 'iteration 2',
      password: 'password',
      salt: 'ATHENA.MIT.EDUraeburn',
      iter: 2,
      k128: 'c651bf29e2300ac27fa469d693bdda13',
      k256: 'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff',
    },
    {
      name: 'iteration 1200',
      password: 'password',
      salt: 'ATHENA.MIT.EDUraeburn',
      iter: 1200,
      k128: '4c01cd46d632d01e6dbe230a01ed642a',
      k256: '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a',
    },
    {
      name: 'iteration 5, binary salt',
      password: 'password',
      salt: h('1234567878563412'),
      iter: 5,
      k128: 'e9b23d52273747dd5c35cb55be619d8e',
      k256: '97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31',
    },
    {
      name: 'pass phrase equals block size',
      password: 'X'.repeat(64),
      salt: 'pass phrase equals block size',
      iter: 1200,
      k128: '59d1bb789a828b1aa54ef9c2883f69ed',
      k256: '89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34',
    },
    {
      name: 'pass phrase exceeds block size',
      password: 'X'.repeat(65),
      salt: 'pass phrase exceeds block size',
      iter: 1200,
      k128: 'cb8005dc5f90179a7f02104c0018751d',
      k256: 'd78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b',
    },
    {
      name: 'g-clef',
      password: new TextDecoder().decode(gClef),
      salt: 'EXAMPLE.COMpianist',
      iter: 50,
      k128: 'f149c1f2e154a73452d43e7fe62a56e5',
      k256: '4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e',
    },
  ];
  for (const c of cases) {
    const params = new Uint8Array(4);
    new DataView(params.buffer).setUint32(0, c.iter);
    const pw = typeof c.password === 'string' ? c.password : new TextDecoder().decode(c.password);
    it(`${c.name} (aes128)`, () => assert.equal(hex(aes128CtsHmacSha196.stringToKey(pw, c.salt, params)), c.k128));
    it(`${c.name} (aes256)`, () => assert.equal(hex(aes256CtsHmacSha196.stringToKey(pw, c.salt, params)), c.k256));
  }
});

describe('RFC 3962 B CBC with ciphertext stealing', () => {
  const key = ascii('chicken teriyaki');
  const cases: [string, string][] = [
    ['4920776f756c64206c696b652074686520', 'c6353568f2bf8cb4d8a580362da7ff7f97'],
    [
      '4920776f756c64206c696b65207468652047656e6572616c20476175277320',
      'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5',
    ],
    [
      '4920776f756c64206c696b65207468652047656e6572616c2047617527732043',
      '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584',
    ],
    [
      '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c',
      '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5',
    ],
    [
      '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20',
      '97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8',
    ],
    [
      '4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e',
      '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8',
    ],
  ];
  for (const [plain, cipher] of cases) {
    it(`${plain.length / 2} bytes`, () => {
      assert.equal(hex(ctsEncrypt(key, h(plain))), cipher);
      assert.equal(hex(ctsDecrypt(key, h(cipher))), plain);
    });
  }
});

describe('RFC 3962 encrypt/decrypt and checksum (round trip)', () => {
  for (const e of [aes128CtsHmacSha196, aes256CtsHmacSha196]) {
    it(`${e.name} round-trips every length 0..40 and rejects tampering`, () => {
      const key = e.randomKey();
      for (let n = 0; n <= 40; n++) {
        const pt = new Uint8Array(n).map((_, i) => i);
        const ct = e.encrypt(key, 3, pt);
        assert.equal(ct.length, 16 + n + 12);
        assert.deepEqual(e.decrypt(key, 3, ct), pt);
      }
      const ct = e.encrypt(key, 3, ascii('hello'));
      ct[3] ^= 1;
      assert.throws(() => e.decrypt(key, 3, ct), { code: 'KRB-INTEGRITY' });
      assert.throws(() => e.decrypt(key, 4, e.encrypt(key, 3, ascii('x'))), { code: 'KRB-INTEGRITY' });
      const mac = e.checksum(key, 6, ascii('body'));
      assert.equal(mac.length, 12);
      assert.ok(e.verifyChecksum(key, 6, ascii('body'), mac));
      assert.ok(!e.verifyChecksum(key, 6, ascii('bodY'), mac));
    });
  }
  it('DK uses n-fold of usage || kind', () => {
    // Kc/Ke/Ki differ and are key-sized.
    const base = h('42263c6e89f4fc28b8df68ee09799f15');
    const kc = dk(base, usageConstant(2, KeyKind.Checksum));
    const ke = dk(base, usageConstant(2, KeyKind.Encryption));
    assert.equal(kc.length, 16);
    assert.notEqual(hex(kc), hex(ke));
  });
});

describe('RFC 8009 A', () => {
  const salt = new Uint8Array([...h('10DF9DD783E5BC8ACEA1730E74355F61'), ...ascii('ATHENA.MIT.EDUraeburn')]);
  it('string-to-key aes128-cts-hmac-sha256-128 (32768 iterations)', () => {
    assert.equal(hex(aes128CtsHmacSha256128.stringToKey('password', salt)), '089bca48b105ea6ea77ca5d2f39dc5e7');
  });
  it('string-to-key aes256-cts-hmac-sha384-192 (32768 iterations)', () => {
    assert.equal(
      hex(aes256CtsHmacSha384192.stringToKey('password', salt)),
      '45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467',
    );
  });

  const base128 = h('3705D96080C17728A0E800EAB6E0D23C');
  const base256 = h('6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52');
  it('key derivation aes128 usage 2', () => {
    assert.equal(
      hex(aes128CtsHmacSha256128.deriveKey(base128, 2, KeyKind.Checksum)),
      'b31a018a48f54776f403e9a396325dc3',
    );
    assert.equal(
      hex(aes128CtsHmacSha256128.deriveKey(base128, 2, KeyKind.Encryption)),
      '9b197dd1e8c5609d6e67c3e37c62c72e',
    );
    assert.equal(
      hex(aes128CtsHmacSha256128.deriveKey(base128, 2, KeyKind.Integrity)),
      '9fda0e56ab2d85e1569a688696c26a6c',
    );
  });
  it('key derivation aes256 usage 2', () => {
    assert.equal(
      hex(aes256CtsHmacSha384192.deriveKey(base256, 2, KeyKind.Checksum)),
      'ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d',
    );
    assert.equal(
      hex(aes256CtsHmacSha384192.deriveKey(base256, 2, KeyKind.Encryption)),
      '56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49',
    );
    assert.equal(
      hex(aes256CtsHmacSha384192.deriveKey(base256, 2, KeyKind.Integrity)),
      '69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f',
    );
  });

  const plains = ['', '000102030405', '000102030405060708090A0B0C0D0E0F', '000102030405060708090A0B0C0D0E0F1011121314'];
  const enc128: [string, string][] = [
    ['7E5895EAF2672435BAD817F545A37148', 'EF85FB890BB8472F4DAB20394DCA781DAD877EDA39D50C870C0D5A0A8E48C718'],
    [
      '7BCA285E2FD4130FB55B1A5C83BC5B24',
      '84D7F30754ED987BAB0BF3506BEB09CFB55402CEF7E6877CE99E247E52D16ED4421DFDF8976C',
    ],
    [
      '56AB21713FF62C0A1457200F6FA9948F',
      '3517D640F50DDC8AD3628722B3569D2AE07493FA8263254080EA65C1008E8FC295FB4852E7D83E1E7C48C37EEBE6B0D3',
    ],
    [
      'A7A4E29A4728CE10664FB64E49AD3FAC',
      '720F73B18D9859CD6CCB4346115CD336C70F58EDC0C4437C5573544C31C813BCE1E6D072C186B39A413C2F92CA9B8334A287FFCBFC',
    ],
  ];
  const enc256: [string, string][] = [
    [
      'F764E9FA15C276478B2C7D0C4E5F58E4',
      '41F53FA5BFE7026D91FAF9BE959195A058707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C',
    ],
    [
      'B80D3251C1F64714942 56FFE712D0B9A',
      '4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2',
    ],
    [
      '53BF8A0D105265D4E276428624CE5E63',
      'BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F68CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266',
    ],
    [
      '763E65367E864F02F55153C7E3B58AF1',
      '40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62',
    ],
  ];
  for (let i = 0; i < 4; i++) {
    it(`sample encryption aes128 #${i + 1} (${plains[i].length / 2} bytes)`, () => {
      const [conf, out] = enc128[i];
      const ct = aes128CtsHmacSha256128.encrypt(base128, 2, h(plains[i]), h(conf));
      assert.equal(hex(ct), out.toLowerCase());
      assert.equal(hex(aes128CtsHmacSha256128.decrypt(base128, 2, ct)), plains[i].toLowerCase());
    });
    it(`sample encryption aes256 #${i + 1} (${plains[i].length / 2} bytes)`, () => {
      const [conf, out] = enc256[i];
      const ct = aes256CtsHmacSha384192.encrypt(base256, 2, h(plains[i]), h(conf));
      assert.equal(hex(ct), out.toLowerCase());
      assert.equal(hex(aes256CtsHmacSha384192.decrypt(base256, 2, ct)), plains[i].toLowerCase());
    });
  }
  it('sample checksums', () => {
    const msg = h(plains[3]);
    assert.equal(hex(aes128CtsHmacSha256128.checksum(base128, 2, msg)), 'd78367186643d67b411cba9139fc1dee');
    assert.equal(
      hex(aes256CtsHmacSha384192.checksum(base256, 2, msg)),
      '45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a',
    );
  });
  it('sample PRF invocations', () => {
    assert.equal(
      hex(aes128CtsHmacSha256128.prf(base128, ascii('test'))),
      '9d188616f63852fe86915bb840b4a886ff3e6bb0f819b49b893393d393854295',
    );
    assert.equal(
      hex(aes256CtsHmacSha384192.prf(base256, ascii('test'))),
      '9801f69a368c2bf675e59521e177d9a07f67efe1cfde8d3c8d6f6a0256e3b17db3c1b62ad1b8553360d17367eb1514d2',
    );
  });
  it('rejects a tampered ciphertext', () => {
    const ct = aes128CtsHmacSha256128.encrypt(base128, 2, h('00010203'));
    ct[ct.length - 1] ^= 0x80;
    assert.throws(() => aes128CtsHmacSha256128.decrypt(base128, 2, ct), { code: 'KRB-INTEGRITY' });
  });
});

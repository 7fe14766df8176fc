import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { TUNNEL_ALPN } from '../../tunnel/protocol.ts';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { createCsr, createSelfSignedCa, generateKeyPair, issueClientCertificate } from '../../pki/index.ts';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/types.ts';
import { loadOrCreateTunnelCa, type TunnelCa } from './tunnel-ca.ts';

const CONNECTOR_ID = 'con_0123456789abcdef';

/** A state directory with the embedded store in it, as the edge has. */
async function withStateDir(fn: (dir: string, store: Store) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'db-tunnel-ca-'));
  const store = await openStore({ kind: 'sqlite', stateDir: dir });
  try {
    await fn(dir, store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The CA files an edge of an earlier version kept in its state directory. */
async function writeFormerCa(dir: string): Promise<string> {
  const pair = await generateKeyPair();
  const cert = await createSelfSignedCa({ commonName: 'Drawbridge Tunnel CA', keys: pair.keys, validityDays: 3650 });
  await mkdir(join(dir, 'tunnel-ca'), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'tunnel-ca', 'ca.key'), pair.privateKeyPem, { mode: 0o600 });
  await writeFile(join(dir, 'tunnel-ca', 'ca.crt'), cert.toString('pem'));
  return cert.toString('pem');
}

/** A client key + certificate issued by `ca` through the CSR path. */
async function enrolledClient(ca: TunnelCa) {
  const pair = await generateKeyPair();
  const issued = await ca.issueConnectorCertificate(await createCsr(pair.keys, 'whatever'), CONNECTOR_ID, 30);
  return { key: pair.privateKeyPem, cert: issued.certPem, serial: issued.serial, notAfter: issued.notAfter };
}

interface HandshakeResult {
  clientOk: boolean;
  clientError?: string;
  serverAuthorized?: boolean;
  peer?: { connectorId: string; serial: string };
}

/** The tunnel TLS server as the edge runs it: mutual TLS against the tunnel CA only. */
async function handshake(
  ca: TunnelCa,
  client: { key: string; cert: string },
  servername = 'tunnel.apps.localhost',
): Promise<HandshakeResult> {
  let serverSide: { authorized: boolean; peer?: { connectorId: string; serial: string } } | undefined;
  const server = tls.createServer(
    {
      cert: ca.serverCertPem,
      key: ca.serverKeyPem,
      ca: ca.caCertPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [TUNNEL_ALPN],
    },
    (socket) => {
      serverSide = { authorized: socket.authorized, peer: ca.verifyPeer(socket.getPeerX509Certificate()!) };
      socket.end('ok');
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const result = await new Promise<HandshakeResult>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        servername,
        ca: ca.caCertPem,
        key: client.key,
        cert: client.cert,
        ALPNProtocols: [TUNNEL_ALPN],
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve({ clientOk: data === 'ok' }));
      // TLS 1.3: a refused client certificate surfaces after the client's handshake completes, as an alert.
      socket.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ clientOk: false, clientError: err.code ?? err.message }),
      );
    });
    return { ...result, serverAuthorized: serverSide?.authorized, peer: serverSide?.peer };
  } finally {
    server.close();
  }
}

test("tunnel CA is created once in the store, the node's server key kept 0600, and reloaded unchanged", async () => {
  await withStateDir(async (dir, store) => {
    const first = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    const second = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    assert.equal(second.caCertPem, first.caCertPem);
    assert.equal(second.serverCertPem, first.serverCertPem);
    assert.equal((await store.edgeKeys.getTunnelCa())?.certPem, first.caCertPem);
    if (process.platform !== 'win32') {
      assert.equal((await stat(join(dir, 'tunnel-ca', 'server.key'))).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'tunnel-ca'))).mode & 0o777, 0o700);
    }
    const server = new X509Certificate(first.serverCertPem);
    assert.equal(server.subjectAltName, 'DNS:tunnel.apps.localhost');
    assert.ok(server.checkIssued(new X509Certificate(first.caCertPem)));

    // A new tunnel host re-issues the server certificate under the same CA.
    const moved = await loadOrCreateTunnelCa(store, dir, '127.0.0.1');
    assert.equal(moved.caCertPem, first.caCertPem);
    assert.equal(new X509Certificate(moved.serverCertPem).subjectAltName, 'IP Address:127.0.0.1');

    // Another node's state directory, same store: same CA, its own server certificate from it.
    const otherDir = await mkdtemp(join(tmpdir(), 'db-tunnel-ca-'));
    try {
      const other = await loadOrCreateTunnelCa(store, otherDir, 'tunnel.apps.localhost');
      assert.equal(other.caCertPem, first.caCertPem);
      assert.notEqual(other.serverKeyPem, first.serverKeyPem);
      const client = await enrolledClient(first);
      assert.equal(
        (await handshake(other, client)).clientOk,
        true,
        'a connector enrolled by one node is accepted by the other',
      );
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});

test('an edge upgrading from the CA files of earlier versions keeps its CA: imported once into the empty store', async () => {
  await withStateDir(async (dir, store) => {
    const formerPem = await writeFormerCa(dir);
    const ca = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    assert.equal(ca.caCertPem, formerPem);
    assert.equal((await store.edgeKeys.getTunnelCa())?.certPem, formerPem);
    // Once the store has a CA, another state directory's former CA is not used.
    const otherDir = await mkdtemp(join(tmpdir(), 'db-tunnel-ca-'));
    try {
      await writeFormerCa(otherDir);
      assert.equal((await loadOrCreateTunnelCa(store, otherDir, 'tunnel.apps.localhost')).caCertPem, formerPem);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});

test('tunnel CA refuses to start when a former ca.key is lost instead of minting a new CA', async () => {
  await withStateDir(async (dir, store) => {
    await writeFormerCa(dir);
    await unlink(join(dir, 'tunnel-ca', 'ca.key'));
    await assert.rejects(
      loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost'),
      (err) =>
        err instanceof DrawbridgeError && err.code === 'DB-CONFIG-INVALID' && /ca\.key is missing/.test(err.message),
    );
    assert.equal(await store.edgeKeys.getTunnelCa(), null, 'nothing stored');
  });
});

test('real mutual-TLS handshake: the issued connector certificate is accepted, verifyPeer names the connector', async () => {
  await withStateDir(async (dir, store) => {
    const ca = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    const client = await enrolledClient(ca);
    const result = await handshake(ca, client);
    assert.equal(result.clientOk, true, result.clientError);
    assert.equal(result.serverAuthorized, true);
    assert.deepEqual(result.peer, { connectorId: CONNECTOR_ID, serial: client.serial });

    const node = new X509Certificate(client.cert);
    assert.equal(node.subject, `CN=${CONNECTOR_ID}`);
    assert.deepEqual(node.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(new Date(client.notAfter).getTime(), node.validToDate.getTime());
  });
});

test('real mutual-TLS handshake: a certificate from another CA is refused, and verifyPeer refuses it too', async () => {
  await withStateDir(async (dir, store) => {
    const ca = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    const rogueCaPair = await generateKeyPair();
    const rogueCa = {
      cert: await createSelfSignedCa({ commonName: 'Drawbridge Tunnel CA', keys: rogueCaPair.keys, validityDays: 5 }),
      keys: rogueCaPair.keys,
    };
    const pair = await generateKeyPair();
    const rogue = await issueClientCertificate({
      ca: rogueCa,
      publicKey: pair.keys.publicKey,
      commonName: CONNECTOR_ID,
      validityDays: 5,
    });

    const result = await handshake(ca, { key: pair.privateKeyPem, cert: rogue.certPem });
    assert.equal(result.clientOk, false);
    assert.equal(result.peer, undefined, 'the server never saw an authorised socket');
    assert.throws(
      () => ca.verifyPeer(rogue.certPem),
      (err) => err instanceof DrawbridgeError && err.code === 'DB-TUNNEL-CERT-REFUSED',
    );
  });
});

test('verifyPeer refuses expired and non-clientAuth certificates of the same CA', async () => {
  await withStateDir(async (dir, store) => {
    const ca = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    const client = await enrolledClient(ca);
    assert.throws(() => ca.verifyPeer(client.cert, new Date(Date.now() + 31 * 86_400_000)), /validity/);
    // The tunnel server certificate is signed by the same CA but is not a client certificate.
    assert.throws(() => ca.verifyPeer(ca.serverCertPem), /clientAuth/);
  });
});

test('issueConnectorCertificate refuses a tampered CSR with DB-ENROLL-CSR-INVALID', async () => {
  await withStateDir(async (dir, store) => {
    const ca = await loadOrCreateTunnelCa(store, dir, 'tunnel.apps.localhost');
    const pair = await generateKeyPair();
    const csr = await createCsr(pair.keys, 'abcdefgh');
    const tampered = csr.replace(
      /^(-----BEGIN CERTIFICATE REQUEST-----\n.{40})(.)/,
      (_m, head: string, c: string) => head + (c === 'A' ? 'B' : 'A'),
    );
    await assert.rejects(
      ca.issueConnectorCertificate(tampered, CONNECTOR_ID, 1),
      (err) => err instanceof DrawbridgeError && err.code === 'DB-ENROLL-CSR-INVALID',
    );
  });
});

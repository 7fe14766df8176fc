/** Small PKI helpers over @peculiar/x509 and Node's WebCrypto: ECDSA P-256 keys, SHA-256 signatures. */
export { x509, type CryptoKey, type CryptoKeyPair } from './crypto.ts';
export { generateKeyPair, exportPrivateKeyPem, exportPublicKeyPem, importKeyPairPem, type KeyPairPem } from './keys.ts';
export { derToPem, pemToDer, isPem } from './pem.ts';
export { randomSerial, normalizeSerial } from './serial.ts';
export { sha256Fingerprint } from './fingerprint.ts';
export { createCsr, verifyCsr, CsrError, type VerifiedCsr } from './csr.ts';
export {
  createSelfSignedCa,
  issueServerCertificate,
  issueClientCertificate,
  issueNodeCertificate,
  sanForHost,
  certificateNames,
  commonNameOf,
  isIssuedBy,
  certificateMatchesKey,
  remainingMs,
  DAY,
  type CertificateAuthority,
  type IssuedCertificate,
} from './certificates.ts';
export {
  writeFileAtomic,
  writeSecretFile,
  ensureSecretDir,
  readTextIfExists,
  exists,
  SECRET_FILE_MODE,
  SECRET_DIR_MODE,
  PUBLIC_FILE_MODE,
} from './files.ts';
export { createDevCertificates, devServerNames, type DevCertificates } from './dev-certs.ts';

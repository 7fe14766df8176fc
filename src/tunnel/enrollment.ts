/** The enrollment exchange on ENROLL_PATH: part of the edge–connector contract, so both sides import it from here. */

/** What a connector sends. `token` is a secret: never log it. */
export interface EnrollBody {
  token: string;
  csr: string;
  name?: string;
  hostname: string;
  version: string;
}

/** What the edge answers on success (201). */
export interface EnrollAnswer {
  connectorId: string;
  tenantId: string;
  groupId: string;
  /** PEM client certificate: CN=<connectorId>, clientAuth, signed by the tunnel CA. */
  certificate: string;
  /** PEM tunnel CA certificate the connector pins for the tunnel. */
  caCertificate: string;
  /** The TLS server name of the tunnel endpoint. */
  tunnelHost: string;
}

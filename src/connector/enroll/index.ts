/** Connector enrollment: key, CSR, certificate, state directory. */
export { register, type RegisterOptions } from './register.ts';
export {
  loadConnectorState,
  statePaths,
  STATE_FILES,
  REGISTER_HINT,
  type ConnectorRegistration,
  type ConnectorState,
} from './state.ts';
export { parseConnectAddress } from './enroll-client.ts';

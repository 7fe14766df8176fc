import type { ErrorCode } from '../../errors/catalogue.ts';

/** Maps a failure reaching the backend to the catalogue code the user's page will show. */
export function backendErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'DB-BACKEND-TIMEOUT';
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'DB-BACKEND-UNREACHABLE';
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      // The connector's HTTP client refused to send the request as it was: nothing reached the backend.
      return 'DB-CONNECTOR-REQUEST-INVALID';
    case 'UND_ERR_INFO':
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
      return 'DB-BACKEND-PROTOCOL';
    default:
      if (
        err.code?.startsWith('ERR_TLS') ||
        err.code?.includes('CERT') ||
        err.code?.startsWith('UNABLE_TO') ||
        err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
        err.code === 'SELF_SIGNED_CERT_IN_CHAIN'
      )
        return 'DB-BACKEND-TLS';
      if (err.code?.startsWith('HPE_') || err.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
        return 'DB-BACKEND-PROTOCOL';
      return 'DB-BACKEND-UNREACHABLE';
  }
}

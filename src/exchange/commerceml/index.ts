/** Reusable pieces of 1C's "Обмен с сайтом" protocol (server state machine and client). */
export { basicAuthHeader, parseBasicAuth, sameCredentials } from './basic-auth.ts';
export {
  directTransport,
  ExchangeClient,
  ExchangeClientError,
  type ExchangeHttpRequest,
  type ExchangeHttpResponse,
  type ExchangeTransport,
  httpClientTransport,
} from './client.ts';
export { decodeReply, type ExchangeEncoding, type ExchangeReply } from './reply.ts';
export { checkUploadPath } from './safe-path.ts';
export {
  createExchangeServer,
  type ExchangeHandlers,
  type ExchangeRequest,
  type ExchangeServer,
  type ExchangeServerOptions,
  type FileReceivedEvent,
  type ImportFileEvent,
} from './server.ts';
export {
  type ExchangeSession,
  type ExchangeSessionStore,
  type ExchangeType,
  hashSecret,
  memorySessionStore,
} from './session-store.ts';
export { ExchangeFailure } from './step-jobs.ts';
export { unzipSafely } from './unzip.ts';
export { zipFiles } from './zip-pack.ts';

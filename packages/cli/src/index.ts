export { main } from './main.ts';
export { type AdapterFactory, buildConnections, createDefaultAdapter } from './serve/build-connections.ts';
export {
  type CoexistConfig,
  CoexistConfigError,
  type CoexistConfigIssue,
  type ConnectionConfig,
  loadCoexistConfig,
  parseCoexistConfig,
  type StoreConfig,
} from './serve/coexist-config.ts';
export { type CoexistLogger, createLineLogger, type LineLoggerOptions, redactSecrets } from './serve/coexist-logger.ts';
export { type Coexist, type CreateCoexistOptions, createCoexist } from './serve/create-coexist.ts';
export { type CoexistServer, startCoexistServer } from './serve/create-coexist-server.ts';
export { type ChatCardQuery, loadChatCard } from './serve/load-chat-card.ts';
export { checkHealth, type HealthReport } from './serve/status-routes.ts';

export { EVENT_CONTRACT_VERSION } from './events/coexistence-event.ts';

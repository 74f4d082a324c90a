export { EVENT_CONTRACT_VERSION } from './events/coexistence-event.ts';
export * from './testing/conformance.ts';
export * from './testing/reference-adapter.ts';

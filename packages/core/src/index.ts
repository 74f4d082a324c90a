export * from './events/coexistence-event.ts';

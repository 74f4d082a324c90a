export { type EmulatorRequest, type EmulatorResponse, EmulatorRouter, type RouteHandler } from './emulator-router.ts';
export {
  type EmulatorServerOptions,
  type EmulatorStats,
  type RunningEmulator,
  startEmulatorServer,
} from './emulator-server.ts';
export { type Fault, FaultInjector, type FaultOptions } from './fault-injector.ts';
export { LatencyModel, type LatencyOptions } from './latency-model.ts';
export { RollingWindow, type WindowDecision } from './rolling-window.ts';
export { createSeededRandom, type SeededRandom } from './seeded-random.ts';

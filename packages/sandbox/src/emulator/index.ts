export { EmulatorRouter, type EmulatorRequest, type EmulatorResponse, type RouteHandler } from './emulator-router.ts';
export { startEmulatorServer, type EmulatorServerOptions, type EmulatorStats, type RunningEmulator } from './emulator-server.ts';
export { FaultInjector, type Fault, type FaultOptions } from './fault-injector.ts';
export { LatencyModel, type LatencyOptions } from './latency-model.ts';
export { RollingWindow, type WindowDecision } from './rolling-window.ts';
export { createSeededRandom, type SeededRandom } from './seeded-random.ts';

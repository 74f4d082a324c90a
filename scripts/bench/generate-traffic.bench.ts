/**
 * Measures generating a large run: `node --conditions=@coexist/source packages/sandbox/src/generator/generate-traffic.bench.ts [messages] [numbers]`.
 * Prints payload count, bytes, seconds and peak RSS; payloads are streamed and dropped, never kept.
 */
import { generateTraffic } from '@coexist/sandbox';

const messages = Number(process.argv[2] ?? 100_000);
const numbers = Number(process.argv[3] ?? 5);
const started = performance.now();
let peakRss = process.memoryUsage().rss;
let payloads = 0;
let bytes = 0;
const run = generateTraffic({
  numbers,
  messages,
  contacts: Math.max(numbers * 6, Math.round(messages / 25)),
  seed: 'bench',
});
for (const payload of run) {
  payloads++;
  bytes += Buffer.byteLength(payload.body);
  if (payloads % 200 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const seconds = (performance.now() - started) / 1000;
const manifest = run.manifest();
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(
  JSON.stringify({
    messages: manifest.totals.messages,
    threads: manifest.totals.threads,
    numbers,
    payloads,
    megabytes: Math.round(bytes / 1e5) / 10,
    seconds: Math.round(seconds * 10) / 10,
    peakRssMegabytes: Math.round(peakRss / 1e5) / 10,
  }),
);

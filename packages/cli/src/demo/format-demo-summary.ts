import type { DemoResult } from './run-demo.ts';

/** Formats the demo's results as a human summary, one block per CRM. */
export function formatDemoSummary(results: readonly DemoResult[]): string {
  const number = (value: number) => value.toLocaleString('en-US');
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return results
    .map((result) => {
      const ratio = result.floorMs > 0 ? ` (${(result.elapsedMs / result.floorMs).toFixed(2)}× the floor)` : '';
      const rateLimitedShare = result.requests > 0 ? (result.rateLimited / result.requests) * 100 : 0;
      return [
        `\n${result.crm}: ${number(result.messagesWritten)} of ${number(result.messagesExpected)} messages in the CRM, ${number(result.duplicates)} duplicates`,
        ...(result.messagesExpected < result.messagesGenerated
          ? [
              `  (${number(result.messagesGenerated)} generated: ${number(result.messagesGenerated - result.messagesExpected)} from customers known only by a username, without a phone number, which ${result.crm} cannot log)`,
            ]
          : []),
        `  contacts: ${number(result.contactsMatched)} existing matched, ${number(result.contactsCreated)} created`,
        `  requests: ${number(result.requests)}, rate-limited: ${number(result.rateLimited)} (${rateLimitedShare.toFixed(2)}%)`,
        `  webhooks: ${number(result.webhooks.payloads)} payloads in ${number(result.webhooks.posts)} POSTs (${number(result.webhooks.duplicatesSent)} duplicate deliveries)`,
        `  elapsed: ${seconds(result.elapsedMs)}; floor: ${seconds(result.floorMs)}${ratio} = ${result.floorArithmetic}`,
        `  dead-lettered: ${number(result.deadLettered)}`,
      ].join('\n');
    })
    .join('\n')
    .concat('\n');
}

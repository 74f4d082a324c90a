import { expect, it } from 'vitest';
import { runSalesforceSync } from './salesforce-sync.ts';

it('runs the Salesforce example end to end against the emulator', async () => {
  const lines: string[] = [];
  const summary = await runSalesforceSync((line) => lines.push(line));
  expect(summary).toMatchObject({
    created: 2,
    replayedAsCreated: 0,
    messagesInSalesforce: 2,
    conversationsInSalesforce: 1,
    status: 'read',
  });
  expect(summary.contactId.startsWith('003')).toBe(true);
  expect(lines.join('\n')).not.toContain('offer');
});

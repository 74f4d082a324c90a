/**
 * Salesforce datetimes: the API answers `2026-03-01T09:00:00.000+0000` (offset without a colon, which not every
 * parser reads) and accepts ISO-8601 in writes. These helpers convert both ways through epoch milliseconds.
 */

/** Epoch ms of a Salesforce or ISO datetime, or `undefined` when the value is empty or not a datetime. */
export function parseSalesforceDateTime(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const epoch = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(epoch) ? undefined : epoch;
}

/** An epoch ms as the ISO-8601 UTC datetime Salesforce accepts. */
export function formatSalesforceDateTime(epoch: number): string {
  return new Date(epoch).toISOString();
}

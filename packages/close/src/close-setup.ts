/**
 * Registers the chat card's Integration Link on Close lead pages (https://developer.close.com/api/resources/integration-links,
 * admin credentials required). Idempotent: it finds its link by name, keeps it while the signed template is valid
 * for more than half its lifetime, and rewrites it otherwise (rotation, new base URL or secret). Run it at start-up.
 */
import type { OperationContext } from '@coexist/core';
import { type CloseWireIntegrationLink, closeIntegrationLinkSchema, closeListSchema } from './close-api.ts';
import { closeIntegrationLinkTemplate, verifyCloseCardLink } from './close-card.ts';
import { CLOSE_ENDPOINT_GROUPS } from './close-errors.ts';
import type { CloseTransport } from './close-transport.ts';

/** What `setup()` did. */
export interface CloseSetupReport {
  /** The Integration Link's id (`intlink_…`). */
  integrationLinkId: string;
  action: 'created' | 'updated' | 'unchanged';
  /** When the link's signature expires (ISO time); run `setup()` again before. */
  expiresAt: string;
}

/** What `setupCloseIntegrationLink` needs. */
export interface CloseIntegrationLinkSetup {
  baseUrl: string;
  secret: string;
  organizationId: string;
  name: string;
  ttlMs: number;
  now: number;
}

const integrationLinkPageSchema = closeListSchema(closeIntegrationLinkSchema);

/** Creates or refreshes the lead Integration Link that opens the chat card. */
export async function setupCloseIntegrationLink(
  transport: CloseTransport,
  setup: CloseIntegrationLinkSetup,
  context: OperationContext,
): Promise<CloseSetupReport> {
  let existing: CloseWireIntegrationLink | undefined;
  for (let skip = 0; existing === undefined; skip += 100) {
    const page = await transport.request({
      method: 'GET',
      path: '/integration_link/',
      group: CLOSE_ENDPOINT_GROUPS.listIntegrationLinks,
      query: { _skip: String(skip), _limit: '100' },
      schema: integrationLinkPageSchema,
      context,
    });
    existing = page.data.find((link) => link.name === setup.name && link.type === 'lead');
    if (page.has_more !== true || page.data.length === 0) break;
  }
  if (existing !== undefined && isFresh(existing.url, setup)) {
    const verified = verifyCloseCardLink(existing.url, { secret: setup.secret, now: setup.now });
    return {
      integrationLinkId: existing.id,
      action: 'unchanged',
      expiresAt: new Date(verified.ok ? verified.expiresAt : setup.now).toISOString(),
    };
  }
  const expiresAt = setup.now + setup.ttlMs;
  const url = closeIntegrationLinkTemplate({
    baseUrl: setup.baseUrl,
    secret: setup.secret,
    organizationId: setup.organizationId,
    expiresAt,
  });
  if (existing === undefined) {
    const created = await transport.request({
      method: 'POST',
      path: '/integration_link/',
      group: CLOSE_ENDPOINT_GROUPS.createIntegrationLink,
      body: { name: setup.name, type: 'lead', url },
      schema: closeIntegrationLinkSchema,
      context,
    });
    return { integrationLinkId: created.id, action: 'created', expiresAt: new Date(expiresAt).toISOString() };
  }
  await transport.request({
    method: 'PUT',
    path: `/integration_link/${encodeURIComponent(existing.id)}/`,
    group: CLOSE_ENDPOINT_GROUPS.updateIntegrationLink,
    body: { url },
    schema: closeIntegrationLinkSchema,
    context,
  });
  return { integrationLinkId: existing.id, action: 'updated', expiresAt: new Date(expiresAt).toISOString() };
}

/** Whether a stored template points at our base URL, is signed with our secret for this organization and lives long enough. */
function isFresh(url: string, setup: CloseIntegrationLinkSetup): boolean {
  const separator = setup.baseUrl.includes('?') ? '&' : '?';
  if (!url.startsWith(`${setup.baseUrl}${separator}`)) return false;
  let verified: ReturnType<typeof verifyCloseCardLink>;
  try {
    verified = verifyCloseCardLink(url, { secret: setup.secret, now: setup.now });
  } catch {
    return false;
  }
  return (
    verified.ok &&
    verified.scope === 'organization' &&
    verified.organizationId === setup.organizationId &&
    verified.expiresAt - setup.now > setup.ttlMs / 2
  );
}

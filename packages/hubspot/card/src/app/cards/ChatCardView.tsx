/**
 * The chat card as HubSpot UI-extension components: the thread (sender, time, status, edits, deletions,
 * reactions), who owns the conversation (the rep's Business App or the Cloud API), whether the 24-hour service
 * window is open and until when, and the number's health. Pure: it renders the core `ChatCard` model it is given,
 * so it is tested with `@hubspot/ui-extensions/testing` without HubSpot.
 */
import type { ChatCard, ChatCardMessage } from '@coexist/core';
import { Alert, Box, Divider, Flex, Heading, ProgressBar, StatusTag, Tag, Text, Tile } from '@hubspot/ui-extensions';

const ACTOR_LABELS: Record<ChatCardMessage['actor'], string> = {
  customer: 'Customer',
  business_app: 'Rep (Business App)',
  cloud_api: 'Cloud API',
};

const WARNING_LABELS: Record<ChatCard['numberHealth']['warnings'][number], string> = {
  disconnected: 'The number is disconnected from the Cloud API.',
  offboarded: 'The number was offboarded from Coexistence.',
  'app-inactive': 'The WhatsApp Business App has not been opened recently; Meta disconnects after about 14 days.',
  'sync-deadline': 'The contact and history sync must be requested within 24 hours of onboarding.',
  'history-declined': 'The business declined to share its chat history.',
};

/** Formats an ISO time for the card (UTC, minute precision, stable across time zones for tests). */
export function formatCardTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** One message of the thread. */
function MessageRow({ message }: { message: ChatCardMessage }) {
  const details = [ACTOR_LABELS[message.actor], formatCardTime(message.occurredAt)];
  if (message.status !== undefined) details.push(message.status);
  if (message.edited) details.push('edited');
  return (
    <Tile compact={true}>
      <Flex direction="column" gap="extra-small" align={message.direction === 'outbound' ? 'end' : 'start'}>
        <Text variant="microcopy">{details.join(' · ')}</Text>
        {message.revoked ? (
          <Text format={{ italic: true }}>This message was deleted.</Text>
        ) : (
          <>
            {message.mediaLabel === undefined ? null : <Tag variant="default">{message.mediaLabel}</Tag>}
            {message.text === undefined ? null : <Text>{message.text}</Text>}
            {message.placeholder ? <Text variant="microcopy">Media not yet available.</Text> : null}
          </>
        )}
        {message.reactions.length === 0 ? null : (
          <Text variant="microcopy">
            {message.reactions.map((reaction) => `${reaction.emoji} ${ACTOR_LABELS[reaction.actor]}`).join(' · ')}
          </Text>
        )}
      </Flex>
    </Tile>
  );
}

/** The card: header, owner side, service window, number health, thread. */
export function ChatCardView({ card }: { card: ChatCard }) {
  const owner =
    card.ownership.owner === 'app'
      ? 'Rep on the WhatsApp Business App'
      : card.ownership.owner === 'api'
        ? 'Cloud API (CRM, automation)'
        : 'Nobody yet';
  const window = card.serviceWindow;
  const health = card.numberHealth;
  return (
    <Flex direction="column" gap="small">
      <Heading>{card.contact.name ?? card.contact.phone ?? 'WhatsApp contact'}</Heading>
      <Flex direction="row" gap="small" wrap={true}>
        {card.contact.phone === undefined ? null : <Text variant="microcopy">{card.contact.phone}</Text>}
        {card.businessPhone === undefined ? null : (
          <Text variant="microcopy">{`Business number ${card.businessPhone}`}</Text>
        )}
      </Flex>
      <Flex direction="row" gap="small" wrap={true}>
        <StatusTag variant={card.ownership.owner === undefined ? 'default' : 'info'}>{`Owner: ${owner}`}</StatusTag>
        <StatusTag variant={window.freeFormAllowed ? 'success' : 'warning'}>
          {window.open && window.expiresAt !== undefined
            ? `Service window open until ${formatCardTime(window.expiresAt)}`
            : 'Service window closed: template required'}
        </StatusTag>
        <StatusTag variant={health.connection === 'connected' ? 'success' : 'danger'}>
          {`Number: ${health.connection}`}
        </StatusTag>
      </Flex>
      {health.warnings.map((warning) => (
        <Alert key={warning} title="Number health" variant={warning === 'app-inactive' ? 'warning' : 'danger'}>
          {warning === 'app-inactive' && health.inactivityDisconnectAt !== undefined
            ? `${WARNING_LABELS[warning]} Expected disconnect: ${formatCardTime(health.inactivityDisconnectAt)}.`
            : WARNING_LABELS[warning]}
        </Alert>
      ))}
      {health.backfillComplete ? null : (
        <ProgressBar title="History backfill" value={health.backfillProgress} maxValue={100} showPercentage={true} />
      )}
      <Divider />
      {card.olderMessageCount > 0 ? (
        <Text variant="microcopy">{`${card.olderMessageCount} older messages not shown`}</Text>
      ) : null}
      {card.messages.length === 0 ? (
        <Text>No WhatsApp messages yet.</Text>
      ) : (
        <Box>
          <Flex direction="column" gap="extra-small">
            {card.messages.map((message) => (
              <MessageRow key={message.id} message={message} />
            ))}
          </Flex>
        </Box>
      )}
      <Text variant="microcopy">{`Updated ${formatCardTime(card.generatedAt)}`}</Text>
    </Flex>
  );
}

/**
 * The Coexist app card (a HubSpot UI extension on the contact record tab). It fetches the conversation's
 * `ChatCard` JSON from `coexist serve` with `hubspot.fetch()` (the URL must be listed in `permittedUrls.fetch` of
 * `app-hsmeta.json`; HubSpot signs the request, `createHubSpotCardHandler` verifies it) and renders `ChatCardView`.
 * The server URL comes from the project profile variable `COEXIST_URL` (`hsprofile.*.json`), else the default below.
 */
import type { ChatCard } from '@coexist/core';
import { EmptyState, ErrorState, hubspot, LoadingSpinner, Text } from '@hubspot/ui-extensions';
import { useEffect, useState } from 'react';
import { ChatCardView } from './ChatCardView.tsx';

/** Where `coexist serve` runs when no profile variable says otherwise; must match `permittedUrls.fetch`. */
const DEFAULT_COEXIST_URL = 'https://coexist.example.com';

type CardState =
  | { kind: 'loading' }
  | { kind: 'empty' }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; card: ChatCard };

function CoexistChatCard({ contactId, baseUrl }: { contactId: number; baseUrl: string }) {
  const [state, setState] = useState<CardState>({ kind: 'loading' });
  useEffect(() => {
    let cancelled = false;
    const url = `${baseUrl.replace(/\/$/, '')}/cards/hubspot?contactId=${encodeURIComponent(String(contactId))}`;
    hubspot
      .fetch(url, { method: 'GET', timeout: 10_000 })
      .then(async (response) => {
        if (cancelled) return;
        if (response.status === 404) return setState({ kind: 'empty' });
        if (!response.ok) return setState({ kind: 'error', message: `Coexist answered ${response.status}.` });
        setState({ kind: 'ready', card: (await response.json()) as ChatCard });
      })
      .catch(() => {
        if (!cancelled) setState({ kind: 'error', message: 'Coexist could not be reached.' });
      });
    return () => {
      cancelled = true;
    };
  }, [contactId, baseUrl]);

  if (state.kind === 'loading') return <LoadingSpinner label="Loading the WhatsApp conversation" />;
  if (state.kind === 'empty') {
    return (
      <EmptyState title="No WhatsApp conversation" layout="vertical">
        <Text>Coexist has not seen a WhatsApp conversation with this contact.</Text>
      </EmptyState>
    );
  }
  if (state.kind === 'error') {
    return (
      <ErrorState title="The WhatsApp conversation could not be loaded">
        <Text>{state.message}</Text>
      </ErrorState>
    );
  }
  return <ChatCardView card={state.card} />;
}

hubspot.extend<'crm.record.tab'>(({ context }) => (
  <CoexistChatCard
    contactId={context.crm.objectId}
    baseUrl={typeof context.variables?.COEXIST_URL === 'string' ? context.variables.COEXIST_URL : DEFAULT_COEXIST_URL}
  />
));

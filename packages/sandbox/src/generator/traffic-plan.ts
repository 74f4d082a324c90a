/**
 * Resolves {@link TrafficOptions} and plans every business number: its ids, customers and how many
 * history and live messages it gets. Plans hold customers (thousands at most), never messages.
 */

import { createObjectId } from './message-ids.ts';
import {
  COUNTRY_PROFILES,
  type CountryCode,
  type GeneratedPhoneNumber,
  generateBsuid,
  generatePhoneNumber,
  type Language,
} from './phone-numbers.ts';
import { hashParts, mix32, type Seed, SeededRandom } from './seeded-random.ts';
import type { HistoryEncoding, JsonStyle, TrafficOptions } from './traffic-types.ts';
import { BUSINESS_NAMES, FIRST_NAMES, LAST_NAMES, USERNAME_WORDS } from './word-lists.ts';

/** Thrown for an invalid generator option; the message names the option. */
export class TrafficOptionsError extends Error {
  /** The option at fault. */
  readonly option: string;

  /** Creates the error for `option`. */
  constructor(option: string, problem: string) {
    super(`[coexist/sandbox] invalid traffic option "${option}": ${problem}`);
    this.name = 'TrafficOptionsError';
    this.option = option;
  }
}

/** Options with every default applied. */
export interface ResolvedTrafficOptions {
  numbers: number;
  messages: number;
  liveMessages: number;
  contacts: number;
  seed: Seed;
  /** Unix seconds. */
  onboardedAt: number;
  declinedHistoryNumbers: number[];
  chunkSize: number;
  maxBatchSize: number;
  historyEncoding: HistoryEncoding;
  jsonStyle: JsonStyle;
  accountEvents: boolean;
  liveDays: number;
}

/** One customer of a business number. */
export interface PlannedCustomer {
  index: number;
  country: CountryCode;
  language: Language;
  /** The real number's digits (always set; used inside wamids). */
  phoneDigits: string;
  /** False for username adopters whose phone fields Meta sends as `""`. */
  phoneVisible: boolean;
  fullName: string;
  firstName: string;
  /** The WhatsApp profile name (`contacts[].profile.name`). */
  profileName: string;
  userId?: string;
  username?: string;
  /** In the Business App's address book (synced by `smb_app_state_sync`). */
  inAddressBook: boolean;
  /** Has history messages. */
  inHistory: boolean;
  /** Writes only after onboarding (a new lead), never in history. */
  liveOnly: boolean;
  /** Relative share of the messages (heavy-tailed). */
  weight: number;
  /** How far back (days before onboarding) this customer's conversation reaches. */
  firstSeenDaysAgo: number;
}

/** One business number and everything fixed about it. */
export interface NumberPlan {
  index: number;
  /** A per-number 32-bit key used to keep wamids unique. */
  key: number;
  wabaId: string;
  phoneNumberId: string;
  display: GeneratedPhoneNumber;
  businessName: string;
  /** Unix seconds. */
  onboardedAt: number;
  historyShared: boolean;
  historyMessages: number;
  liveMessages: number;
  customers: PlannedCustomer[];
}

/** A whole planned run. */
export interface TrafficPlan {
  options: ResolvedTrafficOptions;
  numbers: NumberPlan[];
}

const DEFAULT_ONBOARDED_AT = '2026-03-02T09:00:00Z';
const BUSINESS_COUNTRIES: readonly CountryCode[] = ['US', 'GB', 'DE', 'BR', 'MX', 'ES', 'IN', 'FR', 'IT', 'AR', 'CO'];

function requireInteger(option: string, value: unknown, minimum: number, maximum = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw new TrafficOptionsError(
      option,
      `expected an integer from ${minimum} to ${maximum}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function resolveOnboardedAt(value: TrafficOptions['onboardedAt']): number {
  const raw = value ?? DEFAULT_ONBOARDED_AT;
  const milliseconds = raw instanceof Date ? raw.getTime() : typeof raw === 'number' ? raw : Date.parse(raw);
  if (!Number.isFinite(milliseconds)) {
    throw new TrafficOptionsError(
      'onboardedAt',
      `expected an ISO date, a Date or epoch milliseconds, got ${JSON.stringify(raw)}`,
    );
  }
  return Math.floor(milliseconds / 1000);
}

/** Validates options and fills in the defaults. */
export function resolveTrafficOptions(options: TrafficOptions = {}): ResolvedTrafficOptions {
  const numbers = requireInteger('numbers', options.numbers ?? 1, 1, 10_000);
  const messages = requireInteger('messages', options.messages ?? 200, 0, 100_000_000);
  const liveMessages = requireInteger(
    'liveMessages',
    options.liveMessages ?? Math.max(Math.min(messages, 12), Math.round(messages * 0.1)),
    0,
    messages,
  );
  const contacts = requireInteger(
    'contacts',
    options.contacts ?? Math.max(numbers * 6, Math.round(messages / 10)),
    numbers * 2,
  );
  const seed = options.seed ?? 1;
  if (typeof seed !== 'string' && (typeof seed !== 'number' || !Number.isFinite(seed))) {
    throw new TrafficOptionsError('seed', `expected a number or a string, got ${JSON.stringify(seed)}`);
  }
  const declined = options.declinedHistoryNumbers ?? [];
  if (!Array.isArray(declined))
    throw new TrafficOptionsError('declinedHistoryNumbers', 'expected an array of number indexes');
  declined.forEach((index, position) => {
    requireInteger(`declinedHistoryNumbers[${position}]`, index, 0, numbers - 1);
  });
  const historyEncoding = options.historyEncoding ?? 'mixed';
  if (!['meta-docs', 'from-me', 'mixed'].includes(historyEncoding)) {
    throw new TrafficOptionsError(
      'historyEncoding',
      `expected "meta-docs", "from-me" or "mixed", got ${JSON.stringify(historyEncoding)}`,
    );
  }
  const jsonStyle = options.jsonStyle ?? 'meta';
  if (jsonStyle !== 'meta' && jsonStyle !== 'plain') {
    throw new TrafficOptionsError('jsonStyle', `expected "meta" or "plain", got ${JSON.stringify(jsonStyle)}`);
  }
  return {
    numbers,
    messages,
    liveMessages,
    contacts,
    seed,
    onboardedAt: resolveOnboardedAt(options.onboardedAt),
    declinedHistoryNumbers: [...new Set(declined)].sort((a, b) => a - b),
    chunkSize: requireInteger('chunkSize', options.chunkSize ?? 250, 1, 100_000),
    maxBatchSize: requireInteger('maxBatchSize', options.maxBatchSize ?? 1000, 1, 1000),
    historyEncoding,
    jsonStyle,
    accountEvents: options.accountEvents ?? true,
    liveDays: requireInteger('liveDays', options.liveDays ?? 3, 1, 365),
  };
}

/** Splits `total` over `weights` (largest remainder), giving every slot at least `minimum` when possible. */
export function allocate(total: number, weights: readonly number[], minimum = 0): number[] {
  const result = weights.map(() => 0);
  if (weights.length === 0) return result;
  let remaining = total;
  if (minimum > 0 && total >= minimum * weights.length) {
    for (let index = 0; index < result.length; index++) result[index] = minimum;
    remaining -= minimum * weights.length;
  }
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0) || 1;
  const remainders: Array<[number, number]> = [];
  let assigned = 0;
  for (let index = 0; index < weights.length; index++) {
    const exact = (remaining * (weights[index] ?? 0)) / weightSum;
    const floor = Math.floor(exact);
    result[index] = (result[index] ?? 0) + floor;
    assigned += floor;
    remainders.push([exact - floor, index]);
  }
  remainders.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let position = 0; assigned < remaining; position++, assigned++) {
    const slot = remainders[position % remainders.length]![1];
    result[slot] = (result[slot] ?? 0) + 1;
  }
  return result;
}

function pickCustomerCountry(random: SeededRandom, businessCountry: CountryCode): CountryCode {
  if (random.chance(0.6)) return businessCountry;
  return random.pick(Object.keys(COUNTRY_PROFILES) as CountryCode[]);
}

function planCustomers(
  random: SeededRandom,
  count: number,
  businessCountry: CountryCode,
  taken: Set<string>,
): PlannedCustomer[] {
  const customers: PlannedCustomer[] = [];
  for (let index = 0; index < count; index++) {
    const country = pickCustomerCountry(random, businessCountry);
    const phone = generatePhoneNumber(random, country, taken);
    const firstName = random.pick(FIRST_NAMES[country]);
    const fullName = `${firstName} ${random.pick(LAST_NAMES[country])}`;
    const hasBsuid = random.chance(0.2);
    const username =
      hasBsuid && random.chance(0.5)
        ? `${random.pick(USERNAME_WORDS)}.${firstName
            .toLowerCase()
            .normalize('NFD')
            .replace(/[^a-z]/g, '')}${random.int(1, 99)}`
        : undefined;
    // Meta sends "" for the phone only for username adopters with no contact in the last 30 days (M-BSUID).
    const phoneVisible = !(username && random.chance(0.3));
    const liveOnly = random.chance(0.06);
    const inAddressBook = !liveOnly && random.chance(0.88);
    const inHistory = !liveOnly && (!inAddressBook || random.chance(0.82));
    const profileRoll = random.next();
    customers.push({
      index,
      country,
      language: COUNTRY_PROFILES[country].language,
      phoneDigits: phone.digits,
      phoneVisible,
      fullName,
      firstName,
      // Profile names differ from address-book names: first names, nicknames, emoji.
      profileName:
        profileRoll < 0.5
          ? fullName
          : profileRoll < 0.8
            ? firstName
            : profileRoll < 0.9
              ? `${firstName} ✨`
              : firstName.toUpperCase(),
      ...(hasBsuid ? { userId: generateBsuid(random, country) } : {}),
      ...(username ? { username } : {}),
      inAddressBook,
      inHistory,
      liveOnly,
      // Heavy tail: a few customers write most of the messages.
      weight: Math.min(40, 1 / (0.02 + random.next()) ** 0.8),
      firstSeenDaysAgo: random.chance(0.45) ? 180 : random.int(0, 179),
    });
  }
  // Every number needs at least one history customer and one live customer when there are messages.
  if (!customers.some((customer) => customer.inHistory) && customers[0]) {
    customers[0].inHistory = true;
    customers[0].liveOnly = false;
  }
  return customers;
}

/** Plans a run: resolves options and builds every number's ids, customers and message counts. */
export function planTraffic(options: TrafficOptions = {}): TrafficPlan {
  const resolved = resolveTrafficOptions(options);
  const root = SeededRandom.from(resolved.seed, 'plan');
  const declined = new Set(resolved.declinedHistoryNumbers);
  const numberWeights = Array.from({ length: resolved.numbers }, (_, index) =>
    root.derive('number-weight', index).float(0.5, 1.5),
  );
  const sharing = numberWeights.map((_, index) => !declined.has(index));
  const anySharing = sharing.some(Boolean);
  const liveTotal = anySharing ? resolved.liveMessages : resolved.messages;
  const historyTotal = resolved.messages - liveTotal;
  const liveSplit = allocate(liveTotal, numberWeights, 1);
  const historySplit = allocate(
    historyTotal,
    numberWeights.map((weight, index) => (sharing[index] ? weight : 0)),
  );
  const contactSplit = allocate(resolved.contacts, numberWeights, 2);
  const takenPhones = new Set<string>();
  const numbers: NumberPlan[] = [];
  let onboardedAt = resolved.onboardedAt;
  for (let index = 0; index < resolved.numbers; index++) {
    const random = root.derive('number', index);
    const country = index === 0 ? 'US' : random.pick(BUSINESS_COUNTRIES);
    const display = generatePhoneNumber(random, country, takenPhones);
    const customers = planCustomers(random.derive('customers'), contactSplit[index] ?? 2, country, takenPhones);
    numbers.push({
      index,
      key: mix32(hashParts(resolved.seed, 'number-key') ^ index),
      wabaId: createObjectId(random),
      phoneNumberId: createObjectId(random),
      display,
      businessName: BUSINESS_NAMES[index % BUSINESS_NAMES.length] ?? 'Lucky Shrub',
      onboardedAt,
      historyShared: sharing[index] ?? true,
      historyMessages: historySplit[index] ?? 0,
      liveMessages: liveSplit[index] ?? 0,
      customers,
    });
    // Numbers of one customer are onboarded one after the other, minutes apart.
    onboardedAt += random.int(120, 1800);
  }
  return { options: resolved, numbers };
}

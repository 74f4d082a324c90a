import type { z } from 'zod';

/** One problem found in a webhook payload: where (a JSON path) and what. */
export interface WebhookValidationIssue {
  /** JSON path of the offending value, e.g. `entry[0].changes[0].value.messages[0].timestamp`; `""` for the body. */
  readonly path: string;
  /** Why the value was rejected. */
  readonly message: string;
}

/**
 * Thrown when a webhook payload is not a valid Meta WhatsApp webhook; `path` names the first field at fault.
 */
export class WebhookValidationError extends Error {
  override readonly name = 'WebhookValidationError';
  /** JSON path of the first offending value (`""` when the whole body is wrong). */
  readonly path: string;
  /** Every problem found, first one first. */
  readonly issues: readonly WebhookValidationIssue[];

  /** Creates the error for the value at `path`; `issues` defaults to that single problem. */
  constructor(path: string, reason: string, issues?: readonly WebhookValidationIssue[]) {
    super(`[coexist/core] Invalid webhook at ${path === '' ? '(body)' : path}: ${reason}`);
    this.path = path;
    this.issues = issues !== undefined && issues.length > 0 ? issues : [{ path, message: reason }];
  }
}

/** Formats a zod-style path (`['entry', 0, 'id']`) as a JSON path (`entry[0].id`). */
export function formatJsonPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][\w$]*$/.test(segment))
      path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

/** The part of a zod issue the flattening reads. */
export interface IssueLike {
  code?: string;
  path: PropertyKey[];
  message: string;
  errors?: IssueLike[][];
}

/**
 * Flattens an issue: a union failure is replaced by the issues of its closest branch (the one whose first issue
 * lies deepest), so a bad `history[0].metadata.phase` is reported there and not at `history[0]`. Paths come out
 * under `prefix`.
 */
export function flattenIssue(issue: IssueLike, prefix: readonly PropertyKey[]): IssueLike[] {
  const path = [...prefix, ...issue.path];
  if (issue.code !== 'invalid_union' || issue.errors === undefined || issue.errors.length === 0) {
    return [{ path, message: issue.message }];
  }
  let best: IssueLike[] | undefined;
  let bestDepth = -1;
  for (const branch of issue.errors) {
    const depth = branch.length > 0 ? branch[0]!.path.length : -1;
    if (depth > bestDepth) {
      best = branch;
      bestDepth = depth;
    }
  }
  // A branch that failed only at the union's own position explains nothing more than the union's message.
  if (best === undefined || bestDepth <= 0) return [{ path, message: issue.message }];
  return best.flatMap((inner) => flattenIssue(inner, path));
}

/** The `WebhookValidationError` of a failed zod parse of a webhook body. */
export function toWebhookValidationError(error: z.ZodError): WebhookValidationError {
  const issues: WebhookValidationIssue[] = [];
  for (const issue of error.issues as IssueLike[]) {
    for (const flat of flattenIssue(issue, [])) issues.push({ path: formatJsonPath(flat.path), message: flat.message });
  }
  const first = issues[0] ?? { path: '', message: 'invalid webhook' };
  return new WebhookValidationError(first.path, first.message, issues);
}

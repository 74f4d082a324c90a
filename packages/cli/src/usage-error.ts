/** A wrong invocation (unknown option, missing argument): `main` prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

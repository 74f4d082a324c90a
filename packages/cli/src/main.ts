/** Runs the `coexist` command with its arguments and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`coexist: unknown command ${argv[0] ?? ''}\n`);
  return 2;
}

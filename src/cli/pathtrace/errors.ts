// The failures the CLI tells apart by exit code (see commands.ts), besides the service's own (client.ts).

/** The command line is wrong; the message says how. */
export class UsageError extends Error {}

/** A local command (kubectl, ip) that failed or printed what it should not: the message says which and what it said. */
export class CommandError extends Error {}

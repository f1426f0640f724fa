/**
 * The one error type traceforge throws for problems a user can fix (bad input, bad options).
 * `code` is stable for scripts; the CLI prints `message` as one line and exits 2.
 * Anything else that escapes is a bug and is printed with its stack.
 */
export type ErrorCode =
  | 'E_INPUT'        // the input cannot be read (missing, unreadable, empty)
  | 'E_PARSE'        // the input is not a valid trace (not JSON, truncated, wrong shape)
  | 'E_NOT_TRACE'    // valid JSON, but not a trace (an object without "traceEvents")
  | 'E_GZIP'         // the gzip stream is damaged or truncated
  | 'E_OUTPUT'       // the output cannot be written, or would overwrite an input
  | 'E_USAGE'        // the command line is wrong
  | 'E_RANKS'        // rank discovery failed (duplicates, nothing found)
  | 'E_NOT_FOUND';   // nothing matched what was looked for

export class TraceforgeError extends Error {
  override readonly name = 'TraceforgeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The file the problem is in, when there is one. */
    readonly file?: string,
    /** Byte offset in the (decompressed) input, when known. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

export function isTraceforgeError(e: unknown): e is TraceforgeError {
  return e instanceof TraceforgeError;
}

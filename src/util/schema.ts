/**
 * Checking JSON and options against a valibot schema with the project's messages: the first
 * issue as one line, `SOURCE: "a.b" must be ..., got X`. The one bridge between valibot's
 * issues and `UserError`. Pure: the web app uses it too.
 *
 * Schemas give their own wording with valibot's message arguments, as the rest of the
 * project words its checks: `v.number('must be a number')`.
 */
import * as v from 'valibot';
import { RefusedValueError } from '../errors.js';

/**
 * One valibot issue as `"path" message, got X` (no path: the message alone); a required key
 * that is absent as `"path" is missing` (valibot reports it with the parent object's message).
 */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
  const where = v.getDotPath(issue);
  // An unknown key of a strict object also has origin 'key', with the key as its input.
  const absent = issue.path?.at(-1)?.origin === 'key' && issue.input === undefined;
  if (where && absent) return `"${where}" is missing`;
  const input = issue.input === undefined ? 'nothing' : JSON.stringify(issue.input);
  const what = where ? `"${where}" ${issue.message}` : issue.message;
  return `${what}, got ${input}`;
}

/**
 * Parses `value` with `schema`; throws a `RefusedValueError` `SOURCE: <first issue>` when it does
 * not fit. Returns valibot's output (defaults filled in, transforms applied).
 */
export function parseWith<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  source: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  throw new RefusedValueError(source, describeIssue(result.issues[0]));
}

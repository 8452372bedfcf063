#!/usr/bin/env node
/** Entry point of the `ftunet` command; see `program.ts` and, for Ctrl-C, `interrupt.ts`. */
import { interrupts } from './interrupt.js';
import { main } from './program.js';

interrupts.install();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);

// What a terminal gets and a pipe does not: colour (unless NO_COLOR is set, https://no-color.org) and a progress line
// that rewrites itself. Piped output stays plain text that scripts and tickets can take as it is.
import type { WriteStream } from 'node:tty';

type Stream = NodeJS.WriteStream | WriteStream;

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export interface Style {
  (colour: Colour, text: string): string;
  readonly enabled: boolean;
}

/** Colours for a stream: on for a terminal, off for a pipe or a file, and off whenever NO_COLOR is set and not empty. */
export function styleFor(stream: Stream, env: NodeJS.ProcessEnv): Style {
  const enabled = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  const style = (colour: Colour, text: string) => (enabled ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text);
  return Object.assign(style, { enabled });
}

/** The colour of a disposition: green for a packet that arrives or leaves as it should, red for a drop. */
export const dispositionColour = (disposition: string): Colour =>
  disposition === 'DELIVERED' ? 'green' : disposition === 'EXITS_NETWORK' ? 'cyan' : 'red';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  /** What is being done now ("running kubectl", "uploading 12.0 of 45.1 MB"). */
  step(text: string): void;
  /** A line that stays (on a terminal above the progress line, which goes on below it; in a pipe the line alone). */
  say(line: string): void;
  /** Ends the progress line (once; later calls do nothing): the line is erased, so that what follows starts clean. */
  done(): void;
}

/**
 * A spinner with the current step and its elapsed time, on stderr, only when stderr is a terminal: a pipe or a log
 * file gets nothing (the final answer is printed either way).
 */
export function progressOn(stream: Stream): Progress {
  if (stream.isTTY !== true) return { step() {}, say: (line) => stream.write(`${line}\n`), done() {} };
  let text = '';
  let frame = 0;
  let since = Date.now();
  const draw = () => {
    const seconds = ((Date.now() - since) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${text} (${seconds} s)`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  let ended = false;
  return {
    step(next) {
      if (next.replace(/[\d.]+/g, '') !== text.replace(/[\d.]+/g, '')) since = Date.now();
      text = next;
      draw();
    },
    say(line) {
      stream.write(`\r\x1b[2K${line}\n`);
      if (!ended) draw();
    },
    done() {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

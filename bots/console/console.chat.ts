import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Flows, Input, Reply, Sender } from '../flows/flow.types.js';
import { renderReplies, type NumberedButtons } from './console.render.js';

/**
 * The terminal chat: the same flows as Telegram and VK, typed in a terminal. A number presses
 * the button shown with it; `/contact +7…` shares a phone; `/start [payload]` starts over.
 * Notifications (balance changes from the till) are printed as they arrive via `deliver`.
 */
export function createConsoleChat(deps: {
  flows: Flows;
  input: Readable;
  output: Writable;
  userId: string;
  languageCode?: string | undefined;
  colour?: boolean;
  saveImage?: (r: Reply) => string | undefined;
}) {
  const sender: Sender = { channel: 'console', userId: deps.userId, languageCode: deps.languageCode, firstName: deps.userId };
  const colour = deps.colour ?? false;
  let buttons: NumberedButtons | undefined;
  let queue: Promise<void> = Promise.resolve();
  const print = (replies: Reply[], prefix = ''): void => {
    const r = renderReplies(replies, { colour, ...(deps.saveImage ? { savedImage: deps.saveImage } : {}) });
    if (r.buttons) buttons = r.buttons;
    deps.output.write(`${prefix}${r.lines.join('\n')}\n> `);
  };

  function parse(line: string): Input | undefined {
    const text = line.trim();
    if (!text) return undefined;
    const contact = /^\/contact\s+(.+)$/.exec(text);
    if (contact?.[1]) return { kind: 'contact', phone: contact[1].trim(), own: true };
    const start = /^\/start(?:\s+(\S+))?$/.exec(text);
    if (start) return { kind: 'start', payload: start[1] };
    const n = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
    const button = Number.isInteger(n) ? buttons?.[n - 1] : undefined;
    if (button?.url) return undefined;
    if (button) return { kind: 'action', action: button.action, arg: button.arg };
    return { kind: 'text', text };
  }

  let rl: ReturnType<typeof createInterface> | undefined;
  let onClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const onLine = (line: string): void => {
    const input = parse(line);
    if (!input) {
      deps.output.write('> ');
      return;
    }
    // One update at a time, in order, like a chat.
    queue = queue.then(async () => {
      print(await deps.flows.handle(sender, input));
    });
  };

  return {
    sender,
    /**
     * Starts reading the terminal, after the product is up. It shows `hint` instead of sending
     * /start itself: an automatic /start would restart a join left half-finished last time.
     */
    start(hint: string): void {
      deps.output.write(`${hint}\n> `);
      rl = createInterface({ input: deps.input, terminal: false });
      rl.on('line', onLine);
      rl.once('close', onClosed);
    },
    /** A notification for this user (the console channel's sender). */
    deliver(replies: Reply[]): void {
      print(replies, '\n');
    },
    /** Resolves when the input ends (Ctrl-D, or stdin closed) and queued replies are printed. */
    async finished(): Promise<void> {
      await closed;
      await queue;
    },
    close(): void {
      rl?.close();
      onClosed();
    },
  };
}

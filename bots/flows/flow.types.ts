import type { Language } from '../../core/i18n/i18n.js';
import type { ChatChannel } from '../../core/members/identity.js';

/**
 * The contract between channel-agnostic conversation flows and channel adapters
 * (Telegram, VK, the terminal chat). An adapter turns an update into an `Input`, calls
 * `Flows.handle`, and renders the `Reply`s; it holds no rule and no dialogue state.
 */
export type { ChatChannel };

export interface Sender {
  channel: ChatChannel;
  /** The platform's user id, as a string (`identity` = `${channel}:${userId}`). */
  userId: string;
  /** Platform language hint (Telegram `language_code`, VK user language), first contact only. */
  languageCode?: string | undefined;
  firstName?: string | undefined;
}

export type Input =
  /** `/start` or a first message; `payload` is a deep-link payload: `ref_<code>`, `contest_<id>`. */
  | { kind: 'start'; payload?: string | undefined }
  | { kind: 'text'; text: string }
  /** A shared contact (Telegram's request_contact button). `own` is false when its user id is not the sender's. */
  | { kind: 'contact'; phone: string; own: boolean }
  /** A button press: menu buttons and inline buttons both arrive as actions. */
  | { kind: 'action'; action: string; arg?: string | undefined };

export interface Button {
  /** Already localized. */
  label: string;
  action: string;
  arg?: string | undefined;
  /** A link button (opens a URL) instead of an action. */
  url?: string | undefined;
}

export type Keyboard =
  /** Persistent main menu (Telegram reply keyboard, VK keyboard, numbered in the terminal). */
  | { kind: 'menu'; rows: Button[][] }
  /** Buttons attached to this message (Telegram inline keyboard, VK inline keyboard). */
  | { kind: 'inline'; rows: Button[][] }
  /** Ask for the phone: Telegram's request_contact button; channels without one ask to type it. */
  | { kind: 'contact'; label: string; rows?: Button[][] }
  | { kind: 'remove' };

export interface Reply {
  /**
   * Localized text in a small HTML subset: <b>, <i>, <code>, <a href>. Everything taken from
   * users is escaped by the flows. Channels without HTML strip the tags and unescape.
   */
  text: string;
  keyboard?: Keyboard | undefined;
  /** A picture to send with the text as caption (the card's QR code). */
  image?: { png: Buffer; filename: string } | undefined;
  /** A file to send after the text (a wallet pass, later). */
  document?: { data: Buffer; filename: string; contentType: string } | undefined;
}

export interface Flows {
  /** One update in, the replies out, in the sender's language. Never throws for user errors. */
  handle(sender: Sender, input: Input): Promise<Reply[]>;
  /** The language a channel should use for this sender (e.g. for command menus). */
  languageOf(sender: Sender): Promise<Language>;
  /**
   * The platform says whether the bot may write to this person (Telegram's my_chat_member,
   * VK's message_allow / message_deny): broadcasts skip chats that may not be written to.
   */
  reachability?(sender: Sender, reachable: boolean): Promise<void>;
}

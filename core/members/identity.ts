/**
 * A channel identity is `<channel>:<user id on that channel>` (`telegram:123`, `vk:456`). The
 * chat channels are the ones a bot can write to: notifications and phone-proof codes go there.
 */
export const CHAT_CHANNELS = ['telegram', 'vk', 'console'] as const;
export type ChatChannel = (typeof CHAT_CHANNELS)[number];

export interface ChatAddress {
  channel: ChatChannel;
  userId: string;
}

export function isChatChannel(value: string): value is ChatChannel {
  return (CHAT_CHANNELS as readonly string[]).includes(value);
}

/** `telegram:123` → { channel: 'telegram', userId: '123' }; null for anything that is not a chat identity. */
export function chatAddressOf(identity: string): ChatAddress | null {
  const colon = identity.indexOf(':');
  const channel = identity.slice(0, colon);
  const userId = identity.slice(colon + 1);
  return colon > 0 && userId !== '' && isChatChannel(channel) ? { channel, userId } : null;
}

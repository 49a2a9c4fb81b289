import { escapeHtml } from '../shared/html.js';
import type { BroadcastButton, RenderedMessage } from './broadcast.types.js';

/** The longest text a pass's offer field carries (core/wallet/wallet-offers.ts). */
export const WALLET_OFFER_MAX = 500;

/**
 * The marketer's plain text as each channel shows it: escaped for Telegram's HTML, as is for
 * VK, cut to the pass's limit for Wallet. Bot messages carry the optional link button and the
 * one-tap unsubscribe button (its label in the member's language).
 */
export function renderBroadcast(text: string, button: BroadcastButton | null, unsubscribeLabel: string): RenderedMessage {
  const buttons = [...(button ? [button.text] : []), unsubscribeLabel];
  return {
    telegram: { html: escapeHtml(text), buttons },
    vk: { text, buttons },
    wallet: { offer: walletOffer(text) },
  };
}

export function walletOffer(text: string): string {
  const t = text.trim();
  return t.length <= WALLET_OFFER_MAX ? t : `${t.slice(0, WALLET_OFFER_MAX - 1)}…`;
}

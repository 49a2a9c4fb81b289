import QRCode from 'qrcode';
import { memberCard, type FlowContext } from './flow.context.js';
import type { Button, Keyboard, Reply } from './flow.types.js';
import { mainMenu } from './menu.js';

/** The wallet as the card flow uses it: a distribution link, and the pass file itself. */
export interface CardWallet {
  linkFor(cardNumber: string): string;
  passFile(cardNumber: string): Promise<{ bytes: Buffer; filename: string }>;
}

const PKPASS = 'application/vnd.apple.pkpass';

/**
 * My card: the number plus a QR code of it for the till scanner, and with a wallet the
 * "Add to Apple Wallet" link. Telegram also gets the .pkpass file itself (it opens on an
 * iPhone straight from the chat); the terminal shows the link.
 */
export async function cardReplies(ctx: FlowContext, wallet?: CardWallet): Promise<Reply[]> {
  const card = await memberCard(ctx);
  const png = await QRCode.toBuffer(card._id, { type: 'png', margin: 1, width: 360 });
  const link = wallet?.linkFor(card._id);
  // Telegram refuses URL buttons to hosts without a dot (a laptop's 127.0.0.1 works, localhost does not): the link is in the text too.
  const button: Button | null = link && /^https?:\/\/[^/]*\./.test(link) ? { label: ctx.t('wallet:addToWallet'), action: 'wallet', url: link } : null;
  const keyboard: Keyboard = button ? { kind: 'inline', rows: [[button]] } : mainMenu(ctx);
  const replies: Reply[] = [
    {
      text: ctx.t('bot:card.caption', { card: card._id }) + (link ? `\n\n<a href="${link}">${ctx.t('wallet:addToWallet')}</a>` : ''),
      image: { png, filename: `card-${card._id}.png` },
      keyboard,
    },
  ];
  if (wallet && ctx.sender.channel === 'telegram') {
    const file = await wallet.passFile(card._id);
    replies.push({ text: ctx.t('wallet:fileCaption'), document: { data: file.bytes, filename: file.filename, contentType: PKPASS } });
  }
  return replies;
}

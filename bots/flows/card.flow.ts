import QRCode from 'qrcode';
import { memberCard, type FlowContext } from './flow.context.js';
import type { Button, Keyboard, Reply } from './flow.types.js';
import { mainMenu } from './menu.js';

/**
 * Where the wallet issue plugs in the "Add to Wallet" link button for a card. Until a wallet
 * link exists the card goes out without one (and no placeholder text is shown).
 */
export type WalletLink = (cardNumber: string) => Promise<Button | null>;

/** My card: the number plus a QR code of it for the till scanner. */
export async function cardReplies(ctx: FlowContext, walletLink?: WalletLink): Promise<Reply[]> {
  const card = await memberCard(ctx);
  const png = await QRCode.toBuffer(card._id, { type: 'png', margin: 1, width: 360 });
  const wallet = walletLink ? await walletLink(card._id) : null;
  const keyboard: Keyboard = wallet ? { kind: 'inline', rows: [[wallet]] } : mainMenu(ctx);
  return [
    {
      text: ctx.t('bot:card.caption', { card: card._id }),
      image: { png, filename: `card-${card._id}.png` },
      keyboard,
    },
  ];
}

import { renderBroadcast } from '../../core/broadcasts/broadcast.render.js';
import type { I18n } from '../../core/i18n/i18n.js';
import type { BroadcastMessage } from '../../infra/broadcast-delivery.js';
import type { Button, Reply } from './flow.types.js';
import { ACTION } from './menu.js';

/**
 * A broadcast as a bot message: the marketer's text escaped (it is plain text, never markup),
 * the link button if any, and the one-tap unsubscribe button in the member's language.
 */
export function broadcastReply(i18n: I18n, m: BroadcastMessage): Reply {
  const rendered = renderBroadcast(m.text, m.button, i18n.t(m.lang, 'bot:broadcast.unsubscribe'));
  const rows: Button[][] = [];
  if (m.button) rows.push([{ label: m.button.text, action: 'link', url: m.button.url }]);
  rows.push([{ label: i18n.t(m.lang, 'bot:broadcast.unsubscribe'), action: ACTION.unsubscribe, arg: m.broadcastId }]);
  return { text: rendered.telegram.html, keyboard: { kind: 'inline', rows } };
}

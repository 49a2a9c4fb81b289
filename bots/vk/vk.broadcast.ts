import { APIError, type VK } from 'vk-io';
import type { I18n } from '../../core/i18n/i18n.js';
import type { BroadcastMessage, BroadcastSendResult } from '../../infra/broadcast-delivery.js';
import { broadcastReply } from '../flows/broadcast.render.js';
import { htmlToVkText, keyboardJson } from './vk.render.js';

/** VK's answers for a person who does not let the community write: 901 (no permission), 902 (privacy settings). */
const UNREACHABLE = new Set([901, 902]);
/** Whole-call errors worth a pause and another try: too many requests (6), flood control (9), internal (10). */
const RETRY_MS: Record<number, number> = { 6: 1000, 9: 5000, 10: 3000 };

type VkBatchResult = Map<string, BroadcastSendResult> | Extract<BroadcastSendResult, { status: 'retry' }>;

interface PeerAnswer {
  peer_id?: number;
  message_id?: number;
  error?: { code?: number; description?: string };
}

/**
 * Broadcast messages to up to 100 VK people in one messages.send (peer_ids), with one random_id
 * per broadcast: VK drops a repeat for a person who already got it, so a batch sent again after a
 * crash or a retry reaches nobody twice. VK answers per person; 901/902 make the person
 * unreachable in VK.
 */
export function vkBroadcastSender(vk: VK, i18n: I18n): (peerIds: string[], m: BroadcastMessage, randomId: number) => Promise<VkBatchResult> {
  return async (peerIds, m, randomId) => {
    const reply = broadcastReply(i18n, m);
    let answers: PeerAnswer[];
    try {
      answers = await vk.api.messages.send({
        peer_ids: peerIds.map(Number),
        random_id: randomId,
        message: htmlToVkText(reply.text),
        ...(reply.keyboard ? { keyboard: keyboardJson(reply.keyboard) } : {}),
        dont_parse_links: 1,
      });
    } catch (err) {
      const code = err instanceof APIError ? Number(err.code) : null;
      const wait = code !== null ? RETRY_MS[code] : undefined;
      if (wait !== undefined) return { status: 'retry', afterMs: wait, global: true, reason: `vk error ${String(code)}` };
      const reason = err instanceof APIError ? `vk error ${err.code}: ${err.message}` : `network: ${(err as Error).message}`;
      // A failed connection may still have delivered: counted failed, and a repeat would be dropped by random_id anyway.
      return new Map(peerIds.map((p) => [p, { status: 'failed', reason: reason.slice(0, 200) }]));
    }
    const out = new Map<string, BroadcastSendResult>();
    for (const a of Array.isArray(answers) ? answers : []) {
      if (a.peer_id === undefined) continue;
      const peer = String(a.peer_id);
      if (!a.error) out.set(peer, { status: 'sent' });
      else if (UNREACHABLE.has(a.error.code ?? 0)) out.set(peer, { status: 'blocked', reason: `vk ${String(a.error.code)}: ${a.error.description ?? ''}`.trim() });
      else out.set(peer, { status: 'failed', reason: `vk ${String(a.error.code)}: ${a.error.description ?? ''}`.trim() });
    }
    return out;
  };
}

import { consentOutdated } from '../../core/members/consent.js';
import { escapeHtml } from '../../core/shared/html.js';
import { makeContext, requireMember, type FlowContext } from './flow.context.js';
import type { Input, Reply } from './flow.types.js';
import { ACTION, mainMenu } from './menu.js';
import { eraseAskReplies, eraseConfirmReplies } from './settings.flow.js';

/**
 * A new consent text (settings.consentTextVersion changed): a member whose consent is for
 * another version is asked again on their next visit, before anything else. Agreeing records
 * the version shown (core.members.recordConsent); the other button is "Delete my data".
 */
export async function consentRenewal(ctx: FlowContext, input: Input): Promise<Reply[] | null> {
  const member = ctx.member;
  if (!member) return null;
  const { consentTextVersion } = await ctx.deps.core.settings.current();
  if (!consentOutdated(member, consentTextVersion)) return null;
  // Deleting one's data stays possible without agreeing first.
  if (input.kind === 'action' && input.action === ACTION.erase) return eraseAskReplies(ctx);
  if (input.kind === 'action' && input.action === ACTION.eraseConfirm) {
    return input.arg === 'yes' ? eraseConfirmReplies(ctx, 'yes') : [renewPrompt(ctx, consentTextVersion)];
  }
  const shown = ctx.data.consentVersion;
  if (input.kind === 'action' && input.action === ACTION.consent && input.arg === 'yes' && shown === consentTextVersion) {
    const updated = await ctx.deps.core.members.recordConsent(String(requireMember(ctx)._id), { version: shown, channel: ctx.sender.channel });
    const m = makeContext(ctx.deps, ctx.sender, { member: updated, lang: ctx.lang, step: 'menu', data: {} });
    await m.save('menu', {});
    return [{ text: m.t('bot:consent_renew.thanks'), keyboard: mainMenu(m) }];
  }
  await ctx.save('menu', { ...ctx.data, consentVersion: consentTextVersion });
  return [renewPrompt(ctx, consentTextVersion)];
}

function renewPrompt(ctx: FlowContext, version: string): Reply {
  const url = ctx.deps.policyUrl;
  const lines = [ctx.t('bot:consent_renew.prompt', { name: escapeHtml(ctx.member?.name ?? '') })];
  if (url) lines.push(ctx.t('bot:join.consent_policy', { url: escapeHtml(url) }));
  lines.push(ctx.t('bot:join.consent_version', { version: escapeHtml(version) }));
  const rows = [
    [
      { label: ctx.t('bot:join.consent_agree'), action: ACTION.consent, arg: 'yes' },
      { label: ctx.t('bot:settings.erase'), action: ACTION.erase },
    ],
    ...(url ? [[{ label: ctx.t('bot:join.consent_policy_button'), action: 'policy', url }]] : []),
  ];
  return { text: lines.join('\n\n'), keyboard: { kind: 'inline', rows } };
}

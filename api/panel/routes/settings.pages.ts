import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ProgrammeSettings } from '../../../core/programme/settings.schema.js';
import { DomainError } from '../../../core/shared/errors.js';
import { formText, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

type Form = Record<string, string | undefined>;

/** A schema path (levels.1.minSpendKopecks) as the form's field name (level_1_minSpend). */
function fieldOf(path: string): string {
  const m = /^(levels|manualLevels)\.(\d+)\.(\w+)(?:\.(\w+))?/.exec(path);
  if (m) {
    const prefix = m[1] === 'levels' ? 'level' : 'manual';
    const leaf = m[3] === 'minSpendKopecks' ? 'minSpend' : m[3] === 'percentBp' ? 'percent' : m[3] === 'name' ? `name_${m[4] ?? 'ru'}` : (m[3] ?? '');
    return `${prefix}_${m[2] ?? '0'}_${leaf}`;
  }
  return path.replace(/\./g, '_').replace(/^redeemCapBp$/, 'redeemCap');
}

/** Integers as typed (spaces allowed); a percent with up to two decimals as basis points; rubles with kopecks as kopecks. */
const int = (v: string) => (/^\d{1,12}$/.test(v.replace(/\s/g, '')) ? Number(v.replace(/\s/g, '')) : NaN);
const bp = (v: string) => (/^\d{1,5}([.,]\d{1,2})?$/.test(v) ? Math.round(Number(v.replace(',', '.')) * 100) : NaN);
const kop = (v: string) => (/^\d{1,12}([.,]\d{1,2})?$/.test(v.replace(/\s/g, '')) ? Math.round(Number(v.replace(/\s/g, '').replace(',', '.')) * 100) : NaN);

/** Programme settings: levels, percentages, bonuses, expiry, consent text version. Owners edit; marketers read. */
export function settingsPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;

  function valuesOf(s: ProgrammeSettings): Form {
    const v: Form = {
      welcomeBonus: String(s.welcomeBonus),
      expiryMonths: String(s.expiryMonths),
      redeemCap: String(s.redeemCapBp / 100),
      pointValue: String(s.pointValueKopecks / 100),
      referral_bonus: String(s.referral.bonus),
      referral_monthlyCap: String(s.referral.monthlyCap),
      consentTextVersion: s.consentTextVersion,
      rulesUrl: s.rulesUrl ?? '',
    };
    s.levels.forEach((l, i) => Object.assign(v, { [`level_${i}_id`]: l.id, [`level_${i}_name_ru`]: l.name.ru, [`level_${i}_name_en`]: l.name.en, [`level_${i}_percent`]: String(l.percentBp / 100), [`level_${i}_minSpend`]: String(l.minSpendKopecks / 100) }));
    s.manualLevels.forEach((l, i) => Object.assign(v, { [`manual_${i}_id`]: l.id, [`manual_${i}_name_ru`]: l.name.ru, [`manual_${i}_name_en`]: l.name.en, [`manual_${i}_percent`]: String(l.percentBp / 100) }));
    return v;
  }

  async function page(req: FastifyRequest, reply: FastifyReply, extra: { values?: Form; errors?: FieldErrors; problems?: string[]; notice?: string | null } = {}, status = 200) {
    const s = await core.settings.current();
    const levelRows = Math.max(s.levels.length, Number((extra.values ?? {}).levelRows ?? 0));
    return render(req, reply, 'settings', { title: 'panel:nav.settings', settings: s, values: extra.values ?? valuesOf(s), levelRows, manualRows: s.manualLevels.length, ...extra }, status);
  }

  return async (app) => {
    app.get<{ Querystring: { notice?: string } }>('/settings', { preHandler: ctx.guard('settings.view') }, async (req, reply) => page(req, reply, { notice: req.query.notice ? 'saved' : null }));

    app.post<{ Body: Form }>('/settings', { preHandler: ctx.guard('settings.edit') }, async (req, reply) => {
      const b = req.body;
      const values: Form = Object.fromEntries(Object.entries(b).map(([k, v]) => [k, formText(v)]));
      const errors: FieldErrors = {};
      const num = (field: string, parse: (v: string) => number): number => {
        const n = parse(values[field] ?? '');
        if (Number.isNaN(n)) errors[field] = 'number';
        return n;
      };
      const levels = [];
      for (let i = 0; values[`level_${i}_id`] !== undefined; i += 1) {
        const id = values[`level_${i}_id`] ?? '';
        // A blank new row is ignored; a row marked for removal is left out.
        if (!id && !values[`level_${i}_name_ru`]) continue;
        if (values[`level_${i}_remove`] === 'on') continue;
        levels.push({ id, name: { ru: values[`level_${i}_name_ru`] ?? '', en: values[`level_${i}_name_en`] ?? '' }, percentBp: num(`level_${i}_percent`, bp), minSpendKopecks: num(`level_${i}_minSpend`, kop) });
      }
      const manualLevels = [];
      for (let i = 0; values[`manual_${i}_id`] !== undefined; i += 1) {
        manualLevels.push({ id: values[`manual_${i}_id`] ?? '', name: { ru: values[`manual_${i}_name_ru`] ?? '', en: values[`manual_${i}_name_en`] ?? '' }, percentBp: num(`manual_${i}_percent`, bp) });
      }
      const patch = {
        welcomeBonus: num('welcomeBonus', int),
        expiryMonths: num('expiryMonths', int),
        redeemCapBp: num('redeemCap', bp),
        pointValueKopecks: num('pointValue', kop),
        referral: { bonus: num('referral_bonus', int), monthlyCap: num('referral_monthlyCap', int) },
        consentTextVersion: values.consentTextVersion ?? '',
        rulesUrl: values.rulesUrl ? values.rulesUrl : null,
        levels,
        manualLevels,
      };
      if (Object.keys(errors).length > 0) return page(req, reply, { values, errors }, 400);
      const version = Number(values.version);
      try {
        const before = await core.settings.current();
        const after = await core.settings.update(patch, Number.isSafeInteger(version) && version > 0 ? version : undefined);
        await ctx.audit(req, { action: 'settings.update', target: `v${after.version}`, before: { version: before.version }, after: { version: after.version, ...patch } });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        const problems = Array.isArray(err.details.problems) ? (err.details.problems as { path: string; message: string }[]) : [];
        for (const p of problems) errors[fieldOf(p.path)] = 'invalid';
        return page(req, reply, { values, errors: { ...errors, ...(problems.length === 0 ? { form: err.code } : {}) }, problems: problems.map((p) => `${p.path}: ${p.message}`) }, err.code === 'concurrent_update' ? 409 : 422);
      }
      return reply.redirect('/admin/settings?notice=saved', 303);
    });
  };
}

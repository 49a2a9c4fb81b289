import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../core/shared/errors.js';
import { sameSecret } from '../../../core/shared/secrets.js';
import { DEFAULT_TEMPLATE } from '../../../core/wallet/wallet-models.js';
import type { TemplateDesign } from '../../../core/wallet/wallet.types.js';
import { CSRF_FIELD } from '../panel.cookies.js';
import { fieldError, panelOf, type FieldErrors } from '../panel.context.js';
import type { PanelContext } from '../panel.types.js';

const LOGO_MAX = 64 * 1024;
/** The labels the form edits (the rest keep their model or default texts). */
const EDITED_LABELS = ['logo_text', 'balance_label', 'level_label', 'card_label', 'member_label'] as const;

const hexToRgb = (hex: string): string | null => {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? `rgb(${parseInt(m[1] ?? '0', 16)}, ${parseInt(m[2] ?? '0', 16)}, ${parseInt(m[3] ?? '0', 16)})` : null;
};
const rgbToHex = (rgb: string | undefined, fallback: string): string => {
  const m = /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/.exec(rgb ?? '');
  return m ? `#${[m[1], m[2], m[3]].map((n) => Number(n).toString(16).padStart(2, '0')).join('')}` : fallback;
};

/** "55.75, 37.61, Near the shop" per line → Wallet locations; null when a line does not parse. */
function parseLocations(text: string): TemplateDesign['locations'] | null {
  const out = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [lat, lon, ...rest] = line.split(',').map((p) => p.trim());
    const latitude = Number(lat);
    const longitude = Number(lon);
    if (!lat || !lon || !Number.isFinite(latitude) || !Number.isFinite(longitude)) return null;
    const relevantText = rest.join(', ');
    out.push({ latitude, longitude, ...(relevantText ? { relevantText } : {}) });
  }
  return out;
}

/** The Wallet card's design per template (default, or a level): colours, logo, strip image, labels, locations; publishing re-skins every pass. */
export function walletPages(ctx: PanelContext): FastifyPluginAsync {
  const { core, render } = ctx;

  async function page(req: FastifyRequest, reply: FastifyReply, templateId: string, extra: Record<string, unknown> = {}, status = 200) {
    const settings = await core.settings.current();
    const lang = req.panel?.lang ?? 'ru';
    const templates = [{ id: DEFAULT_TEMPLATE, name: ctx.i18n.t(lang, 'panel:wallet.default') }, ...[...settings.levels, ...settings.manualLevels].map((l) => ({ id: l.id, name: l.name[lang] }))];
    if (!ctx.wallet) return render(req, reply, 'wallet', { title: 'panel:nav.wallet', configured: false, templates, templateId }, status);
    const view = await ctx.wallet.templates.get(templateId);
    const d = view.design;
    const values = {
      backgroundColor: rgbToHex(d.backgroundColor, '#1b2a4a'),
      foregroundColor: rgbToHex(d.foregroundColor, '#ffffff'),
      labelColor: rgbToHex(d.labelColor, '#c9d6ff'),
      ...Object.fromEntries(EDITED_LABELS.flatMap((k) => [[`ru_${k}`, d.labels?.ru?.[k] ?? ''], [`en_${k}`, d.labels?.en?.[k] ?? '']])),
      locations: (d.locations ?? []).map((l) => [l.latitude, l.longitude, l.relevantText ?? ''].filter((x) => x !== '').join(', ')).join('\n'),
    };
    return render(req, reply, 'wallet', { title: 'panel:nav.wallet', configured: true, templates, templateId, view, values, labels: EDITED_LABELS, logo: d.logoPng ?? null, strip: d.strip ?? null, ...extra }, status);
  }

  return async (app) => {
    app.get<{ Querystring: { t?: string; notice?: string } }>('/wallet', { preHandler: ctx.guard('wallet.design') }, async (req, reply) => {
      const t = typeof req.query.t === 'string' && /^[a-z0-9_-]{1,32}$/.test(req.query.t) ? req.query.t : DEFAULT_TEMPLATE;
      return page(req, reply, t, { notice: req.query.notice ?? null });
    });

    app.post<{ Params: { id: string } }>('/wallet/:id', { preHandler: ctx.guard('wallet.design') }, async (req, reply) => {
      if (!ctx.wallet) throw new DomainError('not_found', 'Apple Wallet is not configured');
      const session = panelOf(req).session;
      const fields: Record<string, string> = {};
      const files: Record<string, Buffer> = {};
      const errors: FieldErrors = {};
      let csrfOk = false;
      // Two file inputs (logo, strip): a browser sends both, the empty one with no bytes.
      for await (const part of req.parts({ limits: { files: 2 } })) {
        if (part.type === 'field') {
          if (part.fieldname === CSRF_FIELD) csrfOk = typeof part.value === 'string' && session !== null && sameSecret(part.value, session.csrf);
          else if (typeof part.value === 'string') fields[part.fieldname] = part.value.trim();
          continue;
        }
        if (!csrfOk) throw new DomainError('csrf_failed', 'missing or wrong CSRF token');
        const buf = await part.toBuffer();
        if (buf.length > 0 && (part.fieldname === 'logo' || part.fieldname === 'strip')) files[part.fieldname] = buf;
      }
      if (!csrfOk) throw new DomainError('csrf_failed', 'missing or wrong CSRF token');
      const logo = files.logo ?? null;
      const colors: Record<string, string> = {};
      for (const k of ['backgroundColor', 'foregroundColor', 'labelColor'] as const) {
        const rgb = hexToRgb(fields[k] ?? '');
        if (rgb) colors[k] = rgb;
        else errors[k] = 'color';
      }
      if (logo && (logo.length > LOGO_MAX || logo.subarray(1, 4).toString('latin1') !== 'PNG')) errors.logo = 'logo';
      const locations = parseLocations(fields.locations ?? '');
      if (!locations) errors.locations = 'locations';
      const before = await ctx.wallet.templates.get(req.params.id);
      const labels = (lang: 'ru' | 'en'): Record<string, string> => {
        const out: Record<string, string> = {};
        for (const k of EDITED_LABELS) {
          const text = fields[`${lang}_${k}`];
          if (text) out[k] = text;
        }
        return out;
      };
      const design: TemplateDesign = {
        ...before.design,
        ...colors,
        labels: { ru: { ...before.design.labels?.ru, ...labels('ru') }, en: { ...before.design.labels?.en, ...labels('en') } },
        locations: locations ?? [],
        ...(logo ? { logoPng: logo.toString('base64') } : {}),
      };
      if (fields.stripRemove) delete design.strip;
      if (Object.keys(errors).length > 0) return page(req, reply, req.params.id, { errors, values: fields }, 400);
      // A new strip is resized and stored only once the rest of the form is right; a picture it cannot use is told next to its field.
      if (files.strip) {
        try {
          design.strip = await ctx.wallet.templates.storeStrip(files.strip);
        } catch (err) {
          return page(req, reply, req.params.id, { errors: fieldError(err, 'strip', (reason) => `panel:errors.${reason}`), values: fields }, 400);
        }
      }
      try {
        const r = await ctx.wallet.templates.put(req.params.id, design);
        await ctx.audit(req, { action: 'wallet.publish', target: req.params.id, before: { version: before.version }, after: { version: r.version, passes: r.passes, colors, strip: r.design.strip ?? null } });
        return await reply.redirect(`/admin/wallet?t=${encodeURIComponent(req.params.id)}&notice=${r.passes}`, 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return page(req, reply, req.params.id, { errors: { form: err.code }, values: fields, problems: err.message }, 422);
      }
    });

    // The preview's strip: an image never changes under its id, so the browser may keep it.
    app.get<{ Params: { strip: string } }>('/wallet/strips/:strip.png', { preHandler: ctx.guard('wallet.design') }, async (req, reply) => {
      const files = /^[a-f0-9]{64}$/.test(req.params.strip) && ctx.wallet ? await ctx.wallet.templates.stripFiles(req.params.strip) : null;
      if (!files) throw new DomainError('not_found', 'no such strip image');
      return reply.type('image/png').header('cache-control', 'private, max-age=31536000, immutable').send(files['strip@2x.png']);
    });
  };
}
